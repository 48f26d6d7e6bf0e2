/// The book's own stylesheet and script, written to `output/assets/` (no resources in the package).
enum Stylesheet {
    static let css = #"""
/* rnnbook pages: a readable measure, phone to print, light and dark. */
:root {
  --bg: #fdfcf8; --fg: #1f2328; --muted: #5d6470; --rule: #e4e0d6; --accent: #1f5fbf;
  --code-bg: #f4f2ec; --out-bg: #fafaf7; --pop-bg: #ffffff; --side-bg: #f6f4ee;
  --pass: #1a7f37; --pass-bg: #e3f4e6; --fail: #c62828; --fail-bg: #fdeaea; --warn: #9a6700;
  --grid: #e6e3db;
  --s0: #0072b2; --s1: #d55e00; --s2: #009e73; --s3: #cc79a7; --s4: #e69f00; --s5: #56b4e9; --s6: #7f7f7f; --s7: #000000;
  --tok-kw: #a626a4; --tok-str: #3d7e2f; --tok-com: #838891; --tok-num: #986801; --tok-type: #0b6fa4;
  --tok-attr: #b25c00; --tok-fn: #2f5dd1;
  --serif: Charter, "Bitstream Charter", "Sitka Text", Cambria, "Noto Serif", "DejaVu Serif",
           "Noto Serif CJK SC", "Source Han Serif SC", "Songti SC", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", serif;
  --sans: system-ui, -apple-system, "Segoe UI", "Noto Sans", "DejaVu Sans", "Helvetica Neue", Arial,
          "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif;
  --mono: ui-monospace, "SF Mono", "JetBrains Mono", "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas,
          "Noto Sans Mono CJK SC", "Noto Sans CJK SC", monospace;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15171c; --fg: #e4e6ea; --muted: #a0a7b3; --rule: #2d323b; --accent: #82b1ff;
    --code-bg: #1d2027; --out-bg: #191c22; --pop-bg: #242830; --side-bg: #1a1d23;
    --pass: #4ac26b; --pass-bg: #15301d; --fail: #ff6b6b; --fail-bg: #3a1a1c; --warn: #e3b341;
    --grid: #2a2f38;
    --s0: #56b4e9; --s1: #ff8c42; --s2: #3ed6a0; --s3: #e59ac8; --s4: #f0c24f; --s5: #9fd8ff; --s6: #b0b0b0; --s7: #e6e6e6;
    --tok-kw: #d38cf0; --tok-str: #98c379; --tok-com: #7f848e; --tok-num: #e5c07b; --tok-type: #61afef;
    --tok-attr: #f0a45d; --tok-fn: #8cb4ff;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 1.0625rem/1.65 var(--serif);
       font-kerning: normal; text-rendering: optimizeLegibility; }
a { color: var(--accent); text-decoration-thickness: 1px; text-underline-offset: 2px; }
/* The skip link is the page's first element, out of sight until a keyboard reaches it. */
.skip { position: absolute; left: -999px; top: 0; }
.skip:focus { left: 1rem; top: 1rem; background: var(--pop-bg); padding: .3rem .6rem; z-index: 20; font: .9rem var(--sans); }

/* Layout: contents on the left on wide screens; on a phone the search box and the folded
   contents come first, above the text (the markup has them in that order). */
.page { display: grid; grid-template-columns: minmax(13rem, 17rem) minmax(0, 1fr); grid-template-areas: "side main"; }
main { grid-area: main; width: 100%; max-width: 47rem; padding: 2.5rem 2.5rem 4rem; margin: 0 auto; min-width: 0; }
.index-page { grid-template-columns: 1fr; grid-template-areas: "main"; }
.index-page main { max-width: 52rem; }
.sidebar { grid-area: side; position: sticky; top: 0; align-self: start; max-height: 100vh; overflow-y: auto;
           padding: 2rem 1.2rem 2rem 1.5rem; background: var(--side-bg); border-right: 1px solid var(--rule);
           font: .86rem/1.45 var(--sans); min-height: 100vh; }
.sidebar-title { font-weight: 650; margin: 0 0 1rem; }
.sidebar-title a { color: var(--fg); text-decoration: none; }
.contents-fold > summary { cursor: pointer; font-weight: 600; padding: .25rem .5rem; border-radius: 5px; }
.contents-fold[open] > summary { margin-bottom: .3rem; }
.sidebar ol { list-style: none; padding: 0; margin: 0; counter-reset: ch; }
.sidebar ol > li { counter-increment: ch; margin: .15rem 0; }
.sidebar ol > li > a { display: block; padding: .25rem .5rem; border-radius: 5px; color: var(--fg); text-decoration: none; }
.sidebar ol > li > a::before { content: counter(ch) ". "; color: var(--muted); }
.sidebar ol > li.failed > a::after { content: " ✗"; color: var(--fail); }
.sidebar ol > li.current > a { background: color-mix(in srgb, var(--accent) 14%, transparent); font-weight: 600; }
.sidebar a:hover { background: color-mix(in srgb, var(--accent) 8%, transparent); }
.sidebar .sections { list-style: none; margin: .2rem 0 .4rem .9rem; padding: 0 0 0 .6rem; border-left: 1px solid var(--rule); }
.sidebar .sections a { display: block; padding: .12rem .4rem; color: var(--muted); text-decoration: none; border-radius: 4px; }
.sidebar .sections .h3 a { padding-left: 1.1rem; font-size: .82rem; }
@media not all and \#(Layout.narrowQuery) {
  /* Beside the text the contents show whole: opened by book.js, or at once where the browser
     lets a closed <details> show its content; the fold's line then has nothing to do. */
  .contents-fold[open] > summary { display: none; }
  @supports selector(::details-content) {
    .contents-fold > summary { display: none; }
    .contents-fold::details-content { content-visibility: visible; }
  }
}
@media \#(Layout.narrowQuery) {
  .page { grid-template-columns: 1fr; grid-template-areas: "side" "main"; }
  main { padding: 1.2rem 1.05rem 2rem; }
  .sidebar { position: static; max-height: none; min-height: 0; border-right: 0; border-bottom: 1px solid var(--rule);
             padding: .7rem 1.05rem .5rem; }
  .sidebar .search { margin-bottom: .4rem; }
  .sidebar-title { display: none; }  /* the chapter's header names the book */
  .contents-fold > summary { padding: .3rem 0; }
  .contents-fold[open] { padding-bottom: .5rem; }
  body { font-size: 1rem; }
}

