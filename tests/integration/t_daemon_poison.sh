#!/usr/bin/env bash
# t_daemon_poison.sh: a file the run's process dies on twice in a row is left out of the next
# backups, with a warning naming it, until it changes.
#  - the run's process gets SIGSEGV while status says it reads big.img (a large sparse file):
#    twice in a row; the third run leaves big.img out: partial, the warning names it;
#  - a restart remembers (STATE_DIR/poison.json);
#  - big.img touched (another mtime): the next run reads it again and is ok.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
COFFRED=${COFFRED:-$(dirname "$COFFRE")/../agent/daemon/coffred}
[ -x "$COFFRED" ] || skip "no coffred binary next to $COFFRE (set COFFRED=)"
SRC=$TESTDIR/src
STATE=$TESTDIR/state
SOCK=$TESTDIR/run/coffred.sock
CONF=$TESTDIR/coffre.conf
ST=$LOGDIR/status.json
BIG=$SRC/big.img
chmod 600 "$COFFRE_PASSWORD_FILE"

expect_exit 0 cf init
mkdir -p "$SRC/docs"
gen_data "$SRC/docs" --size tiny --seed 5
truncate -s 3G "$BIG"
cat >"$CONF" <<CONF
[backup]
path = $SRC
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
schedule = after-change 1s
[daemon]
socket = $SOCK
state-dir = $STATE
CONF

n=0
start_daemon() {
	n=$((n + 1))
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0 COFFRED_RETRY_DELAY=1 \
		"$COFFRED" --config "$CONF" 2>"$LOGDIR/coffred.$n.log" &
	DPID=$!
	BG_PIDS+=("$DPID")
}
alive() {
	kill -0 "$DPID" 2>/dev/null || { cat "$LOGDIR/coffred.$n.log" >&2; fail "coffred died"; }
}
child() { cat "/proc/$DPID/task/$DPID/children" 2>/dev/null | tr -d ' '; }
status() { cf status --json --socket "$SOCK" >"$ST" 2>/dev/null || [ -s "$ST" ]; }
# reading_big N: run N's process is reading big.img.
reading_big() {
	alive
	status && [ "$(json_try "$ST" running.run)" = "$1" ] &&
		[ "$(json_try "$ST" running.current)" = "$BIG" ] && [ -n "$(child)" ]
}
# run_ended N: run N or a later one is the last (a retry follows a failed run at once).
run_ended() {
	alive
	status && [ "$(json_try "$ST" last_backup.run)" != "?" ] &&
		[ "$(json_try "$ST" last_backup.run)" -ge "$1" ]
}

start_daemon
for run in 1 2; do
	log "run $run: SIGSEGV to its process while it reads big.img"
	WAIT_POLL=0.02 wait_until 60 reading_big $run || fail "never saw run $run reading big.img"
	kill -SEGV "$(child)"
	wait_until 30 run_ended $run || fail "run $run was not recorded within 30 s"
done
cf log --json --state-dir "$STATE" >"$LOGDIR/log.json" || fail "coffre log failed"
for i in 0 1; do
	[ "$(json_get "$LOGDIR/log.json" $i.message)" = "the backup process crashed (signal 11)" ] ||
		fail "run $((i + 1)): $(json_get "$LOGDIR/log.json" $i.result): $(json_get "$LOGDIR/log.json" $i.message)"
done
grep -q "the backup process died while reading '$BIG'" "$LOGDIR/coffred.1.log" ||
	fail "the first crash does not name big.img"
grep -q "'$BIG': the backup process died twice in a row while reading it" "$LOGDIR/coffred.1.log" ||
	fail "the second crash does not say big.img is left out"

log "run 3 leaves big.img out: partial, the warning names it"
wait_until 60 run_ended 3 || fail "run 3 did not end within 60 s"
[ "$(json_get "$ST" last_backup.result)" = partial ] ||
	fail "run 3 is $(json_get "$ST" last_backup.result): $(json_get "$ST" last_backup.error)"
grep -q "$BIG: left out: the backup process died twice in a row" <<<"$(json_get "$ST" last_backup.warning_messages)" ||
	fail "run 3's warnings do not name big.img: $(json_get "$ST" last_backup.warning_messages)"
expect_exit 0 cf ls latest
grep -q "docs" "$OUT" || fail "run 3's snapshot lacks docs"
grep -q "big.img" "$OUT" && fail "run 3's snapshot holds big.img"

log "a restart remembers"
kill -TERM "$DPID"
wait "$DPID" || fail "coffred exited with $?"
start_daemon
wait_until 30 test -S "$SOCK" || fail "coffred did not restart"
expect_exit 3 cf backup --now --socket "$SOCK"
grep -q "big.img" "$OUT" || { cat "$OUT"; fail "backup --now does not name big.img"; }

log "big.img changes: read again, the run is ok"
touch "$BIG"
expect_exit 0 cf backup --now --socket "$SOCK"
grep -q "backed up again" "$LOGDIR/coffred.$n.log" || fail "the change is not logged"
expect_exit 0 cf ls latest
grep -q "big.img" "$OUT" || fail "the last snapshot lacks big.img"
kill -TERM "$DPID"
wait "$DPID" || fail "coffred exited with $?"
pass
