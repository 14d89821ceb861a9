#!/usr/bin/env bash
# t_daemon_watch_limit.sh: coffred at the inotify watch limit. It runs in a user namespace
# of its own (unshare), whose limit (/proc/sys/user/max_inotify_watches) the test lowers
# without touching the machine's. At the limit the watcher is incomplete and every backup
# is a full scan; once the limit is raised, the next backup tries the missing folders
# again, says so, and the backups after it read only what changed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

daemon_setup
for c in unshare nsenter; do command -v $c >/dev/null || skip "$c is missing (util-linux)"; done
unshare --user --map-root-user sh -c 'echo 10 >/proc/sys/user/max_inotify_watches' 2>/dev/null ||
	skip "cannot make a user namespace with its own inotify limit here"
SRC=$TESTDIR/src
chmod 600 "$COFFRE_PASSWORD_FILE"
expect_exit 0 cf init
gen_data "$SRC" --seed 21 --size tiny
NDIRS=$(find "$SRC" -type d | wc -l)
daemon_conf "$CONF" "after-change 1s" "$SOCK" "$STATE" -- "$SRC"

log "coffred with room for 10 of the $NDIRS folders"
# unshare and sh exec coffred: $! is the daemon.
unshare --user --map-root-user sh -c \
	'echo 10 >/proc/sys/user/max_inotify_watches && exec "$0" --config "$1"' \
	"$COFFRED" "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")

# change N: a change in the top folder (watched whatever the limit: the first one watched).
change() { echo "change $1" >>"$SRC/changes.txt"; }

daemon_wait_run 1
FULL=$(json_get "$ST" last_backup.entries)
info "watches $(json_get "$ST" watches), not watched $(json_get "$ST" unwatched_folders)"
[ "$(json_get "$ST" watch_incomplete)" = true ] || fail "the watcher is complete at the limit"
grep -q "watch limit reached" "$DLOG" || fail "the log does not say the limit was reached"

log "still at the limit: the next backup is a full scan again"
change 1
daemon_wait_run 2
[ "$(json_get "$ST" last_backup.full_scan)" = true ] || fail "a backup at the limit was not a full scan"
[ "$(json_get "$ST" watch_incomplete)" = true ] || fail "the watcher became complete at the limit"

log "the limit raised: the next backup watches every folder again"
nsenter --user --target "$DPID" sh -c 'echo 100000 >/proc/sys/user/max_inotify_watches' ||
	fail "cannot raise the daemon's limit"
change 2
daemon_wait_run 3
[ "$(json_get "$ST" watch_incomplete)" = false ] || { cat "$DLOG" >&2; fail "still incomplete after the limit was raised"; }
[ "$(json_get "$ST" watches)" = "$NDIRS" ] || fail "$(json_get "$ST" watches) watches, not $NDIRS"
[ "$(json_get "$ST" last_backup.full_scan)" = false ] || fail "run 3 was a full scan"
grep -q "every folder is watched again" "$DLOG" || fail "the log does not say so"

log "and the backups after it read only what changed"
change 3
daemon_wait_run 4
INC=$(json_get "$ST" last_backup.entries)
info "full scan: $FULL entries; now $INC entries, $(json_get "$ST" last_backup.dirs_reused) folders reused"
[ "$(json_get "$ST" last_backup.full_scan)" = false ] || fail "run 4 was a full scan"
[ "$INC" -lt "$FULL" ] || fail "run 4 examined $INC entries, not fewer than $FULL"
expect_exit 0 cf restore latest --target "$TESTDIR/restore"
compare_trees "$SRC" "$TESTDIR/restore$SRC"
kill -TERM "$DPID"
wait "$DPID" || fail "coffred exited with $?"
pass
