#!/usr/bin/env bash
# t_drill_daemon.sh: coffred drills its destinations on its own (drill = 4 s here, weekly by
# default), in a run of its own, and tells (webhook sink, reminder = 3 s):
#  - after the first complete push, a drill of the folder destination passes: status --json
#    has destinations.0.drill.result ok with files and a full-restore estimate; coffre status
#    says "last proven restore" and "full restore from nas: about ...";
#  - a byte flipped in the destination's largest pack: the next drill fails; one start of
#    the "drill" alert naming the destination and the damaged file; status says RESTORE
#    DRILL FAILED; the spool still checks clean;
#  - the damaged pack removed, a backup: the push sends it again, the next drill passes:
#    one end of the alert.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
daemon_setup
hook_sink_start
chmod 600 "$COFFRE_PASSWORD_FILE"
SRC=$TESTDIR/src
gen_data "$SRC" --size tiny --seed 61
# gen_data's grand-livre.db has the SQLite magic but is no database: a real one instead.
rm -f "$SRC/compta/grand-livre.db"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table f(n, t)"); c.executemany("insert into f values (?, ?)", [(i, "facture %d" % i) for i in range(2000)]); c.commit()' "$SRC/compta/grand-livre.db"
NAS=$TESTDIR/nas
expect_exit 0 cf init -q
daemon_conf "$CONF" "daily 03:00" "$SOCK" "$STATE" "[alert]" \
	"webhook-url = http://127.0.0.1:$HP/hook" "language = fr" "shop-name = Boutique test" \
	"reminder = 3 s" "[destination nas]" "url = $NAS" "drill = 4 s" "drill-budget = 64M" \
	-- "$SRC"
"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred's control socket" test -S "$SOCK"
drill_is() {	# RESULT: the last drill of nas, as coffred's status says
	local rc=0
	cf status --json --socket "$SOCK" >"$LOGDIR/st.json" 2>/dev/null || rc=$?
	[ "$rc" -le 1 ] && [ "$(json_try "$LOGDIR/st.json" destinations.0.drill.result)" = "$1" ]
}
count() { hook_count drill "$1" nas; }
at_least() { [ "$(count "$1")" -ge "$2" ]; }

log "the first complete push, then a drill of its own that passes"
expect_exit 0 cf backup --now --socket "$SOCK"
wait_for 60 "a drill that passes" drill_is ok
FILES=$(json_get "$LOGDIR/st.json" destinations.0.drill.files)
EST=$(json_get "$LOGDIR/st.json" destinations.0.drill.full_restore_estimate)
info "drill: $FILES files, full restore estimate $EST s"
[ "$FILES" -gt 0 ] || fail "the drill restored no file"
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)' "$EST" ||
	fail "no full-restore estimate"
grep -q "restore drill of 'nas': ok" "$DLOG" || fail "the log does not say the drill"
expect_exit 0 cf status --socket "$SOCK"
grep -q "last proven restore: " "$OUT" || { cat "$OUT"; fail "status does not show the drill"; }
grep -q "full restore from nas: about " "$OUT" || { cat "$OUT"; fail "no estimate in status"; }

log "a byte flipped in the destination's largest pack: the drill fails, the alert starts"
PACK=$(cd "$NAS" && find data -type f -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-)
flip_byte "$NAS/$PACK"
wait_for 60 "a drill that fails" drill_is failed
wait_for 30 "the start of 'drill'" at_least start 1
/usr/bin/python3 - "$HOOKS" >"$LOGDIR/reason" <<'PY'
import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    d = json.loads(json.loads(l)["body"])
    if d["condition"] == "drill" and d["state"] == "start":
        print(d["severity"], d["details"]["reason"])
PY
cat "$LOGDIR/reason"
grep -q "^critical .*/" "$LOGDIR/reason" || fail "the alert does not name a damaged file"
expect_exit 1 cf status --socket "$SOCK"
grep -q "RESTORE DRILL FAILED" "$OUT" || { cat "$OUT"; fail "status does not say the failure"; }
grep -q "« nas » ne se restaure pas" "$OUT" || { cat "$OUT"; fail "status does not show the alert"; }
expect_exit 0 cf check --read-data

log "the damaged pack removed, a backup: sent again, the next drill passes, the alert ends"
rm "$NAS/$PACK"
echo nouvelle >"$SRC/nouvelle.txt"
expect_exit 0 cf backup --now --socket "$SOCK"
[ -f "$NAS/$PACK" ] || fail "the push did not send the missing pack again"
wait_for 60 "the end of 'drill'" at_least end 1
[ "$(count start)" = 1 ] || fail "$(count start) starts"
[ "$(count end)" = 1 ] || fail "$(count end) ends"
info "drill alert: 1 start, $(count reminder) reminders, 1 end"
pass
