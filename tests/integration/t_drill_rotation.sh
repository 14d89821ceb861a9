#!/usr/bin/env bash
# t_drill_rotation.sh: drills of a folder destination holding one snapshot of a small shop,
# with a budget of 512 KiB, one after the other until every file of the snapshot has been
# restored by one of them. The shop's till keeps a ticket a sale in one folder (3,000 of them:
# its folder node, over 256 KiB, is a frame of its own that a drill's reader does not keep):
#  - each drill chooses within the budget (bytes_selected <= budget: the frames of the
#    chosen files and of their chunk lists), and fetches no more than that, the metadata it
#    reads before the restore (keys, snapshots, index, trees: bytes_metadata) and what the
#    restore reads again (trees on its way, frames its reader let go and needs again:
#    bytes_fetched - bytes_metadata - bytes_selected, printed, held under 64 KiB; the nodes
#    read before the restore are kept, so it is 0 or less here, where each of the restore's
#    three walks once fetched the tickets' folder again);
#  - the rotation covers every file of the snapshot within N drills (N printed; held under
#    the bound that the stored size and the budget give);
#  - the state file keeps the cursor from one drill to the next.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/drill.sh"
drill_setup
BUDGET=524288
drill_nas 55 "drill-budget = 512K"
log "the till's tickets, one file a sale, in one folder"
python3 - "$SRC/caisse/tickets" <<'PY' || fail "cannot write the tickets"
import os, sys
d = sys.argv[1]
os.makedirs(d)
for i in range(3000):
    with open(os.path.join(d, "ticket-2026-%06d.txt" % i), "w") as f:
        f.write("Ticket %d\nBaguette x%d\nTotal %d,%02d EUR\n" % (i, i % 7 + 1, i % 40, i % 100))
PY
expect_exit 0 cf backup "$SRC" -q
expect_exit 0 cf push --config "$CONF"
STORED=$(du -sb "$NAS/data" | cut -f1)
# Each drill's rotation gets the budget less the database (chosen every time, when it fits),
# so the files take about STORED / (BUDGET - database) drills; twice that, and two more, bound N.
MAXN=$((2 * STORED / (BUDGET / 2) + 2))
info "the destination stores $STORED bytes of packs; N is held under $MAXN"

n=0
covered=0
while [ $n -lt "$MAXN" ]; do
	n=$((n + 1))
	expect_exit 0 cf --json drill --config "$CONF" --list
	cp "$OUT" "$LOGDIR/drill.$n.json"
	rc=0
	python3 - "$LOGDIR" "$n" "$SRC" "$BUDGET" <<'PY' || rc=$?
import json, os, sys
logdir, n, src, budget = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
r = json.load(open(os.path.join(logdir, "drill.%d.json" % n)))[0]
assert r["ok"] and not r["failures"], r["failures"]
over = r["bytes_fetched"] - r["bytes_metadata"] - r["bytes_selected"]
print("   drill %d: %d files, %d selected, %d fetched (%d metadata, %d read again), %s" % (
    n, r["files"], r["bytes_selected"], r["bytes_fetched"], r["bytes_metadata"], over,
    "; ".join(w[:60] for w in r["warnings"]) or "no warning"))
if r["bytes_selected"] > budget:
    sys.exit("over the budget: %d selected" % r["bytes_selected"])
if over > 65536:
    sys.exit("the restore read %d bytes beyond the metadata and what was chosen" % over)
# The snapshot's files, named as the report names them (bad UTF-8 bytes as '?').
def shown(p):
    b = os.fsencode(p)
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(chr(c) if c < 0x80 else "?" for c in b)
files = set()
for dp, dns, fns in os.walk(src):
    for f in fns:
        p = os.path.join(dp, f)
        if os.path.isfile(p) and not os.path.islink(p):
            files.add(shown(p))
assert r["snapshot_files"] == len(files), (r["snapshot_files"], len(files))
seen = set()
for k in range(1, n + 1):
    seen |= set(json.load(open(os.path.join(logdir, "drill.%d.json" % k)))[0]["drilled"])
left = files - seen
print("   %d of %d files covered so far" % (len(files) - len(left), len(files)))
sys.exit(2 if left else 0)
PY
	[ "$rc" = 0 ] || [ "$rc" = 2 ] || fail "drill $n: see above"
	cursor=$(json_get "$(ls "$STATE"/drill/*.json)" cursor)
	[ "$cursor" != "${last_cursor:-}" ] || fail "drill $n: the cursor did not move ($cursor)"
	last_cursor=$cursor
	if [ "$rc" = 0 ]; then
		covered=1
		break
	fi
done
[ "$covered" = 1 ] || fail "$MAXN drills did not cover every file"
info "every file of the snapshot covered in N = $n drills"
pass
