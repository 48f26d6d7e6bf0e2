#!/usr/bin/env bash
# Prints the command of README.md's first ```sh block after the heading that starts with "$1"
# (e.g. "## Run the tests"), so that .ci/run runs the README's commands as written and they
# cannot drift apart. Fails when the heading or its block is missing, or the block is not one line.
set -euo pipefail
heading="$1"
readme="$(dirname "$0")/../README.md"
block=$(awk -v h="$heading" '
    index($0, h) == 1 { found = 1; next }
    found && /^## / { exit }
    found && /^```sh$/ { inblock = 1; next }
    inblock && /^```$/ { exit }
    inblock { print }
' "$readme")
if [[ -z "$block" ]]; then
    echo "readme-command: no \`\`\`sh block under a heading starting with '$heading' in README.md" >&2
    exit 1
fi
if [[ $(printf '%s\n' "$block" | wc -l) -ne 1 ]]; then
    echo "readme-command: the block under '$heading' should be one command, found:" >&2
    printf '%s\n' "$block" >&2
    exit 1
fi
printf '%s\n' "$block"