/* Build plumbing (cache pills, Markdown locations and times of blocks, checkpoint notes, the
   engine and CPU): hidden until "Build details" is on. Without the script the switch is not
   shown and the footer's closed <details> holds the details; with it, the switch shows or
   hides them whole. Failures never carry the class. */
html:not(.show-build) .plumbing { display: none !important; }
.js .build-details > summary { display: none; }
.js:not(.show-build) .build-details { display: none; }
.build-details > summary { cursor: pointer; font-weight: 600; margin: .4rem 0; }
.build-toggle { display: none; }
.js .build-toggle { display: inline-flex; float: right; align-items: center; gap: .35rem; margin: 0 0 .3rem 1rem;
                    font: .8rem var(--sans); color: var(--muted); cursor: pointer; user-select: none; }
.build-toggle input { margin: 0; accent-color: var(--accent); }

/* Headings and prose */
h1, h2, h3, h4 { font-family: var(--sans); line-height: 1.25; letter-spacing: -0.01em; }
h1 { font-size: 2.05rem; margin: .2rem 0 .5rem; font-weight: 700; }
h2 { font-size: 1.45rem; margin: 2.6rem 0 .8rem; padding-bottom: .25rem; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.15rem; margin: 2rem 0 .6rem; }
h2 .anchor, h3 .anchor, h4 .anchor { margin-left: .4rem; color: var(--muted); text-decoration: none; opacity: 0; font-weight: 400; }
h2:hover .anchor, h3:hover .anchor, h4:hover .anchor { opacity: .7; }
p { margin: 0 0 1.05rem; hyphens: auto; }
li { margin: .25rem 0; }
blockquote { margin: 1.2rem 0; padding: .2rem 1rem; border-left: 3px solid var(--rule); color: var(--muted); }
hr { border: 0; border-top: 1px solid var(--rule); margin: 2rem 0; }
:not(pre) > code { font-family: var(--mono); font-size: .86em; background: var(--code-bg); padding: .08em .3em; border-radius: 4px; }
img { max-width: 100%; height: auto; }
.book-title { margin: 0; font: 600 .82rem var(--sans); text-transform: uppercase; letter-spacing: .06em; }
.book-title a { color: var(--muted); text-decoration: none; }
.chapter-head { margin-bottom: 1.8rem; }
.status-line { font: .86rem var(--sans); color: var(--muted); margin: 0; }
.status { display: inline-block; font: 600 .74rem/1.5 var(--sans); padding: 0 .55em; border-radius: 999px; text-transform: uppercase; letter-spacing: .04em; }
.status.passed { color: var(--pass); background: var(--pass-bg); }
.status.failed { color: var(--fail); background: var(--fail-bg); }
.status.cached, .status.notrun { color: var(--muted); background: color-mix(in srgb, var(--muted) 15%, transparent); }

