#!/usr/bin/env bash
# --executor slurm on a real Slurm: starts a one-node cluster on this machine
# (scripts/slurm-one-node.sh), runs a two-point grid and a two-submission grade as Slurm job
# arrays, and checks that they give what the local executor gives (the same metrics, bit for bit;
# the same verdicts).
set -euo pipefail
rnnbook="$1"
profile="${2:-quick}"
bash scripts/slurm-one-node.sh start
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# A grid of two points on chapter 1 (lr, a double param: it must reach the nodes as one), on
# Slurm, then locally (--force: computed again, not read from the cache the Slurm run filled).
start=$(date +%s.%N)
"$rnnbook" build chapters/01-mlp.md --profile "$profile" --set lr=0.5,1 --experiment ci-slurm --executor slurm
slurm_end=$(date +%s.%N)
"$rnnbook" build chapters/01-mlp.md --profile "$profile" --set lr=0.5,1 --experiment ci-local --force
local_end=$(date +%s.%N)
python3 - output/experiments/ci-slurm/report.json output/experiments/ci-local/report.json <<'PY'
import json, sys
slurm, local = (json.load(open(p)) for p in sys.argv[1:3])
a, b = slurm["chapters"][0]["points"], local["chapters"][0]["points"]
assert len(a) == 2 == len(b), (len(a), len(b))
for p, q in zip(a, b):
    assert p["state"] == q["state"] == "completed", (p["state"], q["state"], p.get("failures"), p.get("reason"))
    assert p["run"]["metrics"] == q["run"]["metrics"], (p["values"], p["run"]["metrics"], q["run"]["metrics"])
    assert not q["run"]["cached"], "the local run came from the cache"
print("slurm grid: %d points, metrics equal to the local executor's" % len(a))
PY
echo "slurm grid: $(python3 -c "print(round($slurm_end - $start, 1))") s on Slurm, $(python3 -c "print(round($local_end - $slurm_end, 1))") s locally (forced)"

# Two submissions of chapter 1's exercises (the unfilled template, twice): the same verdicts on
# Slurm as locally.
chapter=chapters/01-mlp.md
"$rnnbook" grade "$chapter" --template > "$dir/alice.md"
cp "$dir/alice.md" "$dir/bob.md"
for executor in slurm local; do
    status=0
    "$rnnbook" grade "$chapter" --profile "$profile" --submission "$dir/alice.md" --submission "$dir/bob.md" --json \
        --executor "$executor" > "$dir/$executor.json" 2> "$dir/$executor.err" || status=$?
    if [ "$status" -ne 1 ]; then echo "grade --executor $executor: exit $status, expected 1 (unfilled templates)"; cat "$dir/$executor.err"; exit 1; fi
done
python3 - "$dir/slurm.json" "$dir/local.json" <<'PY'
import json, sys
def strip(x):
    if isinstance(x, dict): return {k: strip(v) for k, v in x.items() if "second" not in k.lower()}
    if isinstance(x, list): return [strip(v) for v in x]
    return x
slurm, local = (strip(json.load(open(p))) for p in sys.argv[1:3])
assert slurm == local, "grade verdicts differ between Slurm and local"
print("slurm grade: two submissions, verdicts equal to the local executor's")
PY
