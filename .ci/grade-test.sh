#!/usr/bin/env bash
# `rnnbook grade` on the real chapters, in its sandbox: every exercise's reference solution must
# pass its own checks there (with only what the sandbox lets it see), and a submission made from
# the unfilled template must fail at its first `todo()`, located in the submission file.
set -euo pipefail
rnnbook="$1"
profile="${2:-quick}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for chapter in chapters/[0-9]*.md; do
    grep -q '```swift solution' "$chapter" || continue
    name=$(basename "$chapter" .md)
    "$rnnbook" grade "$chapter" --template > "$dir/$name.md"
    status=0
    "$rnnbook" grade "$chapter" --profile "$profile" --submission "$dir/$name.md" -j 2 > "$dir/$name.out" 2> "$dir/$name.err" || status=$?
    if [ "$status" -ne 1 ] || grep -q "does not pass its own checks" "$dir/$name.out" || ! grep -q "not filled in yet" "$dir/$name.out"; then
        echo "grade $chapter (exit $status):"; cat "$dir/$name.out" "$dir/$name.err"; exit 1
    fi
    echo "grade $chapter: $(grep '^reference solutions' "$dir/$name.out")"
done