/* Maths */
/* Before KaTeX runs (or with JS off) the TeX source must wrap like text. */
.math.inline { overflow-wrap: anywhere; }
.math.display:not(:has(.katex)) { white-space: pre-wrap; text-align: left !important; }
.math.display { font-family: var(--mono); font-size: .9rem; }
.katex { font-size: 1.08em; }
.math.display .katex { font-size: 1.12rem; }
.equation { display: flex; align-items: center; gap: .75rem; margin: 1.3rem 0; scroll-margin-top: 2rem; }
.equation .math.display { flex: 1 1 auto; min-width: 0; overflow-x: auto; overflow-y: hidden; text-align: center; padding: .2rem 0; }
.equation .math.display:target, .equation:has(:target) { background: color-mix(in srgb, var(--accent) 9%, transparent); border-radius: 6px; }
.eq-side { display: flex; flex-direction: column; align-items: flex-end; gap: .35rem; min-width: 2.8rem; }
.eqno { font-family: var(--serif); color: var(--fg); }
a.eqref { text-decoration: none; white-space: nowrap; }
.unresolved { color: var(--fail); border-bottom: 1px dotted var(--fail); }

/* Verdict badges with their numbers on hover, focus or tap */
.badge { position: relative; display: inline-flex; align-items: center; gap: .25em; vertical-align: .08em;
         font: 700 .72rem/1.35 var(--sans); padding: .05em .5em; border-radius: 999px; cursor: help; white-space: nowrap; margin-left: .25em; }
.badge.pass { color: var(--pass); background: var(--pass-bg); }
.badge.fail { color: var(--fail); background: var(--fail-bg); outline: 1px solid color-mix(in srgb, var(--fail) 45%, transparent); }
.badge.unchecked { color: var(--muted); background: color-mix(in srgb, var(--muted) 14%, transparent); }
.badge-label { font-weight: 600; }
.badge-detail { display: none; position: absolute; z-index: 30; left: 0; top: calc(100% + .35rem); width: max-content; max-width: min(24rem, 80vw);
                background: var(--pop-bg); color: var(--fg); border: 1px solid var(--rule); border-radius: 8px; padding: .55rem .7rem;
                box-shadow: 0 6px 24px rgba(0,0,0,.16); font: 400 .8rem/1.45 var(--sans); white-space: normal; text-align: left; cursor: auto; }
