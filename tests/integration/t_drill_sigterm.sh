#!/usr/bin/env bash
# t_drill_sigterm.sh: a drill caught in the middle of its restore (the command stops itself
# there under COFFRE_TEST_DRILL_STOP, with its scratch folder filling and its lock on the
# destination):
#  - meanwhile a second drill of that destination is refused (11) and leaves the first's
#    scratch folder alone;
#  - SIGTERM: it ends by that signal, the scratch folder removed and no lock left; the state
#    records no drill;
#  - SIGKILL: the scratch folder and the lock stay behind; the next drill has removed the
#    folder by the time it restores, takes the dead process's lock for stale, passes, and
#    leaves nothing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/drill.sh"
drill_setup
STOP=$TESTDIR/stopped
drill_nas 54

stopped() { grep -q '^State:.*T' "/proc/$1/status" 2>/dev/null; }
scratch_files() { [ -n "$(find "$STATE/drill" -path '*drill-scratch-*/latest/*' -type f -print -quit)" ]; }

# caught: start a --full drill that stops itself in its restore; DPID, the scratch folder
# holds restored files and the destination a lock.
caught() {
	rm -f "$STOP"
	COFFRE_TEST_DRILL_STOP=$STOP "$COFFRE" drill --config "$CONF" --full \
		>"$LOGDIR/caught.out" 2>"$LOGDIR/caught.err" </dev/null &
	DPID=$!
	wait_for 60 "the drill stops in its restore" stopped "$DPID"
	[ -e "$STOP" ] || fail "stopped, but not by the test hook"
	scratch_files || fail "no restored file in the scratch folder yet"
	[ -n "$(ls -A "$NAS/locks")" ] || fail "no lock on the destination during the drill"
}

log "SIGTERM in the middle of the restore; meanwhile a second drill of nas is refused (11)"
caught
expect_exit 11 cf drill --config "$CONF"
grep -q "a drill of 'nas' is under way" "$ERR" || fail "the second drill does not say why: $(cat "$ERR")"
scratch_files || fail "the second drill touched the first one's scratch folder"
kill -TERM "$DPID"
kill -CONT "$DPID"
rc=0
wait "$DPID" || rc=$?
cat "$LOGDIR/caught.err"
[ "$rc" = 143 ] || fail "the drill ended with $rc, not by SIGTERM (143)"
grep -q "stopped (signal 15); scratch folder removed" "$LOGDIR/caught.err" || fail "no word of the stop"
no_scratch "$STATE/drill"
[ -z "$(ls -A "$NAS/locks")" ] || fail "a lock is left after SIGTERM: $(ls "$NAS/locks")"
[ "$(json_get "$(ls "$STATE"/drill/*.json)" result)" = none ] || fail "the state records the stopped drill"

log "SIGKILL in the middle of the restore: the next drill cleans up"
caught
kill -KILL "$DPID"
wait "$DPID" || true
left=$(find "$STATE/drill" -maxdepth 1 -name 'drill-scratch-*')
[ -n "$left" ] || fail "SIGKILL left no scratch folder: nothing for the next drill to remove"
[ -n "$(ls -A "$NAS/locks")" ] || fail "SIGKILL left no lock: nothing stale to clear"
info "left behind: $left and locks/$(ls "$NAS/locks")"
touch "$left/left-by-the-killed-drill"
caught
[ ! -e "$left/left-by-the-killed-drill" ] || fail "the next drill did not remove the old scratch folder as it started"
kill -CONT "$DPID"
rc=0
wait "$DPID" || rc=$?
[ "$rc" = 0 ] || { cat "$LOGDIR/caught.err"; fail "the next drill exited $rc"; }
no_scratch "$STATE/drill"
[ -z "$(ls -A "$NAS/locks")" ] || fail "a lock is left after the next drill: $(ls "$NAS/locks")"
pass
