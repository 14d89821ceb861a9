#!/usr/bin/env bash
# t_daemon_group.sh: the control socket is for root and the members of socket-group. With a
# group created for the test, the socket is mode 0660 in that group; a non-root member runs
# `coffre status` and `coffre backup --now`, a non-member is refused with a clear message
# (exit 13). Reloaded with a group that does not exist, the daemon says so in its log and
# the socket goes back to root only (0600); the group created, a reload opens it again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

daemon_setup
[ "$(id -u)" = 0 ] || skip "needs root (groupadd, and setpriv to act as another user)"
for c in setpriv groupadd groupdel; do
	command -v $c >/dev/null || skip "$c is missing"
done
id nobody >/dev/null 2>&1 || skip "no user nobody"
NOGROUP=$(id -gn nobody)
GROUP=cfsock$$
SRC=$TESTDIR/src
LATE=cflate$$
cleanup_hook() {
	groupdel "$GROUP" 2>/dev/null || true
	groupdel "$LATE" 2>/dev/null || true
}
groupadd "$GROUP" || skip "cannot create a group"
GID=$(getent group "$GROUP" | cut -d: -f3)
chmod 755 "$TESTDIR"
chmod 600 "$COFFRE_PASSWORD_FILE"

expect_exit 0 cf init
gen_data "$SRC" --seed 5 --size tiny
write_conf() {
	daemon_conf "$CONF" "after-change 1s" "$SOCK" "$STATE" "socket-group = $1" -- "$SRC"
}
write_conf "$GROUP"
expect_exit 0 cf config check --config "$CONF"

member() { setpriv --reuid=nobody --regid="$NOGROUP" --groups="$GID" "$COFFRE" "$@"; }
stranger() { setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups "$COFFRE" "$@"; }

log "start coffred with socket-group = $GROUP"
"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
daemon_wait_run 1
MODE=$(stat -c '%a %G' "$SOCK")
info "socket: $MODE"
[ "$MODE" = "660 $GROUP" ] || fail "socket is '$MODE', not '660 $GROUP'"
grep -q "open to root and the group '$GROUP'" "$DLOG" || fail "the log does not say who may use the socket"

log "a member of the group (not root) asks for the status and a backup"
expect_exit 0 member status --socket "$SOCK"
grep -q "last backup: .*ok" "$OUT" || { cat "$OUT"; fail "the member's status lacks the last backup"; }
expect_exit 0 member backup --now --socket "$SOCK"

log "a user outside the group is refused, with the reason"
expect_exit 13 stranger status --socket "$SOCK"
cat "$ERR"
one_error_line "$ERR"
grep -q "permission denied on '$SOCK'" "$ERR" || fail "the refusal does not say permission denied"
grep -q "members of the socket's group" "$ERR" || fail "the refusal does not say who may ask"

log "reloaded with a group that does not exist: root only, and said so"
write_conf "$LATE"
kill -HUP "$DPID"
root_only_logged() { grep -q "there is no group '$LATE': the control socket '$SOCK' is for root only" "$DLOG"; }
wait_until 30 root_only_logged || { cat "$DLOG" >&2; fail "the log does not say the socket is root only"; }
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "socket mode is $(stat -c %a "$SOCK") without a group, not 600"
expect_exit 13 member status --socket "$SOCK"
expect_exit 0 cf status --socket "$SOCK"

log "the group created, then a reload: open to it"
groupadd "$LATE" || fail "cannot create the group $LATE"
kill -HUP "$DPID"
socket_given() { [ "$(stat -c '%a %G' "$SOCK")" = "660 $LATE" ]; }
wait_until 30 socket_given || fail "socket is '$(stat -c '%a %G' "$SOCK")' after the reload"
kill -TERM "$DPID"
wait "$DPID" || fail "coffred exited with $?"
pass