.badge-detail .row { display: block; overflow-wrap: anywhere; }
.badge-detail b { color: var(--muted); font-weight: 600; margin-right: .3em; }
.badge:hover .badge-detail, .badge:focus .badge-detail, .badge:focus-within .badge-detail { display: block; }
.badge:focus { outline: 2px solid var(--accent); outline-offset: 1px; }
.eq-side .badge-detail, .cell-head .badge-detail { left: auto; right: 0; }
.claim .value, .value { font-variant-numeric: tabular-nums; font-weight: 600; }
.claim { white-space: nowrap; }
.claim.other-profile .value { font-weight: 400; color: var(--muted, #6b7280); font-size: 0.9em; }
/* {{quoted: …}}: a number from elsewhere, not computed here: a dotted underline, the title says so. */
.quoted { text-decoration: underline dotted var(--muted); text-underline-offset: 3px; cursor: help; }

/* Callouts (::: {.callout-note …}): a box beside the running text; collapsed ones open on a click. */
.callout { margin: 1.4rem 0; padding: .3rem 1rem; border: 1px solid var(--rule); border-left: 4px solid var(--accent);
           border-radius: 6px; background: var(--side-bg); }
.callout-warning, .callout-caution { border-left-color: var(--warn); }
.callout-important { border-left-color: var(--fail); }
.callout-tip { border-left-color: var(--pass); }
.callout > summary, .callout > .callout-title { font: 600 .9rem var(--sans); padding: .4rem 0; margin: 0; }
.callout > summary { cursor: pointer; }
/* ```swift fold```: the code folded under one line; the output stays in view. */
details.code-fold > summary { cursor: pointer; font: .8rem var(--sans); color: var(--muted); padding: .2rem 0; }

/* Code cells */
.cell { margin: 1.4rem 0 1.6rem; scroll-margin-top: 1rem; }
.cell-head { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem; justify-content: flex-end;
             font: .74rem var(--sans); color: var(--muted); margin: 0 0 .25rem; }
.cell-head .cell-loc { margin-right: auto; font-family: var(--mono); }
.tag { font: 600 .7rem var(--sans); padding: 0 .45em; border: 1px solid var(--rule); border-radius: 4px; }
.tag.failed { color: var(--fail); border-color: color-mix(in srgb, var(--fail) 50%, transparent); background: var(--fail-bg); }
pre { margin: 0; font: .84rem/1.55 var(--mono); overflow-x: auto; tab-size: 4; }
pre.code { background: var(--code-bg); padding: .85rem 1rem; border-radius: 7px; border: 1px solid var(--rule); }
.cell-output { margin-top: .35rem; }
.cell-output > * + * { margin-top: .6rem; }
.checkpoints p { margin: .35rem 0 0; font: .8rem var(--sans); color: var(--muted); }
pre.stdout, pre.stderr { padding: .55rem 1rem; background: var(--out-bg); border-left: 3px solid var(--rule); border-radius: 0 6px 6px 0; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 32rem; overflow-y: auto; }
pre.stderr { border-left-color: var(--warn); color: color-mix(in srgb, var(--warn) 70%, var(--fg)); }
.cell.failed pre.code { border-color: color-mix(in srgb, var(--fail) 50%, var(--rule)); }
.cell-error { margin-top: .5rem; border: 1px solid color-mix(in srgb, var(--fail) 55%, transparent); background: var(--fail-bg); border-radius: 7px; padding: .6rem .9rem; }
.cell-error .error-title { margin: 0 0 .3rem; font: 700 .85rem var(--sans); color: var(--fail); }
.cell-error .cell-loc { font: 400 .8rem var(--mono); color: var(--muted); }
.cell-error pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.tok-kw { color: var(--tok-kw); } .tok-str { color: var(--tok-str); } .tok-com { color: var(--tok-com); font-style: italic; }
.tok-num { color: var(--tok-num); } .tok-type { color: var(--tok-type); } .tok-attr { color: var(--tok-attr); } .tok-fn { color: var(--tok-fn); }
.hljs-keyword, .hljs-built_in, .hljs-literal { color: var(--tok-kw); } .hljs-string { color: var(--tok-str); }
.hljs-comment { color: var(--tok-com); font-style: italic; } .hljs-number { color: var(--tok-num); }
.hljs-title, .hljs-function { color: var(--tok-fn); } .hljs-type, .hljs-class { color: var(--tok-type); } .hljs-meta { color: var(--tok-attr); }

/* Tables, tensors, plots, figures */
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font: .86rem/1.4 var(--sans); font-variant-numeric: tabular-nums; }
table.data caption, .params caption { caption-side: top; text-align: left; color: var(--muted); font-size: .82rem; padding-bottom: .3rem; }
table.data th, table.data td, .toc th, .toc td, .params th, .params td { padding: .3rem .75rem; border-bottom: 1px solid var(--rule); text-align: left; }
table.data thead th, .toc thead th { border-bottom: 2px solid var(--muted); font-weight: 650; }
table.data tbody tr:hover, .toc tbody tr:hover { background: color-mix(in srgb, var(--accent) 5%, transparent); }
.num { text-align: right !important; font-variant-numeric: tabular-nums; }
figure { margin: 1.3rem 0; }
figcaption { font: .84rem/1.45 var(--sans); color: var(--muted); margin-top: .4rem; }
.fig-no { font-weight: 650; color: var(--fg); }
.figure { text-align: center; }
.figure img, .diagram img, .chapter p > img { display: block; margin: 0 auto; width: auto; max-width: min(100%, 34rem); max-height: 24rem;
                                             background: #fff; border-radius: 6px; padding: .4rem; }
.erratum-result { margin: -.6rem 0 1rem; font: .8rem/1.45 var(--mono); color: var(--muted); overflow-wrap: anywhere; }
.eq-unchecked { font: .7rem/1.2 var(--sans, sans-serif); color: var(--muted); border: 1px solid color-mix(in srgb, var(--muted) 35%, transparent); border-radius: .25rem; padding: 0 .3em; }
.eq-unchecked-reason, .eq-survivors { margin: -.6rem 0 1rem; font-size: .8rem; color: var(--muted); }
.eq-survivors { padding-left: 1.2rem; }
/* Drawings (SVG) use the column's width: their text is drawn at reading size for about 700 px. */
.figure img[src$=".svg"], .diagram img, .chapter p > img[src$=".svg"] { max-width: 100%; max-height: 32rem; }
.tensor { margin: .5rem 0; } .tensor figcaption { margin: 0 0 .3rem; }
.tensor-label { font-family: var(--mono); color: var(--fg); } .tensor-shape { font-family: var(--sans); }
.tensor-index { margin: .4rem 0 .1rem; font: .78rem var(--mono); color: var(--muted); }
table.matrix { position: relative; font: .8rem var(--mono); border-left: 1.5px solid var(--fg); border-right: 1.5px solid var(--fg); border-radius: 5px; }
table.matrix td { padding: .05rem .55rem; text-align: right; }
table.matrix td.gap { color: var(--muted); text-align: center; }
.tensor-gap { margin: 0; color: var(--muted); }
.plot-figure { margin: .6rem 0 1rem; }
.plot-figure figcaption, .diagram figcaption { text-align: center; }
.plot-title { margin: 0 0 .2rem; text-align: center; font: 600 .84rem/1.45 var(--sans); }
svg.plot { width: 100%; height: auto; max-width: 44rem; display: block; margin: 0 auto; font-family: var(--sans); overflow: visible; }
svg.plot .grid { stroke: var(--grid); }
svg.plot .axis, svg.plot .legend { fill: var(--muted); }
svg.plot .axis-label { fill: var(--fg); font-weight: 600; }
svg.plot .frame { stroke: var(--muted); }
svg.plot .colourbar { stroke: var(--muted); }
svg.plot .s0 { stroke: var(--s0); fill: var(--s0); } svg.plot .s1 { stroke: var(--s1); fill: var(--s1); }
svg.plot .s2 { stroke: var(--s2); fill: var(--s2); } svg.plot .s3 { stroke: var(--s3); fill: var(--s3); }
svg.plot .s4 { stroke: var(--s4); fill: var(--s4); } svg.plot .s5 { stroke: var(--s5); fill: var(--s5); }
svg.plot .s6 { stroke: var(--s6); fill: var(--s6); } svg.plot .s7 { stroke: var(--s7); fill: var(--s7); }
svg.plot-bars .series rect { stroke: none; }
.diagram { text-align: center; }

/* Failures, checks, footer, navigation */
.failures { border: 1px solid color-mix(in srgb, var(--fail) 50%, transparent); background: var(--fail-bg); border-radius: 8px;
            padding: .7rem 1rem; margin: 0 0 1.6rem; font: .9rem/1.5 var(--sans); }
.failures p { margin: 0 0 .3rem; color: var(--fail); }
.failures ul { margin: 0; padding-left: 1.2rem; }
.failures pre { white-space: pre-wrap; }
.other-checks ul { list-style: none; padding: 0; font: .9rem var(--sans); }
.other-checks .badge-detail { left: 0; }
.prevnext { display: flex; gap: 1rem; justify-content: space-between; margin: 3rem 0 1rem; font-family: var(--sans); }
.prevnext a { flex: 1 1 0; border: 1px solid var(--rule); border-radius: 8px; padding: .6rem .9rem; text-decoration: none; font-weight: 600; }
.prevnext a span { display: block; font: 400 .78rem var(--sans); color: var(--muted); }
.prevnext .next { text-align: right; margin-left: auto; }
.prevnext a:hover { border-color: var(--accent); }
.run-info { margin-top: 2rem; padding-top: 1rem; border-top: 1px solid var(--rule); font: .82rem/1.5 var(--sans); color: var(--muted); }
.run-info h2 { font-size: .95rem; border: 0; margin: 0 0 .5rem; color: var(--fg); }
/* One column width for the rows everyone sees and those behind "Build details", so they align. */
.run-info dl { display: grid; grid-template-columns: minmax(max-content, 6.5rem) 1fr; gap: .15rem 1rem; margin: 0 0 .8rem; }
.run-info dt { font-weight: 600; } .run-info dd { margin: 0; overflow-wrap: anywhere; }
.params { font-size: .8rem; margin-bottom: .6rem; }

/* Index */
.book-head h1 { font-size: 2.4rem; margin-top: 1rem; }
.lede { font-size: 1.15rem; color: var(--muted); max-width: 38rem; }
.summary { font: .9rem var(--sans); color: var(--muted); }
.toc { width: 100%; font-size: .95rem; margin-top: 1.5rem; }
.toc td a { font-weight: 600; text-decoration: none; }
.count.pass { color: var(--pass); } .count.fail { color: var(--fail); font-weight: 700; }
.count.unchecked { color: var(--muted); } .toc td.num { white-space: nowrap; }

/* Print: light, full width, no navigation, no hover details. */
@media print {
  :root { --bg: #fff; --fg: #000; --muted: #444; --rule: #bbb; --accent: #000; --code-bg: #f4f4f4; --out-bg: #fff;
          --pass: #116329; --pass-bg: #fff; --fail: #a40e26; --fail-bg: #fff; --grid: #ddd;
          --s0: #0072b2; --s1: #d55e00; --s2: #009e73; --s3: #cc79a7; --s4: #e69f00; --s5: #56b4e9; --s6: #7f7f7f; --s7: #000;
          --tok-kw: #7a1f78; --tok-str: #2d5e22; --tok-com: #666; --tok-num: #6b4a00; --tok-type: #0b5a85; --tok-attr: #8a4600; --tok-fn: #1f3f99; }
  body { font-size: 10.5pt; background: #fff; }
  .page { display: block; }
  .sidebar, .prevnext, .skip, .anchor, .plumbing, .build-details, .build-toggle { display: none !important; }
  main { max-width: none; padding: 0; }
  pre, pre.stdout, pre.stderr { white-space: pre-wrap; max-height: none; overflow: visible; }
  .cell, figure, .equation, table { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  .badge-detail { display: none !important; }
  a { text-decoration: none; }
}
"""#

    static let script = #"""
// rnnbook pages: typeset maths with KaTeX and colour non-Swift code. Without this script
// the TeX source stays on the page and code stays plain (Swift is coloured on the server).
(function () {
  "use strict";
  function renderMath() {
    if (!window.katex) { return; }
    var macros = {};  // shared, so \gdef in one formula serves the rest of the page
    var nodes = document.querySelectorAll(".math");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      var display = el.classList.contains("display");
      var tex = el.textContent.trim();
      tex = display ? tex.replace(/^\\\[/, "").replace(/\\\]$/, "") : tex.replace(/^\\\(/, "").replace(/\\\)$/, "");
      try {
        katex.render(tex, el, { displayMode: display, throwOnError: false, macros: macros, strict: "ignore" });
      } catch (e) {
        var span = document.createElement("span");
        span.className = "katex-error";
        span.title = String(e);
        span.textContent = tex;
        el.textContent = "";
        el.appendChild(span);
      }
    }
  }
  function highlight() {
    if (!window.hljs) { return; }
    var blocks = document.querySelectorAll("pre code[class^='language-']");
    for (var i = 0; i < blocks.length; i++) {
      if (blocks[i].classList.contains("language-swift")) { continue; }
      try { hljs.highlightBlock(blocks[i]); } catch (e) { /* unknown language: stays plain */ }
    }
  }
  // "Build details": one switch for every page, remembered in localStorage (which works from
  // file:// too). Set as soon as this deferred script runs, before the page's other work.
  var root = document.documentElement, buildKey = "rnnbook-build-details";
  root.classList.add("js");
  try { if (localStorage.getItem(buildKey) === "shown") { root.classList.add("show-build"); } } catch (e) { /* storage off */ }
  function buildDetails() {
    var key = buildKey;
    var switches = document.querySelectorAll("input.build-toggle-input");
    function show(on, remember) {
      root.classList.toggle("show-build", on);
      for (var i = 0; i < switches.length; i++) { switches[i].checked = on; }
      if (remember) { try { localStorage.setItem(key, on ? "shown" : "hidden"); } catch (e) { /* storage off: this page only */ } }
    }
    // With the script the footer's details show whole or not at all, as the switch says.
    var folds = document.querySelectorAll("details.build-details");
    for (var i = 0; i < folds.length; i++) { folds[i].open = true; }
    for (var j = 0; j < switches.length; j++) {
      switches[j].addEventListener("change", function (e) { show(e.target.checked, true); });
    }
    window.addEventListener("storage", function (e) { if (e.key === key) { show(e.newValue === "shown", false); } });
    show(root.classList.contains("show-build"), false);
  }
  // The contents fold: open beside the text, closed above it on a phone, as the width changes.
  // (A deferred script runs once the page is parsed, so the fold is there.)
  (function contentsFold() {
    var fold = document.getElementById("contents-fold");
    if (!fold || !window.matchMedia) { return; }
    var narrow = window.matchMedia("\#(Layout.narrowQuery)");
    var follow = function () { fold.open = !narrow.matches; };
    follow();
    if (narrow.addEventListener) { narrow.addEventListener("change", follow); } else if (narrow.addListener) { narrow.addListener(follow); }
  })();
  document.addEventListener("DOMContentLoaded", function () { buildDetails(); renderMath(); highlight(); });
})();
"""#
}
