#!/usr/bin/env bash
# t_daemon_sigterm.sh: SIGTERM in the middle of a backup (200 MB of random data, so the
# start-up backup takes seconds): coffred exits within 5 s, `coffre check` passes, and the
# next daemon start completes a backup whose snapshot restores identical to the tree.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

COFFRED=${COFFRED:-$(dirname "$COFFRE")/../agent/daemon/coffred}
[ -x "$COFFRED" ] || skip "no coffred binary next to $COFFRE (set COFFRED=)"
SRC=$TESTDIR/src
STATE=$TESTDIR/state
SOCK=$TESTDIR/run/coffred.sock
CONF=$TESTDIR/coffre.conf
ST=$LOGDIR/status.json
chmod 600 "$COFFRE_PASSWORD_FILE"

expect_exit 0 cf init
mkdir -p "$SRC/a" "$SRC/b"
for i in 1 2 3 4; do head -c 50M /dev/urandom >"$SRC/$([ $i -le 2 ] && echo a || echo b)/r$i.bin"; done
echo small >"$SRC/a/small.txt"
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

log "start coffred; SIGTERM once the start-up backup has read some data"
"$COFFRED" --config "$CONF" 2>"$LOGDIR/coffred.1.log" &
DPID=$!
BG_PIDS+=("$DPID")
# (grep, not python: SIGTERM must come while the backup runs)
reading() {
	cf status --json --socket "$SOCK" >"$ST" 2>/dev/null &&
		grep -q '"state": "running"' "$ST" && grep -q '"bytes_read": [1-9]' "$ST"
}
seen=0
WAIT_POLL=0.02 wait_until 60 reading && seen=1
t0=$(date +%s.%N)
kill -TERM "$DPID"
[ "$seen" = 1 ] || { cat "$LOGDIR/coffred.1.log" >&2; fail "never saw the backup running"; }
info "SIGTERM sent with $(json_get "$ST" running.bytes_read) bytes read"
wait_until 5 gone "$DPID" || fail "coffred still running 5 s after SIGTERM"
rc=0
wait "$DPID" || rc=$?
[ "$rc" = 0 ] || fail "coffred exited with $rc"
info "stopped in $(python3 -c "import time; print(round(time.time() - $t0, 2))") s"
grep -q "stopping" "$LOGDIR/coffred.1.log" || fail "no stop logged"
grep -q "backup #1 ok" "$LOGDIR/coffred.1.log" && fail "the backup finished before SIGTERM: the data is too small"
[ -e "$SOCK" ] && fail "socket left behind"

log "coffre check on the interrupted repository"
expect_exit 0 cf check
expect_exit 0 cf --json snapshots
info "snapshots after the interruption: $(json_get "$OUT" "" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"

log "restart: the next backup completes"
"$COFFRED" --config "$CONF" 2>"$LOGDIR/coffred.2.log" &
DPID=$!
BG_PIDS+=("$DPID")
ended() {
	kill -0 "$DPID" 2>/dev/null || { cat "$LOGDIR/coffred.2.log" >&2; fail "coffred died"; }
	cf status --json --socket "$SOCK" >"$ST" 2>/dev/null &&
		[ "$(json_try "$ST" last_backup.run)" = 1 ] && [ "$(json_try "$ST" state)" = idle ]
}
wait_until 120 ended || { cat "$LOGDIR/coffred.2.log" >&2; fail "no backup ended within 120 s of the restart"; }
[ "$(json_get "$ST" last_backup.result)" = ok ] || fail "the backup after the restart is $(json_get "$ST" last_backup.result): $(json_get "$ST" last_backup.error)"
expect_exit 0 cf restore latest --target "$TESTDIR/restore"
compare_trees "$SRC" "$TESTDIR/restore$SRC"
expect_exit 0 cf check
kill -TERM "$DPID"
wait "$DPID" || fail "coffred exited with $?"
pass
