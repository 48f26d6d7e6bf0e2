#!/usr/bin/env bash
# End-to-end test of `rnnbook serve`: builds a two-chapter test book in a temp folder, serves it,
# and checks in headless Chromium (driven through the DevTools protocol by .ci/serve-browser.mjs)
# that a prose edit shows on the open page without a reload by the test within 3 s
# ($SERVE_TEST_LIMIT), that a broken edit shows its compile error on the page linked to
# file:line above the last good content, and that the fix brings the content back. Also: only
# the edited chapter is rebuilt, the static pages hold no live-reload script, nothing outside
# the output folder is served (nor a hidden file behind a visible symbolic link), every response
# says nosniff and the content security policy, the pages break no rule of that policy in
# Chromium (.ci/serve-csp.mjs: maths typeset with KaTeX's fonts, images, the event stream, the
# search box), a taken port is a clear error, and Ctrl-C stops the server and the chapter
# program it was running.
# Usage: .ci/serve-test.sh [RNNBOOK_BINARY]   (default .build/release/rnnbook; build it first)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(cd "$(dirname "${1:-$repo/.build/release/rnnbook}")" && pwd)/$(basename "${1:-rnnbook}")"
[[ -x "$bin" ]] || { echo "serve-test: $bin not found; run swift build -c release first" >&2; exit 2; }
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[[ -n "$browser" ]] || { echo "serve-test: chromium not found; install the Debian package chromium" >&2; exit 2; }
command -v node >/dev/null || { echo "serve-test: node not found (the DevTools client runs on node 20+)" >&2; exit 2; }
command -v curl >/dev/null || { echo "serve-test: curl not found" >&2; exit 2; }

work="$(mktemp -d)"
serve_pid=""; chrome_pid=""
cleanup() {
    # Only what this script started, by its id; Chromium in its own process group.
    [[ -n "$chrome_pid" ]] && kill -- -"$chrome_pid" 2>/dev/null || true
    [[ -n "$serve_pid" ]] && kill "$serve_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL $1" >&2; failures=$((failures + 1)); }
