#!/usr/bin/env bash
# t_alert_life.sh: the shop's conditions that come from coffred's own life, provoked for real
# and told at a webhook sink (reminder = 3 s), the clock moved by the test clock
# (COFFRED_TEST_CLOCK: seconds ahead of the real one):
#  - two failed backups, coffred killed (kill -9) and started again: "restarted" opens (its
#    reason names the pid), and the third failure opens "failed" (the run of failures
#    survives the restart); the repository back: one end of "failed";
#  - a configuration with an error, then SIGHUP: "config" opens with the problem; mended and
#    SIGHUP again: one end; an hour on the clock later: one end of "restarted";
#  - "unprotected" with the default 36 h: nothing 35 h after the last good backup; coffred
#    stopped, the clock at 37 h, started: it opens at once (judged at start); the clock back:
#    one end;
#  - each: exactly one start, at least one reminder, exactly one end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
daemon_setup
hook_sink_start
CLOCK=$TESTDIR/clock
echo 0 >"$CLOCK"
export COFFRED_TEST_CLOCK=$CLOCK
chmod 600 "$COFFRE_PASSWORD_FILE"
mkdir -p "$TESTDIR/src"
echo facture >"$TESTDIR/src/f.txt"
expect_exit 0 cf init -q
daemon_conf "$CONF" "daily 03:00" "$SOCK" "$STATE" "[alert]" \
	"webhook-url = http://127.0.0.1:$HP/hook" "language = fr" "shop-name = Boutique test" \
	"reminder = 3 s" -- "$TESTDIR/src"
cp "$CONF" "$TESTDIR/good.conf"
start_daemon() {
	COFFRED_RETRY_DELAY=3600 "$COFFRED" --config "$CONF" 2>>"$DLOG" &
	DPID=$!
	BG_PIDS+=("$DPID")
	wait_for 30 "coffred's control socket" answers
}
answers() {	# coffred serves its socket (status exits 1 or 5 while a condition is open)
	local rc=0
	cf status --socket "$SOCK" >/dev/null 2>&1 || rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 1 ] || [ "$rc" = 5 ]
}
count() { hook_count "$1" "$2"; }
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }
once() {	# COND: exactly one start and one end, a reminder or more
	[ "$(count "$1" start)" = 1 ] || fail "$1: $(count "$1" start) starts"
	[ "$(count "$1" end)" = 1 ] || fail "$1: $(count "$1" end) ends"
	[ "$(count "$1" reminder)" -ge 1 ] || fail "$1: no reminder"
	info "$1: 1 start, $(count "$1" reminder) reminders, 1 end"
}
start_daemon
expect_exit 0 cf backup --now --socket "$SOCK"

log "two failures, kill -9, started again: 'restarted'; the third failure: 'failed'"
mv "$COFFRE_REPOSITORY" "$TESTDIR/repo.away"
expect_exit 1 cf backup --now --socket "$SOCK"
expect_exit 1 cf backup --now --socket "$SOCK"
[ "$(count failed start)" = 0 ] || fail "'failed' opened after two failures"
kill -9 "$DPID"
wait "$DPID" 2>/dev/null || true
start_daemon
wait_for 30 "the start of 'restarted'" at_least restarted start 1
expect_exit 1 cf backup --now --socket "$SOCK"
wait_for 30 "the start of 'failed'" at_least failed start 1
wait_for 30 "a reminder of 'failed'" at_least failed reminder 1
/usr/bin/python3 - "$HOOKS" >"$LOGDIR/reason" <<'PY'
import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    d = json.loads(json.loads(l)["body"])
    if d["condition"] == "restarted" and d["state"] == "start":
        print(d["details"]["reason"])
PY
grep -q "ended without stopping cleanly" "$LOGDIR/reason" || fail "the restart's reason: $(cat "$LOGDIR/reason")"
mv "$TESTDIR/repo.away" "$COFFRE_REPOSITORY"
expect_exit 0 cf backup --now --socket "$SOCK"
wait_for 30 "the end of 'failed'" at_least failed end 1

log "a configuration with an error, SIGHUP: 'config'; mended: its end"
echo "keep-daily = many" >>"$CONF"
daemon_hup
wait_for 30 "the start of 'config'" at_least config start 1
wait_for 30 "a reminder of 'config'" at_least config reminder 1
expect_exit 1 cf status --socket "$SOCK"
grep -q "Configuration de coffre refusée" "$OUT" || { cat "$OUT"; fail "status does not show it"; }
cp "$TESTDIR/good.conf" "$CONF"
daemon_hup
wait_for 30 "the end of 'config'" at_least config end 1

log "an hour later on the clock: the end of 'restarted'"
echo 3700 >"$CLOCK"
daemon_hup
wait_for 30 "the end of 'restarted'" at_least restarted end 1

log "35 h after the last good backup: nothing; stopped, 37 h, started: 'unprotected' at once"
echo $((35 * 3600)) >"$CLOCK"
daemon_hup
expect_exit 0 cf status --json --socket "$SOCK"
[ "$(json_get "$OUT" alerts)" = "[]" ] || fail "a condition is open at 35 h: $(json_get "$OUT" alerts)"
[ "$(count unprotected start)" = 0 ] || fail "'unprotected' opened at 35 h"
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null || true
echo $((37 * 3600)) >"$CLOCK"
start_daemon
wait_for 30 "the start of 'unprotected'" at_least unprotected start 1
wait_for 30 "a reminder of 'unprotected'" at_least unprotected reminder 1
[ "$(count restarted start)" = 1 ] || fail "a clean stop counted as a crash"
echo 0 >"$CLOCK"
daemon_hup
wait_for 30 "the end of 'unprotected'" at_least unprotected end 1
expect_exit 0 cf status --socket "$SOCK"
for c in restarted failed config unprotected; do
	once "$c"
done
pass
