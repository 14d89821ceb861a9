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
seen=0
for i in $(seq 1 300); do
	# (grep, not python: SIGTERM must come while the backup runs)
	if cf status --json --socket "$SOCK" >"$ST" 2>/dev/null &&
		grep -q '"state": "running"' "$ST" &&
		grep -q '"bytes_read": [1-9]' "$ST"; then
		seen=1
		break
	fi
	sleep 0.02
done
t0=$(date +%s.%N)
kill -TERM "$DPID"
[ "$seen" = 1 ] || { cat "$LOGDIR/coffred.1.log" >&2; fail "never saw the backup running"; }
info "SIGTERM sent with $(json_get "$ST" running.bytes_read) bytes read"
for i in $(seq 1 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$DPID" 2>/dev/null && fail "coffred still running 5 s after SIGTERM"
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
ok=0
for i in $(seq 1 200); do
	kill -0 "$DPID" 2>/dev/null || { cat "$LOGDIR/coffred.2.log" >&2; fail "coffred died"; }
	if cf status --json --socket "$SOCK" >"$ST" 2>/dev/null &&
		[ "$(json_try "$ST" last_backup.run)" = 1 ] && [ "$(json_try "$ST" state)" = idle ]; then
		ok=1
		break
	fi
	sleep 0.2
done
[ "$ok" = 1 ] || { cat "$LOGDIR/coffred.2.log" >&2; fail "no backup ended within 40 s of the restart"; }
[ "$(json_get "$ST" last_backup.result)" = ok ] || fail "the backup after the restart is $(json_get "$ST" last_backup.result): $(json_get "$ST" last_backup.error)"
expect_exit 0 cf restore latest --target "$TESTDIR/restore"
compare_trees "$SRC" "$TESTDIR/restore$SRC"
expect_exit 0 cf check
kill -TERM "$DPID"
wait "$DPID" || fail "coffred exited with $?"
pass
