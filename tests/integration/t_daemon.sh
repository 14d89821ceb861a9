#!/usr/bin/env bash
# t_daemon.sh: coffred end to end on a temporary configuration (schedule after-change 2s):
#  - config check names each bad line; coffred refuses to start on an invalid file;
#  - the start-up backup (full scan) is taken and `coffre ls latest` matches the tree;
#  - after changing files deep in one folder, the next backup examines fewer entries than
#    the full scan, reuses folders, and its snapshot matches the tree exactly;
#  - `coffre status --json` reports it, `coffre log` lists the runs;
#  - SIGHUP with an invalid config keeps the daemon running on the old one;
#  - SIGTERM ends it within 5 s.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

COFFRED=${COFFRED:-$(dirname "$COFFRE")/../agent/daemon/coffred}
[ -x "$COFFRED" ] || skip "no coffred binary next to $COFFRE (set COFFRED=)"
SRC=$TESTDIR/src
STATE=$TESTDIR/state
SOCK=$TESTDIR/run/coffred.sock
CONF=$TESTDIR/coffre.conf
chmod 600 "$COFFRE_PASSWORD_FILE"

log "init and a generated tree with nested folders"
expect_exit 0 cf init
gen_data "$SRC" --seed 7 --size tiny
for i in 1 2 3 4 5 6; do
	mkdir -p "$SRC/deep/l$i/m/n"
	for k in 1 2 3; do echo "file $i $k" >"$SRC/deep/l$i/m/n/f$k.txt"; done
done

write_conf() {
	cat >"$CONF" <<CONF
# test configuration
[backup]
path = $SRC
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
schedule = $1
[daemon]
socket = $SOCK
state-dir = $STATE
CONF
}

log "config check: problems line by line"
write_conf "after-change 2s"
cp "$CONF" "$TESTDIR/bad.conf"
printf 'colour = blue\nschedule = sometimes\npath = %s/gone\n' "$TESTDIR" >>"$TESTDIR/bad.conf"
sed -i 's/^\[daemon\]/[backup]/' "$TESTDIR/bad.conf"
expect_exit 1 cf config check --config "$TESTDIR/bad.conf"
grep -q "bad.conf:[0-9]*: unknown key 'colour'" "$ERR" || { cat "$ERR"; fail "unknown key not reported"; }
grep -q "bad.conf:[0-9]*: schedule 'sometimes' not understood" "$ERR" || fail "bad schedule not reported"
grep -q "gone' is missing" "$ERR" || fail "missing folder not reported"
chmod 644 "$COFFRE_PASSWORD_FILE"
expect_exit 1 cf config check --config "$CONF"
grep -q "readable by group or others" "$ERR" || fail "password file mode not reported"
chmod 600 "$COFFRE_PASSWORD_FILE"
expect_exit 0 cf config check --config "$CONF"
expect_exit 1 "$COFFRED" --config "$TESTDIR/bad.conf"
grep -q "unknown key 'colour'" "$ERR" || fail "coffred did not say why it refused to start"

log "start coffred"
"$COFFRED" --config "$CONF" 2>"$LOGDIR/coffred.log" &
DPID=$!
BG_PIDS+=("$DPID")

# wait_backup N: wait (at most 60 s) until the daemon is idle with N successful runs logged.
STATUS=$LOGDIR/status.json
wait_backup() {
	wait_until 60 backed_up "$1" || { cat "$LOGDIR/coffred.log" >&2; fail "no backup #$1 within 60 s"; }
}
backed_up() {
	# The history first, then the status: the status is then at least as recent.
	if [ "$(cf log --json --state-dir "$STATE" 2>/dev/null |
			python3 -c 'import json,sys; print(sum(r["result"]=="ok" for r in json.load(sys.stdin)))' 2>/dev/null || echo 0)" -ge "$1" ] &&
		cf status --json --socket "$SOCK" >"$STATUS" 2>/dev/null &&
		[ "$(json_try "$STATUS" state)" = idle ] &&
		[ "$(json_try "$STATUS" last_backup.result)" = ok ]; then
		return 0
	fi
	kill -0 "$DPID" 2>/dev/null || { cat "$LOGDIR/coffred.log" >&2; fail "coffred died"; }
	return 1
}

