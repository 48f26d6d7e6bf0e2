#!/usr/bin/env bash
# Browser test of the built book (and of the experiment reports in OUTPUT/experiments/): headless
# Chromium loads every page from file:// and fails when
# KaTeX reports an error, maths stays untypeset, a page is blank, a script throws, or a local
# asset is missing. Installs nothing (CI installs `chromium`). Usage: .ci/browser-test.sh OUTPUT_DIR
# Screenshots of one chapter page go to $SCREENSHOT_DIR (default /tmp/rnnbook-screens).
set -euo pipefail

out="${1:?usage: .ci/browser-test.sh OUTPUT_DIR}"
[[ -f "$out/index.html" ]] || { echo "browser-test: $out/index.html not found; build the book first" >&2; exit 2; }
out="$(cd "$out" && pwd)"
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[[ -n "$browser" ]] || { echo "browser-test: chromium not found; install the Debian package chromium" >&2; exit 2; }
shots="${SCREENSHOT_DIR:-/tmp/rnnbook-screens}"
mkdir -p "$shots"
profile="$(mktemp -d)"
work="$(mktemp -d)"
trap 'rm -rf "$profile" "$work"' EXIT

chrome() {
    timeout 90 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --user-data-dir="$profile" --enable-logging=stderr --v=0 --virtual-time-budget=5000 "$@"
}

failures=0
links=0
fail() { echo "FAIL $1: $2" >&2; failures=$((failures + 1)); }
pages=0

