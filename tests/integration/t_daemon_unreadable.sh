#!/usr/bin/env bash
# t_daemon_unreadable.sh: a protected folder that coffred cannot read (mode 000). Root reads
# everything, so the daemon runs as user nobody (setpriv; skipped when not root or without
# setpriv). The run is partial and says which folder, and the folder is not watched (every
# backup is a full scan); made readable again, it is watched again at once, the next run is
# ok and its snapshot matches the tree, and the runs after it read only what changed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

COFFRED=${COFFRED:-$(dirname "$COFFRE")/../agent/daemon/coffred}
[ -x "$COFFRED" ] || skip "no coffred binary next to $COFFRE (set COFFRED=)"
[ "$(id -u)" = 0 ] || skip "needs root to run coffred as nobody (as a user, mode 000 works with t_unreadable.sh)"
command -v setpriv >/dev/null || skip "setpriv is missing (util-linux)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
NOGROUP=$(id -gn nobody)
SRC=$TESTDIR/src
STATE=$TESTDIR/state
SOCK=$TESTDIR/run/coffred.sock
CONF=$TESTDIR/coffre.conf
ST=$LOGDIR/status.json
DLOG=$LOGDIR/coffred.log

expect_exit 0 cf init
gen_data "$SRC" --seed 3 --size tiny
mkdir -p "$SRC/secret/inner"
echo "payroll" >"$SRC/secret/inner/pay.txt"
echo "top" >"$SRC/secret/top.txt"
mkdir -p "$STATE" "$TESTDIR/run" "$TESTDIR/dcache"
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
chmod 755 "$TESTDIR"
chown -R nobody:"$NOGROUP" "$SRC" "$COFFRE_REPOSITORY" "$STATE" "$TESTDIR/run" \
	"$TESTDIR/dcache" "$COFFRE_PASSWORD_FILE" "$CONF"
chmod 600 "$COFFRE_PASSWORD_FILE"
chmod 000 "$SRC/secret"
setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups test -r "$SRC/secret/top.txt" &&
	fail "nobody can read through a mode 000 folder: the test cannot work here"

log "coffred as nobody; the start-up backup meets the unreadable folder"
env HOME="$TESTDIR/dcache" XDG_CACHE_HOME="$TESTDIR/dcache" \
	setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups \
	"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")

# wait_run N: until run #N has ended (at most 60 s); $ST holds the status.
wait_run() {
	wait_until 60 ran "$1" || { cat "$DLOG" >&2; fail "run #$1 did not end within 60 s"; }
}
ran() {
	local r rc=0
	kill -0 "$DPID" 2>/dev/null || { cat "$DLOG" >&2; fail "coffred died"; }
	cf status --json --socket "$SOCK" >"$ST" 2>/dev/null || rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 1 ] || return 1
	r=$(json_try "$ST" last_backup.run)
	[ "$r" != "?" ] && [ "$r" != null ] && [ "$r" -ge "$1" ] && [ "$(json_try "$ST" state)" = idle ]
}

wait_run 1
FULL=$(json_get "$ST" last_backup.entries)
[ "$(json_get "$ST" watch_incomplete)" = true ] || fail "the unreadable folder counts as watched"
[ "$(json_get "$ST" unwatched_folders)" = 1 ] || fail "unwatched_folders is $(json_get "$ST" unwatched_folders), not 1"
[ "$(json_get "$ST" last_backup.result)" = partial ] ||
	{ cat "$DLOG" >&2; fail "the run with an unreadable folder is $(json_get "$ST" last_backup.result), not partial"; }
[ "$(json_get "$ST" last_backup.warnings)" -ge 1 ] || fail "no warning counted"
grep -q "src/secret" <<<"$(json_get "$ST" last_backup.warning_messages)" || fail "the warning does not name the folder"
expect_exit 0 cf status --socket "$SOCK"
cat "$OUT"
grep -q "partial" "$OUT" && grep -q "warning: .*secret" "$OUT" || fail "status for people does not say partial and why"
grep -q "warning: '.*secret'" "$DLOG" || fail "the daemon's log does not name the folder"

log "readable again: the next run is ok and matches the tree"
chmod 755 "$SRC/secret"
wait_run 2
[ "$(json_get "$ST" last_backup.result)" = ok ] || fail "the run after chmod is $(json_get "$ST" last_backup.result)"
[ "$(json_get "$ST" watch_incomplete)" = false ] || { cat "$DLOG" >&2; fail "the folder made readable is still not watched"; }
grep -q "every folder is watched again" "$DLOG" || fail "the log does not say the folders are all watched again"
[ "$(json_get "$ST" last_backup.full_scan)" = false ] || fail "run 2 was a full scan"
cf --json ls latest >"$LOGDIR/ls.json" || fail "ls latest failed"
grep -q "secret/inner/pay.txt" "$LOGDIR/ls.json" || fail "the folder made readable is not in the snapshot"
expect_exit 0 cf restore latest --target "$TESTDIR/restore"
compare_trees "$SRC" "$TESTDIR/restore$SRC"

log "a change inside the folder made readable: seen, and the run reads only that"
echo "payroll, corrected" >"$SRC/secret/inner/pay.txt"
wait_run 3
[ "$(json_get "$ST" last_backup.result)" = ok ] || fail "run 3 is $(json_get "$ST" last_backup.result)"
[ "$(json_get "$ST" last_backup.full_scan)" = false ] || fail "run 3 was a full scan"
[ "$(json_get "$ST" last_backup.entries)" -lt "$FULL" ] || fail "run 3 examined every entry"
[ "$(json_get "$ST" last_backup.files_changed)" = 1 ] || fail "run 3 did not read the changed file"
expect_exit 0 cf dump latest "$SRC/secret/inner/pay.txt"
grep -q corrected "$OUT" || fail "the change is not in the snapshot"
kill -TERM "$DPID"
wait "$DPID" || fail "coffred exited with $?"
pass
