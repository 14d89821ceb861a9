#!/usr/bin/env bash
# t_daemon_child.sh: each run is made in a process of its own, which may die or hang without
# taking coffred with it.
#  (a) the run's process gets SIGSEGV while it reads: the run is recorded failed with "the
#      backup process crashed (signal 11)", coffred carries on and the retry is ok;
#  (b) the run's process is stopped (SIGSTOP) with run-timeout = 3s: it is killed, the run is
#      recorded failed with "stopped answering for 3 s", and the retry is ok;
#  (c) the process runs at nice 10 in the idle I/O class (run-priority's default).
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
chmod 600 "$COFFRE_PASSWORD_FILE"
# The sanitizers' runs are slower: they may be silent longer between two messages.
TIMEOUT=3
[ "${COFFRE_SANITIZE:-0}" = 1 ] && TIMEOUT=8

expect_exit 0 cf init
mkdir -p "$SRC"
for i in 1 2 3; do head -c 40M /dev/urandom >"$SRC/r$i.bin"; done
echo small >"$SRC/small.txt"
cat >"$CONF" <<CONF
[backup]
path = $SRC
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
schedule = after-change 1s
[daemon]
socket = $SOCK
state-dir = $STATE
run-timeout = ${TIMEOUT}s
CONF

# The kernel, not the sanitizer's handler, is to end a process that gets SIGSEGV.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0 COFFRED_RETRY_DELAY=1 \
	"$COFFRED" --config "$CONF" 2>"$LOGDIR/coffred.log" &
DPID=$!
BG_PIDS+=("$DPID")
alive() { kill -0 "$DPID" 2>/dev/null || { cat "$LOGDIR/coffred.log" >&2; fail "coffred died"; }; }
# The run's process: coffred's only child.
child() { cat "/proc/$DPID/task/$DPID/children" 2>/dev/null | tr -d ' '; }
# run_reading N: run N is going and its process has read some data.
run_reading() {
	alive
	{ cf status --json --socket "$SOCK" >"$ST" 2>/dev/null || [ -s "$ST" ]; } &&
		[ "$(json_try "$ST" running.run)" = "$1" ] && grep -q '"bytes_read": [1-9]' "$ST" &&
		[ -n "$(child)" ]
}
# run_ended N: run N is the last one (the retry of a failed one may be going already).
run_ended() {
	alive
	# (status exits 1 when the last run failed)
	cf status --json --socket "$SOCK" >"$ST" 2>/dev/null || [ -s "$ST" ]
	[ "$(json_try "$ST" last_backup.run)" = "$1" ]
}

log "(c) the run's process: nice 10, idle I/O class"
WAIT_POLL=0.02 wait_until 60 run_reading 1 || fail "never saw run 1 reading"
CPID=$(child)
read -r -a stat <"/proc/$CPID/stat"
[ "${stat[18]}" = 10 ] || fail "the run's process has nice ${stat[18]}, not 10"
if command -v ionice >/dev/null; then
	io=$(ionice -p "$CPID")
	[ "$io" = idle ] || fail "the run's process has I/O class '$io', not idle"
fi
info "process $CPID: nice ${stat[18]}, I/O ${io:-?}"

log "(a) SIGSEGV to the run's process while it reads"
kill -SEGV "$CPID"
wait_until 30 run_ended 1 || fail "run 1 was not recorded within 30 s of the crash"
[ "$(json_get "$ST" last_backup.result)" = failed ] || fail "run 1 is $(json_get "$ST" last_backup.result)"
err=$(json_get "$ST" last_backup.error)
[ "$err" = "the backup process crashed (signal 11)" ] || fail "run 1's error: $err"
grep -q "backup #1 failed: the backup process crashed (signal 11)" "$LOGDIR/coffred.log" ||
	fail "the crash is not logged"
info "run 1: $err"

log "the retry starts fresh and is ok"
wait_until 120 run_ended 2 || fail "run 2 did not end within 120 s"
[ "$(json_get "$ST" last_backup.result)" = ok ] ||
	fail "run 2 is $(json_get "$ST" last_backup.result): $(json_get "$ST" last_backup.error)"

log "(b) a run's process stopped (SIGSTOP): killed after run-timeout"
# A change to read (long enough to be caught reading, whatever the machine's speed); the
# schedule (after-change 1s) starts run 3 for it.
head -c 200M /dev/urandom >>"$SRC/r1.bin"
WAIT_POLL=0.02 wait_until 120 run_reading 3 || fail "never saw run 3 reading"
CPID=$(child)
kill -STOP "$CPID"
t0=$(date +%s)
wait_until $((TIMEOUT + 20)) run_ended 3 || fail "run 3 was not recorded within $((TIMEOUT + 20)) s"
[ "$(json_get "$ST" last_backup.result)" = failed ] || fail "run 3 is $(json_get "$ST" last_backup.result)"
err=$(json_get "$ST" last_backup.error)
[ "$err" = "the backup process stopped answering for $TIMEOUT s" ] || fail "run 3's error: $err"
gone "$CPID" || fail "the stopped process $CPID is still there"
info "run 3: $err (after $(($(date +%s) - t0)) s)"

log "the next run starts fresh and is ok"
wait_until 120 run_ended 4 || fail "run 4 did not end within 120 s"
[ "$(json_get "$ST" last_backup.result)" = ok ] ||
	fail "run 4 is $(json_get "$ST" last_backup.result): $(json_get "$ST" last_backup.error)"
expect_exit 0 cf log --state-dir "$STATE"
grep -q "the backup process crashed (signal 11)" "$OUT" || fail "coffre log does not show the crash"
expect_exit 0 cf restore latest --target "$TESTDIR/restore"
compare_trees "$SRC" "$TESTDIR/restore$SRC"
expect_exit 0 cf check

log "SIGTERM: coffred stops"
kill -TERM "$DPID"
wait_until 5 gone "$DPID" || fail "coffred still running 5 s after SIGTERM"
rc=0
wait "$DPID" || rc=$?
[ "$rc" = 0 ] || fail "coffred exited with $rc"
pass