while IFS= read -r -d '' page; do
    pages=$((pages + 1))
    before=$failures
    rel="${page#"$out"/}"
    dom="$work/dom.html"; log="$work/log.txt"
    if ! chrome --dump-dom "file://$page" >"$dom" 2>"$log"; then
        fail "$rel" "chromium exited with an error"; sed 's/^/    /' "$log" | tail -5 >&2; continue
    fi
    # A blank page: almost no text in <body> after scripts ran.
    text="$(sed -e 's/<[^>]*>//g' "$dom" | tr -s '[:space:]' ' ')"
    (( ${#text} > 80 )) || fail "$rel" "page is blank (${#text} characters of text)"
    if grep -q 'katex-error' "$dom"; then
        fail "$rel" "KaTeX reported an error:"
        grep -o 'class="katex-error"[^>]*>[^<]*' "$dom" | head -3 | sed 's/^/    /' >&2
    fi
    # Every maths element must have been typeset: none may still hold its \( or \[ source.
    if grep -q 'class="math ' "$page"; then
        grep -q 'class="katex"' "$dom" || fail "$rel" "KaTeX did not render (no .katex elements; did katex.min.js load?)"
        if grep -qE 'class="math (inline|display)"( id="[^"]*")?>\\[[(]' "$dom"; then
            fail "$rel" "maths left untypeset: $(grep -oE 'class="math (inline|display)"( id="[^"]*")?>\\[[(][^<]{0,60}' "$dom" | head -1)"
        fi
    fi
    # Script errors and resources the browser could not load.
    if grep -E 'Uncaught|ERR_FILE_NOT_FOUND|Failed to load resource|net::ERR_' "$log" >"$work/errs"; then
        fail "$rel" "browser console:"; head -5 "$work/errs" | sed 's/^/    /' >&2
    fi
    # Every local href/src exists (the browser only reports what it fetched), and every #fragment
    # (cross-references, citations, section links) names an id on its target page.
    dir="$(dirname "$page")"
    while IFS= read -r raw; do
        ref="${raw%%#*}"; ref="${ref%%\?*}"
        [[ "$raw" == *://* || "$raw" == data:* || "$raw" == mailto:* ]] && continue
        target="$page"
        if [[ -n "$ref" ]]; then
            target="$dir/$(printf '%b' "${ref//%/\\x}")"
            [[ -e "$target" ]] || { fail "$rel" "missing local file: $ref"; continue; }
        fi
        if [[ "$raw" == *#* && "$target" == *.html ]]; then
            fragment="${raw#*#}"
            [[ -z "$fragment" ]] && continue
            grep -qF " id=\"$fragment\"" "$target" || fail "$rel" "link $raw: no id \"$fragment\" in $(basename "$target")"
            links=$((links + 1))
        fi
    done < <(grep -oE '(href|src)="[^"]*"' "$page" | sed -E 's/^(href|src)="(.*)"$/\2/' | sed 's/&amp;/\&/g')
    (( failures == before )) && echo "ok   $rel"
done < <({ find "$out" -maxdepth 1 -name '*.html' -print0; find "$out" -mindepth 2 -maxdepth 3 -path "$out/experiments/*" -name '*.html' -print0; } | sort -z)

(( pages > 1 )) || fail "$out" "expected an index and at least one chapter page, found $pages pages"
echo "ok   $links links to #fragments resolve"

# Search, offline from file://: a query in the address shows results that link into the book.
# SEARCH_PHRASE must occur in the prose of some chapter (default: a phrase of chapter 2).
phrase="${SEARCH_PHRASE:-hidden state}"
[[ -f "$out/search-index.js" ]] || fail search "search-index.js was not written"
for start in index.html "$(cd "$out" && ls [0-9]*.html 2>/dev/null | grep -v last-good | head -1)"; do
    [[ -n "$start" ]] || continue
    dom="$work/search.html"
    chrome --dump-dom "file://$out/$start#search=${phrase// /%20}" >"$dom" 2>"$work/log.txt" || { fail search "chromium failed on $start"; continue; }
    results="$(tr '\n' ' ' <"$dom" | grep -oE '<div id="search-results"[^>]*>.*</ol></div>' | head -1)"
    hits="$(grep -oE '<li><a href="[^"]+"' <<<"$results" | wc -l)"
    if (( hits == 0 )); then
        fail search "$start#search=$phrase shows no results"; continue
    fi
    grep -qi "<mark>${phrase%% *}</mark>" <<<"$results" || fail search "$start: results do not mark '${phrase%% *}'"
    # Each result's link resolves to a page and an id on it.
    while IFS= read -r href; do
        file="${href%%#*}"; fragment="${href#*#}"
        [[ -e "$out/$file" ]] || { fail search "result links to missing $file"; continue; }
        [[ "$href" != *#* ]] || grep -qF " id=\"$fragment\"" "$out/$file" || fail search "result link $href: no such id"
    done < <(grep -oE '<li><a href="[^"]+"' <<<"$results" | sed -E 's/^<li><a href="([^"]+)"$/\1/')
    echo "ok   search from $start: $hits results for '$phrase'"
done

# Screenshots of one chapter page (the largest, or $SCREENSHOT_PAGE) and the index, for a human to look at.
# Desktop, phone and dark mode; --force-dark-mode makes prefers-color-scheme: dark match.
sample="${SCREENSHOT_PAGE:+$out/$SCREENSHOT_PAGE}"
[[ -n "$sample" ]] || sample="$(find "$out" -maxdepth 1 -name '*.html' ! -name index.html -printf '%s %p\n' | sort -rn | head -1 | cut -d' ' -f2-)"
if [[ -n "$sample" ]]; then
    name="$(basename "$sample" .html)"
    chrome --hide-scrollbars --window-size=1200,1600 --screenshot="$shots/$name.png" "file://$sample" >/dev/null 2>&1 || true
    chrome --hide-scrollbars --window-size=390,1400 --screenshot="$shots/$name-phone.png" "file://$sample" >/dev/null 2>&1 || true
    chrome --hide-scrollbars --window-size=1200,1600 --force-dark-mode --screenshot="$shots/$name-dark.png" "file://$sample" >/dev/null 2>&1 || true
    chrome --hide-scrollbars --window-size=1200,900 --screenshot="$shots/index.png" "file://$out/index.html" >/dev/null 2>&1 || true
    chrome --hide-scrollbars --window-size=1200,900 --screenshot="$shots/search.png" "file://$out/index.html#search=${phrase// /%20}" >/dev/null 2>&1 || true
    echo "screenshots in $shots"
fi

if (( failures > 0 )); then echo "browser-test: $failures problem(s) in $pages pages" >&2; exit 1; fi
echo "browser-test: $pages pages rendered cleanly"