ok() { echo "ok   $1"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Waits up to $1 seconds for a command to succeed.
wait_for() {
    local limit=$1; shift
    local start=$SECONDS
    until "$@"; do
        (( SECONDS - start < limit )) || return 1
        sleep 0.2
    done
}

book="$work/book"
mkdir -p "$book/chapters"
cat >"$book/chapters/live.md" <<'EOF'
---
title: Live chapter
---

# Live chapter

The first paragraph says ORIGINAL-PROSE, and the block below prints the answer.
A formula for KaTeX: $h_t = \tanh(W_{hh} h_{t-1} + W_{xh} x_t)$.

```swift
let answer = 6 * 7
print(answer)
```

```output
42
```
EOF
cat >"$book/chapters/other.md" <<'EOF'
---
title: Another chapter
timeout: 600
---

# Another chapter

This chapter is not edited until the end, so it must not be rebuilt before then.

```swift
print("other")
```
EOF

port="$(free_port)"
log="$work/serve.log"
cd "$book"
# Job control on, so that the background job keeps SIGINT (a non-interactive shell would ignore
# it in background jobs, and the Ctrl-C test below would then test nothing).
set -m
"$bin" serve --port "$port" >"$log" 2>&1 &
serve_pid=$!
set +m
url="http://127.0.0.1:$port"

page_ready() { curl -fsS "$url/live.html" 2>/dev/null | grep -q 'ORIGINAL-PROSE'; }
if ! wait_for 600 page_ready; then
    echo "serve log:" >&2; sed 's/^/    /' "$log" >&2
    echo "FAIL the first build did not serve live.html" >&2; exit 1
fi
ok "first build served at $url"

# The pages on disk are the static build's: no live-reload script, no panel.
if grep -l '_rnnbook' "$book"/output/*.html >/dev/null 2>&1; then fail "the static pages in output/ contain the live-reload script"; else ok "output/*.html hold no live-reload script"; fi
curl -fsS "$url/live.html" | grep -q '/_rnnbook/live.js' && ok "served pages load the live script" || fail "served page has no live script"

# Nothing outside the output folder, nothing hidden. --path-as-is sends the dots as they are.
echo "outside" >"$work/secret.txt"
for path in "/../secret.txt" "/../../secret.txt" "/%2e%2e/secret.txt" "/assets/..%2f..%2fsecret.txt" "/.rnnbook-lock" "/.cache/" "/..%2f..%2f..%2fetc%2fpasswd"; do
    body="$(curl -sS --path-as-is -o - -w '\n%{http_code}' "$url$path" || true)"
    code="${body##*$'\n'}"
    if [[ "$code" == 200 ]] || grep -qE 'outside|root:' <<<"$body"; then fail "GET $path answered $code: ${body:0:80}"; fi
done
ok "no file outside output/ or hidden is served"
# A visible name that leads to a hidden one: a link into .cache/ is refused like .cache/ itself.
cached="$(cd "$book/output" && find .cache -type f 2>/dev/null | head -1 || true)"
if [[ -n "$cached" ]]; then
    ln -s "$cached" "$book/output/leak.json"
    code="$(curl -sS -o /dev/null -w '%{http_code}' "$url/leak.json" || true)"
    [[ "$code" == 404 ]] && ok "a symbolic link into .cache/ is refused (404)" || fail "GET /leak.json (a link to $cached) answered $code"
    rm -f "$book/output/leak.json"
else
    fail "output/.cache/ holds no file to link to"
fi
# Every response says nosniff and carries the policy: a page, an asset, a refusal.
for path in /live.html /assets/book.css /nothing.html; do
    headers="$(curl -sS -D - -o /dev/null "$url$path" || true)"
    if grep -qi '^x-content-type-options: nosniff' <<<"$headers" && grep -qi "^content-security-policy: default-src 'self'" <<<"$headers"; then :
    else fail "GET $path lacks nosniff or the content security policy:"$'\n'"$headers"; fi
done
ok "nosniff and the content security policy on every response"
code="$(curl -sS -o /dev/null -w '%{http_code}' -H 'Host: rebound.example' "$url/live.html" || true)"
[[ "$code" == 403 ]] && ok "a request for another host name is refused (403)" || fail "a request with Host: rebound.example answered $code"

# A taken port is a clear error, at once (before any build).
second="$(cd "$book" && timeout 60 "$bin" serve --port "$port" 2>&1)" && status=0 || status=$?
if [[ $status == 1 ]] && grep -q "port $port on 127.0.0.1 is in use" <<<"$second"; then ok "a taken port: $(grep -m1 'in use' <<<"$second")"
else fail "a second serve on port $port exited $status: $second"; fi

# The browser: Chromium with a DevTools port, on the chapter page, in its own process group.
profile="$work/chrome"
mkdir -p "$profile"
setsid "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$profile" --remote-debugging-port=0 --remote-allow-origins='*' "$url/live.html" \
    >"$work/chrome.log" 2>&1 &
chrome_pid=$!
devtools_ready() { [[ -s "$profile/DevToolsActivePort" ]]; }
wait_for 60 devtools_ready || { fail "Chromium did not open its DevTools port"; sed 's/^/    /' "$work/chrome.log" | tail -5 >&2; exit 1; }
devtools_port="$(head -1 "$profile/DevToolsActivePort")"

builds_before="$(grep -c 'other.md' "$log" || true)"
if node --experimental-websocket --no-warnings "$repo/.ci/serve-browser.mjs" "$devtools_port" "$url/live.html" "$book/chapters/live.md"; then
    ok "live page: prose edit, broken edit and fix all shown without a reload by the test"
else
    fail "the live page test failed"; echo "serve log:" >&2; sed 's/^/    /' "$log" | tail -40 >&2
fi

# The policy lets the pages work and is never broken: no violation, in the page or the console.
if node --experimental-websocket --no-warnings "$repo/.ci/serve-csp.mjs" "$devtools_port" "$url/live.html" "$url/" "$url/_rnnbook/source/chapters/live.md"; then
    ok "no content security policy violation on the served pages"
else
    fail "the served pages break the content security policy (above)"
fi

# How long each build of live.md took (the prose edit's time above includes its build).
grep -E '(passed|FAILED)  chapters/live.md' "$log" | sed 's/^/     build: /' || true

# Only the edited chapter was rebuilt: other.md appears in no line after the first build.
if [[ "$(grep -c 'other.md' "$log" || true)" == "$builds_before" ]] && grep -q 'changed: chapters/live.md' "$log"; then
    ok "only chapters/live.md was rebuilt ($(grep -c 'changed: chapters/live.md' "$log") builds)"
else
    fail "other.md was rebuilt, or live.md never was:"; sed 's/^/    /' "$log" | tail -20 >&2
fi

# Ctrl-C while a chapter program runs: serve exits 130 and the program is gone.
pidfile="$work/program.pid"
cat >>"$book/chapters/other.md" <<EOF

\`\`\`swift
try! String(ProcessInfo.processInfo.processIdentifier).write(toFile: "$pidfile", atomically: true, encoding: .utf8)
Thread.sleep(forTimeInterval: 300)
\`\`\`
EOF
program_started() { [[ -s "$pidfile" ]]; }
if wait_for 120 program_started; then
    program="$(cat "$pidfile")"
    kill -INT "$serve_pid"
    exited() { ! kill -0 "$serve_pid" 2>/dev/null; }
    if wait_for 20 exited; then
        wait "$serve_pid" && code=0 || code=$?
        serve_pid=""
        [[ $code == 130 ]] && ok "Ctrl-C: serve exited 130" || fail "Ctrl-C: serve exited $code"
        if kill -0 "$program" 2>/dev/null; then fail "the chapter program $program outlived serve"; kill -9 "$program" 2>/dev/null || true
        else ok "Ctrl-C stopped the running chapter program ($program)"; fi
        curl -s -o /dev/null "$url/" && fail "the port still answers after Ctrl-C" || ok "the port is closed"
    else
        fail "serve did not exit within 20 s of Ctrl-C"
    fi
else
    fail "the slow chapter program did not start"; sed 's/^/    /' "$log" | tail -20 >&2
fi

if (( failures > 0 )); then echo "serve-test: $failures failure(s)" >&2; exit 1; fi
echo "serve-test: all checks passed"
