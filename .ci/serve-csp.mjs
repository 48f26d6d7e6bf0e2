// The content security policy half of .ci/serve-test.sh: opens pages served by `rnnbook serve` in
// a headless Chromium (DevTools protocol, node's WebSocket) and fails on any policy violation,
// while checking that the pages still do what their assets are for: KaTeX typeset the maths
// (with its fonts), every image loaded (files and data: SVGs), the live script's event stream
// connected, and the search box's submit handler ran without reloading the page.
//
// Usage: node --experimental-websocket .ci/serve-csp.mjs DEVTOOLS_PORT URL...
const [devtoolsPort, ...urls] = process.argv.slice(2);
if (typeof WebSocket === 'undefined') {
  console.error('serve-csp: this node has no WebSocket (node 20 needs --experimental-websocket; node 22 has it)');
  process.exit(2);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let failures = 0;
function fail(message) { console.error(`FAIL ${message}`); failures++; }

let target;
for (let i = 0; i < 100 && !target; i++) {
  try {
    const list = await (await fetch(`http://127.0.0.1:${devtoolsPort}/json/list`)).json();
    target = list.find((t) => t.type === 'page');
  } catch { /* not up yet */ }
  if (!target) await sleep(200);
}
if (!target) { console.error('FAIL no page target in Chromium'); process.exit(1); }

const socket = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = () => reject(new Error('DevTools socket failed')); });
let nextId = 1;
const waiting = new Map();
const listeners = [];
socket.onmessage = (m) => {
  const msg = JSON.parse(m.data);
  if (msg.id && waiting.has(msg.id)) { waiting.get(msg.id)(msg); waiting.delete(msg.id); }
  if (msg.method) for (const l of listeners) l(msg);
};
function send(method, params = {}) {
  const id = nextId++;
  socket.send(JSON.stringify({ id, method, params }));
  return new Promise((resolve) => waiting.set(id, resolve));
}
async function evaluate(expression) {
  const r = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
  if (r.error) return { error: r.error.message };
  if (r.result?.exceptionDetails) return { error: JSON.stringify(r.result.exceptionDetails).slice(0, 400) };
  return r.result?.result?.value;
}

// Violations as the page sees them (the event) and as the console reports them.
const console_ = [];
listeners.push((msg) => {
  if (msg.method === 'Log.entryAdded') console_.push(msg.params.entry.text);
  if (msg.method === 'Runtime.consoleAPICalled') console_.push(msg.params.args.map((a) => a.value).join(' '));
});
await send('Page.enable');
await send('Log.enable');
await send('Runtime.enable');
await send('Page.addScriptToEvaluateOnNewDocument', { source: `
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) =>
    window.__csp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber));
  // The live script's stream, to see it open.
  const Original = window.EventSource;
  window.EventSource = function (url, init) { const s = new Original(url, init); window.__stream = s; return s; };
  window.EventSource.prototype = Original.prototype;
` });

for (const url of urls) {
  console_.length = 0;
  const loaded = new Promise((resolve) => listeners.push((msg) => { if (msg.method === 'Page.loadEventFired') resolve(); }));
  await send('Page.navigate', { url });
  await Promise.race([loaded, sleep(15000)]);
  const state = await evaluate(`(async () => {
    await document.fonts.ready;
    // The live script's stream: open once EventSource says so.
    for (let i = 0; i < 50 && !(window.__stream && window.__stream.readyState === 1); i++)
      await new Promise(r => setTimeout(r, 100));
    return {
      math: document.querySelectorAll('.math').length,
      katex: document.querySelectorAll('.katex').length,
      katexFonts: [...document.fonts].filter(f => f.family.startsWith('KaTeX') && f.status === 'loaded').length,
      images: [...document.images].map(i => ({ src: i.src.slice(0, 40), ok: i.complete && i.naturalWidth > 0 })),
      events: !!(window.__stream && window.__stream.readyState === 1),
      liveStyle: [...document.styleSheets].some(s => (s.href || '').endsWith('/_rnnbook/live.css') && s.cssRules.length > 0),
      csp: window.__csp,
    };
  })()`);
  if (!state || state.error) { fail(`${url}: the page could not be inspected: ${state?.error}`); continue; }
  // The search box: its inline `onsubmit="return false"` keeps the page; blocked, the page
  // navigates (and this evaluation is cut off).
  const search = await evaluate(`(async () => {
    const form = document.querySelector('form.search');
    if (!form) return null;
    const before = location.href;
    form.requestSubmit();
    await new Promise(r => setTimeout(r, 300));
    return location.href === before && window.__csp.length === 0;
  })()`);
  state.submitted = search?.error ? false : search;
  const problems = [];
  for (const v of state.csp) problems.push(`violation: ${v}`);
  for (const line of console_) if (/Content Security Policy|Refused to/i.test(line)) problems.push(`console: ${line}`);
  if (state.math > 0 && state.katex === 0) problems.push(`${state.math} formulas, none typeset by KaTeX`);
  if (state.katex > 0 && state.katexFonts === 0) problems.push('KaTeX typeset the maths but none of its fonts loaded');
  for (const i of state.images) if (!i.ok) problems.push(`image ${i.src}… did not load`);
  if (!state.events) problems.push('the live script opened no event stream');
  if (!state.liveStyle) problems.push('the live panel\'s stylesheet (/_rnnbook/live.css) did not load');
  if (state.submitted === false) problems.push('submitting the search box left the page (its onsubmit handler did not run)');
  if (problems.length) fail(`${url}:\n    ${problems.join('\n    ')}`);
  else console.log(`ok   ${url}: no policy violation; ${state.katex} formulas typeset (${state.katexFonts} KaTeX fonts), ${state.images.length} images, event stream open${state.submitted ? ', search box handler ran' : ''}`);
}
socket.close();
process.exit(failures > 0 ? 1 : 0);
