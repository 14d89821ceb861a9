#!/usr/bin/env bash
# t_bench_smoke.sh: the benchmark harness (bench/run) still works end to end. A tiny run
# (--scale small --days 2 --runs 1, a 2,000-file tree) of coffre, restic and borg must write
# results.md and results.json holding a number for every tool and every workload. Asserts nothing
# about speed. Skips (77) without ../shared/bench/make-shop-data, or when restic/borg are missing
# and cannot be installed. Takes about a minute.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

TOP=$(cd "$(dirname "$0")/../.." && pwd)
MSD=${MAKE_SHOP_DATA:-$TOP/../shared/bench/make-shop-data}
[ -f "$MSD" ] || skip "make-shop-data not found at $MSD (the benchmark data generator)"
[ -x /usr/bin/time ] || [ "$(id -u)" = 0 ] || skip "/usr/bin/time is missing"
setup

log "bench/run --scale small --days 2 --runs 1 --many-files 2000"
RC=0
python3 "$TOP/bench/run" --scale small --days 2 --runs 1 --many-files 2000 \
	--coffre "$COFFRE" --make-shop-data "$MSD" \
	--work "$TESTDIR/work" --out "$TESTDIR/out" >"$LOGDIR/bench.log" 2>&1 || RC=$?
if [ "$RC" = 77 ]; then
	tail -n 3 "$LOGDIR/bench.log"
	skip "bench/run could not get its tools (see above)"
fi
if [ "$RC" != 0 ]; then
	tail -n 40 "$LOGDIR/bench.log" >&2
	fail "bench/run exited $RC"
fi
tail -n 1 "$LOGDIR/bench.log" | sed 's/^/   /'

log "results.md and results.json hold a number for every tool and workload"
[ -s "$TESTDIR/out/results.md" ] || fail "no results.md"
[ -s "$TESTDIR/out/results.json" ] || fail "no results.json"
python3 - "$TESTDIR/out/results.json" "$TESTDIR/out/results.md" <<'PY' || fail "incomplete results"
import json, sys

TOOLS = ["coffre", "restic", "borg"]
WORKLOADS = ["initial", "daily", "nochange", "restore_full", "restore_one", "check",
             "many_initial", "many_nochange", "many_10changed"]
bad = []

def num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x

res = json.load(open(sys.argv[1]))
for w in WORKLOADS:
    tools = res["workloads"].get(w, {}).get("tools", {})
    for t in TOOLS:
        f = tools.get(t, {})
        for k in ("wall", "cpu", "rss_kib"):
            if not num(f.get(k)):
                bad.append("results.json: %s/%s: %s is %r" % (w, t, k, f.get(k)))
        if w in ("initial", "many_initial") and not num(f.get("repo_bytes")):
            bad.append("results.json: %s/%s: no repo_bytes" % (w, t))
        if w in ("daily", "nochange", "many_10changed") and not num(f.get("bytes_added")):
            bad.append("results.json: %s/%s: no bytes_added" % (w, t))
days = res["daily"].get("daily", {}).get("days", [])
if len(days) != 2:
    bad.append("results.json: %d daily rows, expected 2" % len(days))
for d in days:
    if not num(d.get("written")) or d["written"] <= 0:
        bad.append("results.json: day %s: no bytes written" % d.get("day"))
    for t in TOOLS:
        if not num(d["tools"].get(t, {}).get("bytes_added")):
            bad.append("results.json: day %s: no bytes added for %s" % (d.get("day"), t))
for k in ("read", "tar_zstd", "b2sum"):
    if not num(res["limits"].get(k, {}).get("wall")):
        bad.append("results.json: no physical limit %s" % k)
if not res["targets"] or any(not num(t["value"]) for t in res["targets"]):
    bad.append("results.json: targets missing or without a value")

# results.md: the Figures table has a wall-time row for every workload, with a number for
# every tool and both ratios.
md = open(sys.argv[2]).read()
walls = 0
for line in md.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 7 and cells[1].startswith("wall s"):
        walls += 1
        for c in cells[2:]:
            try:
                float(c)
            except ValueError:
                bad.append("results.md: %r in row %r" % (c, line))
if walls != len(WORKLOADS):
    bad.append("results.md: %d wall-time rows, expected %d" % (walls, len(WORKLOADS)))
for s in ("load average", "Per day", "Physical limits", "Targets"):
    if s not in md:
        bad.append("results.md: no %r section" % s)
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
info "$(grep -c '' "$TESTDIR/out/results.md") lines in results.md"
pass