# snapshot_matches N: `coffre ls latest` lists exactly the entries of the tree (names compared
# as bytes), and the snapshot restores identical to it.
snapshot_matches() {
	cf --json ls latest >"$LOGDIR/ls.json" || fail "coffre ls latest failed"
	python3 - "$SRC" "$LOGDIR/ls.json" <<'PY' || fail "snapshot listing differs from the tree"
import json, os, sys
src = os.fsencode(sys.argv[1])
tree = {src}
for dp, dns, fns in os.walk(src):
    for n in dns + fns:
        tree.add(os.path.join(dp, n))
snap = set()
for e in json.load(open(sys.argv[2])):
    p = bytes.fromhex(e["path_hex"]) if "path_hex" in e else e["path"].encode()
    p = p.rstrip(b"/") or b"/"
    if p == src or p.startswith(src + b"/"):
        snap.add(p)
if tree != snap:
    print("only in the tree:", sorted(tree - snap)[:10], file=sys.stderr)
    print("only in the snapshot:", sorted(snap - tree)[:10], file=sys.stderr)
    sys.exit(1)
print("   ls latest: %d entries, same as the tree" % len(tree))
PY
	local restore=$TESTDIR/restore.$1
	expect_exit 0 cf restore latest --target "$restore"
	compare_trees "$SRC" "$restore$SRC"
}

log "start-up backup (full scan)"
wait_backup 1
FULL_ENTRIES=$(json_get "$STATUS" last_backup.entries)
info "full scan: $FULL_ENTRIES entries examined, full_scan=$(json_get "$STATUS" last_backup.full_scan)"
[ "$(json_get "$STATUS" last_backup.full_scan)" = true ] || fail "the first backup was not a full scan"
snapshot_matches 1
[ -s "$STATE/status.json" ] || fail "no status file in the state dir"
# Mode 0660 for root and the group coffre when it exists, else root only (t_daemon_group.sh).
want=600
getent group coffre >/dev/null && want=660
[ "$(stat -c %a "$SOCK")" = $want ] || fail "socket mode is $(stat -c %a "$SOCK"), not $want"

log "change files deep in one folder; wait for the after-change backup"
sleep 1.1	# not a wait: the changes come a second after the start-up backup (times in seconds)
echo changed >>"$SRC/deep/l3/m/n/f2.txt"
echo new >"$SRC/deep/l3/m/n/f4.txt"
rm "$SRC/deep/l5/m/n/f1.txt"
wait_backup 2
INC_ENTRIES=$(json_get "$STATUS" last_backup.entries)
REUSED=$(json_get "$STATUS" last_backup.dirs_reused)
info "incremental: $INC_ENTRIES entries examined, $REUSED folders reused"
[ "$(json_get "$STATUS" last_backup.full_scan)" = false ] || fail "the second backup was a full scan"
[ "$REUSED" -gt 0 ] || fail "no folder reused"
[ "$INC_ENTRIES" -lt "$FULL_ENTRIES" ] || fail "incremental examined $INC_ENTRIES >= $FULL_ENTRIES"
snapshot_matches 2
[ "$(json_get "$STATUS" pending.dirty_folders)" = 0 ] || fail "dirty folders left after the backup"

log "a new folder with files, moved in"
mkdir -p "$TESTDIR/outside/x/y"
echo moved >"$TESTDIR/outside/x/y/z.txt"
mv "$TESTDIR/outside/x" "$SRC/deep/l1/moved"
wait_backup 3
snapshot_matches 3

log "status and log for people"
expect_exit 0 cf status --socket "$SOCK"
grep -q "last backup: .*ok" "$OUT" || { cat "$OUT"; fail "status does not show the last backup"; }
expect_exit 0 cf log --state-dir "$STATE"
[ "$(grep -c ' ok ' "$OUT")" -ge 3 ] || { cat "$OUT"; fail "log does not list 3 runs"; }

log "SIGHUP with an invalid configuration keeps the old one"
cp "$CONF" "$CONF.good"
echo "bogus-key = 1" >>"$CONF"
kill -HUP "$DPID"
kept() {
	if gone "$DPID"; then fail "coffred died on SIGHUP"; fi
	grep -q "keeping the current configuration" "$LOGDIR/coffred.log"
}
wait_for 30 "a reason given for keeping the configuration" kept
kill -0 "$DPID" || fail "coffred died on SIGHUP"
expect_exit 0 cf status --json --socket "$SOCK"
cp "$CONF.good" "$CONF"

log "SIGTERM ends within 5 s"
t0=$(date +%s.%N)
kill -TERM "$DPID"
wait_until 5 gone "$DPID" || fail "coffred still running 5 s after SIGTERM"
wait "$DPID" || fail "coffred exited with $?"
info "stopped in $(python3 -c "import time; print(round(time.time() - $t0, 2))") s"
[ -e "$SOCK" ] && fail "socket left behind"
pass
