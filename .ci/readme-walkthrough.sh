#!/usr/bin/env bash
# Follows README.md as a newcomer would: runs every command of its ```sh blocks from "## Build the
# book" up to "## Run the tests", in order and as written, and checks that each exits as the README
# says: 0, or N where the command's comment says "exits N". `rnnbook serve` runs until stopped, so
# it is left to .ci/serve-test.sh. Run it last: the README's own `clean` empties output/.
# Usage: readme-walkthrough.sh [--list] [README]: --list prints each command's expected status
# and the command, and runs nothing.
set -uo pipefail
list=0
if [[ "${1:-}" == "--list" ]]; then list=1; shift; fi
readme=$(realpath "${1:-$(dirname "$0")/../README.md}")
cd "$(dirname "$0")/.."
commands=$(awk '
    /^## Build the book/ { inside = 1; next }
    /^## Run the tests/ { exit }
    inside && /^```sh$/ { block = 1; next }
    block && /^```$/ { block = 0; next }
    inside && block { print }
' "$readme")
if [[ -z "$commands" ]]; then
    echo "readme-walkthrough: no \`\`\`sh commands between '## Build the book' and '## Run the tests' in README.md" >&2
    exit 1
fi
failed=0 ran=0
while IFS= read -r line; do
    [[ -z "${line// }" ]] && continue
    if [[ "$line" =~ rnnbook\ serve ]]; then echo "skip (runs until stopped; see .ci/serve-test.sh): $line"; continue; fi
    expected=0
    if [[ "$line" =~ exits\ ([0-9]+) ]]; then expected=${BASH_REMATCH[1]}; fi
    if ((list)); then printf '%s\t%s\n' "$expected" "$line"; continue; fi
    echo "+ $line"
    start=$SECONDS
    bash -c "$line" < /dev/null
    status=$?
    ran=$((ran + 1))
    if [[ $status -ne $expected ]]; then
        echo "readme-walkthrough: exited $status, the README says $expected: $line" >&2
        failed=$((failed + 1))
    else
        echo "  exited $status as the README says, in $((SECONDS - start)) s"
    fi
done <<< "$commands"
((list)) && exit 0
echo "readme-walkthrough: $ran commands, $failed not as the README says"
[[ $failed -eq 0 ]]
