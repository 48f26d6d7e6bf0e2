// The browser half of .ci/serve-test.sh: drives a headless Chromium through the DevTools
// protocol (node's WebSocket, `node --experimental-websocket` on node 20) on one page served by
// `rnnbook serve`, edits the chapter file, and watches the page change by itself: the test never
// reloads or navigates it. Prints one line per step; exits 1 on the first failure.
//
// Usage: node --experimental-websocket .ci/serve-browser.mjs DEVTOOLS_PORT PAGE_URL CHAPTER_FILE
// Environment: SERVE_TEST_LIMIT (seconds allowed for a prose edit to show, default 3).
import { readFileSync, writeFileSync } from 'node:fs';

const [devtoolsPort, pageURL, chapterFile] = process.argv.slice(2);
const proseLimit = Number(process.env.SERVE_TEST_LIMIT ?? 3);
if (typeof WebSocket === 'undefined') {
  console.error('serve-test: this node has no WebSocket (node 20 needs --experimental-websocket; node 22 has it)');
  process.exit(2);
}

function fail(message) { console.error(`FAIL ${message}`); process.exit(1); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The page target Chromium opened with PAGE_URL.
let target;
for (let i = 0; i < 100 && !target; i++) {
  try {
    const list = await (await fetch(`http://127.0.0.1:${devtoolsPort}/json/list`)).json();
    target = list.find((t) => t.type === 'page' && t.url.startsWith(pageURL));
  } catch { /* not up yet */ }
  if (!target) await sleep(200);
}
if (!target) fail(`no page for ${pageURL} in Chromium`);

const socket = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = () => reject(new Error('DevTools socket failed')); });
let nextId = 1;
const waiting = new Map();
socket.onmessage = (m) => {
  const msg = JSON.parse(m.data);
  if (msg.id && waiting.has(msg.id)) { waiting.get(msg.id)(msg); waiting.delete(msg.id); }
};
function send(method, params = {}) {
  const id = nextId++;
  socket.send(JSON.stringify({ id, method, params }));
  return new Promise((resolve) => waiting.set(id, resolve));
}
async function evaluate(expression) {
  const r = await send('Runtime.evaluate', { expression, returnByValue: true });
  return r.result?.result?.value;
}

// What the page shows now: its text, whether the findings panel is up, the panel's links, and
// the marker this test leaves on the window (gone once the page has reloaded itself).
const look = `(() => {
  const panel = document.getElementById('rnnbook-findings');
  return {
    ready: document.readyState,
    text: document.body ? document.body.innerText : '',
    panel: panel ? panel.innerText : null,
    links: panel ? [...panel.querySelectorAll('a.loc')].map(a => ({ text: a.textContent, href: a.getAttribute('href') })) : [],
    panelFirst: panel ? !!(panel.compareDocumentPosition(document.querySelector('article.chapter') || document.body) & Node.DOCUMENT_POSITION_FOLLOWING) : null,
    marker: window.__serveTestMarker === true,
    hidden: document.hidden,
  };
})()`;

async function waitFor(what, limit, predicate) {
  const start = Date.now();
  let last;
  while (Date.now() - start < limit * 1000) {
    last = await evaluate(look);
    if (last && last.ready === 'complete' && predicate(last)) return { seconds: (Date.now() - start) / 1000, state: last };
    await sleep(50);
  }
  fail(`${what}: not seen within ${limit} s; the page shows:\n${JSON.stringify(last, null, 1).slice(0, 1500)}`);
}

async function mark() {
  await evaluate('window.__serveTestMarker = true');
  if (!(await evaluate(look)).marker) fail('could not mark the page');
}

const original = readFileSync(chapterFile, 'utf8');
if (!original.includes('ORIGINAL-PROSE') || !original.includes('6 * 7')) fail(`${chapterFile} is not the test chapter`);

// 0. The page as served: the chapter, and the stream connected (the page is visible).
let step = await waitFor('the first page', 30, (s) => s.text.includes('ORIGINAL-PROSE') && s.text.includes('42'));
if (step.state.hidden) fail('the headless page reports document.hidden; the live script would not connect');
await sleep(500); // let the EventSource connect
console.log('ok   page loaded with its output');

// 1. A prose edit shows without a reload by the test, within the limit.
await mark();
let t0 = Date.now();
writeFileSync(chapterFile, original.replace('ORIGINAL-PROSE', 'EDITED-PROSE'));
step = await waitFor('the prose edit', Math.max(proseLimit, 30), (s) => s.text.includes('EDITED-PROSE'));
let seconds = (Date.now() - t0) / 1000;
if (step.state.marker) fail('the text changed but the page did not reload itself');
if (seconds > proseLimit) fail(`the prose edit showed after ${seconds.toFixed(2)} s (limit ${proseLimit} s)`);
console.log(`ok   prose edit shown after ${seconds.toFixed(2)} s (limit ${proseLimit} s), page reloaded itself`);

// 2. A broken edit: the compile error is on the page, linked to file:line, above the last good content.
await mark();
const lines = original.replace('ORIGINAL-PROSE', 'EDITED-PROSE').split('\n');
const brokenLine = lines.findIndex((l) => l.includes('6 * 7')) + 1;
t0 = Date.now();
writeFileSync(chapterFile, lines.join('\n').replace('6 * 7', '6 * undefinedNameInTheTest'));
step = await waitFor('the compile error', 60, (s) => s.panel !== null);
seconds = (Date.now() - t0) / 1000;
const where = `live.md:${brokenLine}:`;
if (!step.state.panel.includes('undefinedNameInTheTest')) fail(`the panel does not name the error:\n${step.state.panel}`);
const link = step.state.links.find((l) => l.text.includes(where));
if (!link) fail(`no finding linked to ${where} in ${JSON.stringify(step.state.links)}`);
if (!link.href.endsWith(`live.md#L${brokenLine}`)) fail(`the finding links to ${link.href}, not to line ${brokenLine}`);
if (!step.state.panelFirst) fail('the findings are not above the chapter');
if (!step.state.text.includes('EDITED-PROSE') || !step.state.text.includes('42')) fail('the last good content is not below the findings');
if (step.state.marker) fail('the error showed but the page did not reload itself');
console.log(`ok   broken edit: ${link.text} shown after ${seconds.toFixed(2)} s, last good content below it`);

// The link opens the chapter's source at that line, with the error under it.
const source = await (await fetch(new URL(link.href, pageURL))).text();
if (!source.includes(`id="L${brokenLine}"`) || !source.includes('undefinedNameInTheTest')) fail(`the source view at ${link.href} does not show line ${brokenLine}`);
console.log(`ok   ${link.href} shows the line`);

// 3. The fix brings the content back and the panel goes.
await mark();
t0 = Date.now();
writeFileSync(chapterFile, original.replace('ORIGINAL-PROSE', 'FIXED-PROSE'));
step = await waitFor('the fix', 60, (s) => s.panel === null && s.text.includes('FIXED-PROSE') && s.text.includes('42'));
seconds = (Date.now() - t0) / 1000;
if (step.state.marker) fail('the fix showed but the page did not reload itself');
console.log(`ok   fix shown after ${seconds.toFixed(2)} s, findings gone`);

socket.close();
process.exit(0);
