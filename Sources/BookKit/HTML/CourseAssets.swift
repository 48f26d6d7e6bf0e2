/// Styles and script for citations, reference lists, numbered sections, the contents page and
/// search, written to `output/assets/course.css` and `output/assets/search.js`.
enum CourseAssets {
    static let css = #"""
/* Citations and reference lists */
a.cite, a.xref { text-decoration: none; }
a.cite:hover, a.xref:hover { text-decoration: underline; }
.references h2 { margin-top: 3rem; }
.reference-list { padding-left: 1.4rem; font-size: .95rem; }
.reference-list li { margin: .45rem 0; padding-left: .2rem; overflow-wrap: anywhere; scroll-margin-top: 1rem; }
.reference-list li:target { background: color-mix(in srgb, var(--accent) 10%, transparent); border-radius: 4px; }
.reference-list a { overflow-wrap: anywhere; }
.cited-in { color: var(--muted); font: .82rem var(--sans); }

/* Numbered sections and figures */
.secno { color: var(--muted); font-weight: 600; margin-right: .35em; font-variant-numeric: tabular-nums; }
h2[id], h3[id], h4[id], figure[id] { scroll-margin-top: 1rem; }
figure[id]:target { background: color-mix(in srgb, var(--accent) 7%, transparent); border-radius: 8px; }

/* Search */
.search { margin: 0 0 .8rem; }
.search input { width: 100%; font: .9rem var(--sans); padding: .4rem .6rem; border: 1px solid var(--rule); border-radius: 6px;
                background: var(--bg); color: var(--fg); }
.search input:focus { outline: 2px solid var(--accent); outline-offset: 0; }
.search-results { font: .84rem/1.45 var(--sans); margin: 0 0 1rem; }
.search-results ol { list-style: none; margin: 0; padding: 0; }
.search-results li { margin: 0 0 .55rem; }
.sidebar .search-results ol > li > a::before { content: none; }
.sidebar .search-results ol > li { counter-increment: none; }
.search-results li a { display: block; text-decoration: none; padding: .2rem .4rem; border-radius: 5px; }
.search-results li a:hover, .search-results li a:focus { background: color-mix(in srgb, var(--accent) 9%, transparent); }
.search-results .where { display: block; font-weight: 600; color: var(--fg); }
.search-results .snippet { display: block; color: var(--muted); }
.search-results mark { background: color-mix(in srgb, var(--warn) 30%, transparent); color: inherit; border-radius: 2px; }
.search-results .search-count { color: var(--muted); margin: 0 0 .4rem; }
.index-page .search { max-width: 30rem; margin-top: 1.2rem; }
.index-page .search-results { max-width: 44rem; }

/* Contents page */
.toc .chapter-summary { margin: .25rem 0 0; font: .86rem/1.5 var(--serif); color: var(--muted); font-weight: 400; }
.toc td { vertical-align: top; }
.toc tfoot td { border-top: 2px solid var(--muted); border-bottom: 0; font-weight: 650; }
.build-info dl { display: grid; grid-template-columns: minmax(max-content, 6.5rem) 1fr; gap: .15rem 1rem; margin: 0 0 .15rem; }
.build-info dt { font-weight: 600; } .build-info dd { margin: 0; overflow-wrap: anywhere; }
/* A phone keeps the number, chapter, verdict and checks: the table fits 390 px without scrolling. */
@media (max-width: 640px) {
  .toc th.runtime, .toc td.runtime, .toc th.exercises, .toc td.exercises { display: none; }
  .toc th, .toc td { padding: .3rem .4rem; }
  .book-head h1 { font-size: 1.9rem; }
}
@media print { .search, .search-results { display: none !important; } }
"""#

    /// The search box's matcher: loads `search-index.js` on first use, ranks sections holding every
    /// word of the query, and shows a snippet of each. `#search=words` or `?q=words` in the address
    /// runs a search on load (so a link, or a headless browser, can show results).
    static let script = #"""
(function () {
  "use strict";
  var input, box, loading = false, waiting = [];
  function loadIndex(done) {
    if (window.RNNBOOK_SEARCH) { done(); return; }
    waiting.push(done);
    if (loading) { return; }
    loading = true;
    var s = document.createElement("script");
    s.src = "search-index.js";
    s.onload = function () { var w = waiting; waiting = []; w.forEach(function (f) { f(); }); };
    s.onerror = function () { show("The search index (search-index.js) could not be loaded."); };
    document.head.appendChild(s);
  }
  function words(q) { return q.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 0; }); }
  function show(message) {
    box.hidden = false;
    box.textContent = "";
    var p = document.createElement("p");
    p.className = "search-count";
    p.textContent = message;
    box.appendChild(p);
    return p;
  }
  // Appends `text` to `el` with every occurrence of the query words marked.
  function marked(el, text, terms) {
    var lower = text.toLowerCase(), i = 0;
    while (i < text.length) {
      var best = -1, len = 0;
      terms.forEach(function (t) {
        var k = lower.indexOf(t, i);
        if (k >= 0 && (best < 0 || k < best)) { best = k; len = t.length; }
      });
      if (best < 0) { el.appendChild(document.createTextNode(text.slice(i))); break; }
      if (best > i) { el.appendChild(document.createTextNode(text.slice(i, best))); }
      var m = document.createElement("mark");
      m.textContent = text.slice(best, best + len);
      el.appendChild(m);
      i = best + len;
    }
  }
  function snippet(text, terms) {
    var lower = text.toLowerCase(), at = text.length;
    terms.forEach(function (t) { var k = lower.indexOf(t); if (k >= 0 && k < at) { at = k; } });
    var from = Math.max(0, at - 60), to = Math.min(text.length, at + 140);
    return (from > 0 ? "…" : "") + text.slice(from, to) + (to < text.length ? "…" : "");
  }
  function search(query) {
    var terms = words(query);
    if (terms.length === 0) { box.hidden = true; box.textContent = ""; return; }
    var phrase = terms.join(" "), hits = [];
    window.RNNBOOK_SEARCH.forEach(function (e) {
      // Every word must occur; the section's own title weighs most, then the phrase, then counts.
      var text = e.text.toLowerCase(), section = e.section.toLowerCase(), chapter = e.chapter.toLowerCase(), score = 0;
      for (var i = 0; i < terms.length; i++) {
        var count = text.split(terms[i]).length - 1, inSection = section.indexOf(terms[i]) >= 0;
        if (count === 0 && !inSection && chapter.indexOf(terms[i]) < 0) { return; }
        score += (inSection ? 4 : 0) + Math.min(count, 5);
      }
      if (terms.length > 1) {
        if (section.indexOf(phrase) >= 0) { score += 6; }
        score += 3 * Math.min(text.split(phrase).length - 1, 3);
      }
      hits.push({ e: e, score: score });
    });
    hits.sort(function (a, b) { return b.score - a.score; });
    show(hits.length === 0 ? "No section mentions “" + query + "”." :
         hits.length + " section" + (hits.length === 1 ? "" : "s") + " for “" + query + "”" + (hits.length > 20 ? " (first 20)" : "") + ":");
    var list = document.createElement("ol");
    hits.slice(0, 20).forEach(function (h) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = h.e.page + (h.e.anchor ? "#" + h.e.anchor : "");
      var where = document.createElement("span");
      where.className = "where";
      where.textContent = h.e.chapter + (h.e.section ? " › " + h.e.section : "");
      var snip = document.createElement("span");
      snip.className = "snippet";
      marked(snip, snippet(h.e.text, terms), terms);
      a.appendChild(where); a.appendChild(snip); li.appendChild(a); list.appendChild(li);
    });
    box.appendChild(list);
  }
  function run() { var q = input.value; loadIndex(function () { search(q); }); }
  function queryFromAddress() {
    var m = /^#search=(.*)$/.exec(location.hash);
    if (m) { return decodeURIComponent(m[1].replace(/\+/g, " ")); }
    var q = /[?&]q=([^&]*)/.exec(location.search);
    return q ? decodeURIComponent(q[1].replace(/\+/g, " ")) : "";
  }
  document.addEventListener("DOMContentLoaded", function () {
    input = document.getElementById("search-input");
    box = document.getElementById("search-results");
    if (!input || !box) { return; }
    input.addEventListener("input", run);
    input.addEventListener("focus", function () { loadIndex(function () {}); });
    var q = queryFromAddress();
    if (q) { input.value = q; run(); }
  });
})();
"""#
}
