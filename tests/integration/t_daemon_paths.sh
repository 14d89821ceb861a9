#!/usr/bin/env bash
# t_daemon_paths.sh: folders added to or removed from the configuration (SIGHUP) keep the
# parent snapshot for the others. coffred backs up A and B; C is added and the next run
# reads only C's content; B is removed and the next run reads nothing. Each snapshot
# restores identical to the folders it holds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

daemon_setup
chmod 600 "$COFFRE_PASSWORD_FILE"
expect_exit 0 cf init
A=$TESTDIR/shop/A B=$TESTDIR/shop/B C=$TESTDIR/other/C
gen_data "$A" --seed 11 --size tiny
gen_data "$B" --seed 12 --size tiny
gen_data "$C" --seed 13 --size tiny
bytes_of() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

conf() { daemon_conf "$CONF" "after-change 1s" "$SOCK" "$STATE" -- "$@"; }
conf "$A" "$B"
"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")


# restored_matches DIR...: the latest snapshot restores identical to each DIR.
restored_matches() {
	local t=$TESTDIR/restore.$RANDOM d
	expect_exit 0 cf restore latest --target "$t"
	for d in "$@"; do compare_trees "$d" "$t$d"; done
}

log "A and B: the start-up backup reads everything"
daemon_wait_run 1
info "read $(json_get "$ST" last_backup.bytes_read) bytes"
[ "$(json_get "$ST" last_backup.bytes_read)" -ge $(($(bytes_of "$A") + $(bytes_of "$B"))) ] ||
	fail "the first run did not read A and B"

log "C added (SIGHUP): only C is read"
conf "$A" "$B" "$C"
kill -HUP "$DPID"
daemon_wait_run 2
READ=$(json_get "$ST" last_backup.bytes_read)
WANT=$(bytes_of "$C")
info "read $READ bytes; C holds $WANT"
[ "$READ" = "$WANT" ] || { cat "$DLOG" >&2; fail "run after adding C read $READ bytes, not C's $WANT"; }
[ "$(json_get "$ST" last_backup.files_new)" -gt 0 ] && [ "$(json_get "$ST" last_backup.files_changed)" = 0 ] ||
	fail "files of A or B counted as changed"
restored_matches "$A" "$B" "$C"

log "B removed (SIGHUP): nothing is read"
conf "$A" "$C"
kill -HUP "$DPID"
daemon_wait_run 3
READ=$(json_get "$ST" last_backup.bytes_read)
info "read $READ bytes"
[ "$READ" = 0 ] || { cat "$DLOG" >&2; fail "run after removing B read $READ bytes"; }
restored_matches "$A" "$C"
[ ! -e "$TESTDIR/restore.last$B" ] || fail "B still in the snapshot"
cf --json ls latest >"$LOGDIR/ls.json" || fail "ls latest failed"
grep -q "/shop/B" "$LOGDIR/ls.json" && fail "B is still in the latest snapshot"
kill -TERM "$DPID"
wait "$DPID" || fail "coffred exited with $?"
pass
