#!/usr/bin/env bash
# t_daemon_log_names.sh: a file name cannot forge a line of coffred's log. The daemon runs as
# user nobody (so a mode 000 folder makes a warning that quotes its name); the folder's name
# holds a newline followed by a fake "backup ... ok" line and a terminal escape. The log must
# keep the warning on one line, with the control bytes escaped.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
daemon_setup
[ "$(id -u)" = 0 ] || skip "needs root to run coffred as nobody"
command -v setpriv >/dev/null || skip "setpriv is missing (util-linux)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
NOGROUP=$(id -gn nobody)
SRC=$TESTDIR/src
expect_exit 0 cf init
mkdir -p "$SRC" "$STATE" "$TESTDIR/run" "$TESTDIR/dcache"
echo fine >"$SRC/ok.txt"
EVIL=$'evil\ncoffred: backup #99 ok: snapshot deadbeef\e[2J'
mkdir "$SRC/$EVIL"
echo x >"$SRC/$EVIL/f"
daemon_conf "$CONF" "after-change 1s" "$SOCK" "$STATE" -- "$SRC"
chmod 755 "$TESTDIR"
chown -R nobody:"$NOGROUP" "$SRC" "$COFFRE_REPOSITORY" "$STATE" "$TESTDIR/run" \
	"$TESTDIR/dcache" "$COFFRE_PASSWORD_FILE" "$CONF"
chmod 600 "$COFFRE_PASSWORD_FILE"
chmod 000 "$SRC/$EVIL"

env HOME="$TESTDIR/dcache" XDG_CACHE_HOME="$TESTDIR/dcache" \
	setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups \
	"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 60 "the watcher warns about the unreadable folder" grep -q "cannot watch.*evil" "$DLOG"
wait_for 60 "the start-up backup warns about it" grep -q "evil.*cannot open directory" "$DLOG"
if grep -q '^coffred: backup #99' "$DLOG"; then
	cat -v "$DLOG"
	fail "a file name forged a log line"
fi
[ "$(grep -c 'evil\\x0acoffred: backup #99 ok: snapshot deadbeef\\x1b\[2J' "$DLOG")" -ge 2 ] ||
	{ cat -v "$DLOG"; fail "the warning does not quote the name with its control bytes escaped"; }
if grep -q $'\e' "$DLOG"; then fail "a terminal escape reached the log"; fi
pass
