#!/usr/bin/env bash
# t_drill_daemon_full.sh: a shop whose accounting database is larger than the drill budget
# (drill-budget = 256K, the database about 1.5 MB; drill = 3 s here):
#  - coffred's first drill is a budgeted one: it cannot hold the database, says so in its
#    report and its state (destinations.0.drill.databases_too_big = 1);
#  - the next drill is a full one (the log says why), which restores and checks the database
#    whole (full_time set);
#  - the drill after that is a budgeted one again: a full drill comes at most once a month.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
daemon_setup
chmod 600 "$COFFRE_PASSWORD_FILE"
SRC=$TESTDIR/src
gen_data "$SRC" --size tiny --seed 62
rm -f "$SRC/compta/grand-livre.db"
python3 -c 'import os,sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table f(n, t)"); c.executemany("insert into f values (?, ?)", [(i, os.urandom(60).hex()) for i in range(12000)]); c.commit()' "$SRC/compta/grand-livre.db"
NAS=$TESTDIR/nas
expect_exit 0 cf init -q
daemon_conf "$CONF" "daily 03:00" "$SOCK" "$STATE" "[destination nas]" "url = $NAS" \
	"drill = 3 s" "drill-budget = 256K" -- "$SRC"
"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred's control socket" test -S "$SOCK"
drills() { grep -c "restore drill of 'nas': ok" "$DLOG" || true; }
drills_at_least() { [ "$(drills)" -ge "$1" ]; }
state() {
	local rc=0
	cf status --json --socket "$SOCK" >"$LOGDIR/st.json" 2>/dev/null || rc=$?
	[ "$rc" -le 1 ] || fail "status exited $rc"
	json_get "$LOGDIR/st.json" "destinations.0.drill.$1"
}

log "the first drill: budgeted, the database does not fit"
expect_exit 0 cf backup --now --socket "$SOCK"
# The log says a drill ended before the run's report reaches coffred's state: wait for both.
state_is() { [ "$(state "$1")" = "$2" ]; }
wait_for 60 "the first drill" drills_at_least 1
wait_for 30 "the state saying the database did not fit" state_is databases_too_big 1
[ "$(drills)" -ge 2 ] || [ "$(state full_time)" = null ] || fail "a full drill is recorded already"

log "the next drill: in full, the database restored and checked whole; the one after: budgeted"
wait_for 90 "three drills" drills_at_least 3
state_not() { [ "$(state "$1")" != "$2" ]; }
wait_for 30 "the full drill in the state" state_not full_time null
[ "$(state databases_too_big)" = 1 ] || fail "the full drill forgot the budget's verdict ($(state databases_too_big))"
expect_exit 0 cf --json snapshots
TOTAL=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))[-1]["summary"]; print(s["files_new"] + s["files_changed"] + s["files_unchanged"])' "$OUT")
# The drills in the order of the log (the state only holds the last one, and drills follow
# each other every 3 s): "full files" for each.
python3 - "$DLOG" >"$LOGDIR/drills" <<'PY'
import re, sys
full = None
for l in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if re.search(r"restore drill of 'nas' \(.*\) started", l):
        full = "in full" in l
    m = re.search(r"restore drill of 'nas': ok: (\d+) files", l)
    if m and full is not None:
        print(int(full), m.group(1))
        full = None
PY
cat "$LOGDIR/drills"
read -r F1 N1 < <(sed -n 1p "$LOGDIR/drills")
read -r F2 N2 < <(sed -n 2p "$LOGDIR/drills")
read -r F3 N3 < <(sed -n 3p "$LOGDIR/drills")
[ "$F1" = 0 ] || fail "the first drill was a full one"
[ "$F2" = 1 ] || { cat "$DLOG"; fail "the second drill was not a full one"; }
[ "$N2" = "$TOTAL" ] || fail "the full drill restored $N2 files of the snapshot's $TOTAL"
[ "$F3" = 0 ] || fail "the third drill was a full one again"
[ "$N3" -lt "$TOTAL" ] || fail "the third drill restored every file: not a budgeted one"
[ "$(grep -c "started, in full" "$DLOG")" = 1 ] || fail "more than one full drill"
info "full drill: $N2 files; budgeted drills before and after it: $N1 and $N3 files"
pass
