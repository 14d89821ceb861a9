#!/usr/bin/env bash
# t_drill.sh: restore drills of a folder destination and of a USB drive (a FAT32 image found
# by its label, mounted through fusefat), after a backup and a push, driven by coffre drill
# and coffred's configuration:
#  - each passes; its JSON report has files > 0, bytes_fetched > 0, the SQLite database
#    checked, files compared with the live ones; no scratch folder and no lock are left;
#  - it is cold: the user's cache is not touched (no index cache is made there);
#  - a file changed, backed up and pushed is among the next drill's (chosen as changed);
#  - --full restores every file of the latest snapshot;
#  - --budget is honoured; a drill of a missing drive says unreachable (13), a folder that
#    holds no repository 10, a wrong password 12, a bad budget 2.
# The USB part skips alone (with its reason) without root, /dev/fuse or fusefat.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/drill.sh"
drill_setup
NAS=$TESTDIR/nas
mkdir -p "$NAS"
DESTS=("[destination nas]" "url = $NAS")
usb=0
if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ] && command -v fusefat >/dev/null &&
	command -v mkfs.vfat >/dev/null; then
	usb_test_setup
	cleanup_hook() { usb_release; }
	truncate -s 64M "$TESTDIR/usb.img"
	mkfs.vfat -F 32 -n "DR$SUF" "$TESTDIR/usb.img" >/dev/null
	LOOPS+=("$(losetup -f --show "$TESTDIR/usb.img")") || skip "losetup cannot attach an image"
	DESTS+=("[destination drive]" "url = usb:DR$SUF")
	usb=1
else
	info "USB part skipped: needs root, /dev/fuse, fusefat and dosfstools"
fi
drill_conf "$CONF" "$STATE" "${DESTS[@]}"

log "a shop, a backup, a push to each destination"
drill_shop "$SRC" 51
expect_exit 0 cf init
expect_exit 0 cf backup "$SRC" -q
expect_exit 0 cf push --config "$CONF"

log "a drill of every destination: each passes, leaves no scratch folder, no lock, no cache"
rm -rf "$XDG_CACHE_HOME"
expect_exit 0 cf --json drill --config "$CONF" --list
cp "$OUT" "$LOGDIR/drill1.json"
drill_passed "$OUT" nas
[ "$(drill_report "$OUT" nas sqlite_checked)" -ge 1 ] || fail "nas: no SQLite database checked"
[ "$(drill_report "$OUT" nas live_compared)" -ge 1 ] || fail "nas: no file compared with the live one"
[ "$(drill_report "$OUT" nas chosen.databases)" = 1 ] || fail "nas: the database was not chosen by its name"
if [ $usb = 1 ]; then
	drill_passed "$OUT" drive
	grep -q "usb-DR$SUF" /proc/self/mounts && fail "the drive is still mounted after the drill"
fi
no_scratch "$STATE/drill"
[ -z "$(ls -A "$NAS/locks")" ] || fail "a lock is left on the folder destination: $(ls "$NAS/locks")"
[ ! -e "$XDG_CACHE_HOME" ] || { find "$XDG_CACHE_HOME" >&2; fail "the drill wrote to the user's cache"; }
for f in "$STATE"/drill/*.json; do
	[ "$(json_get "$f" result)" = ok ] || fail "$f does not record a drill that passed"
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f is not private (mode $(stat -c %a "$f"))"
done
[ "$(find "$STATE/drill" -name '*.json' | wc -l)" = $((1 + usb)) ] || fail "not one state file a destination"

log "a file changed since: the next drill restores it"
CHANGED=$SRC/clients/notes.txt
echo "a new line for the drill" >>"$CHANGED"
expect_exit 0 cf backup "$SRC" -q
expect_exit 0 cf push --config "$CONF"
expect_exit 0 cf --json drill --config "$CONF" --to nas --list
drill_passed "$OUT" nas
[ "$(drill_report "$OUT" nas chosen.changed)" -ge 1 ] || fail "no file chosen as changed"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]; sys.exit(sys.argv[2] not in r["drilled"])' \
	"$OUT" "$CHANGED" || fail "the changed file $CHANGED was not drilled"
[ "$(drill_report "$OUT" nas oldest_snapshot)" != null ] || fail "no sample of the oldest snapshot"

log "--full: every file of the latest snapshot"
expect_exit 0 cf --json drill --config "$CONF" --to nas --full
drill_passed "$OUT" nas
[ "$(drill_report "$OUT" nas files)" = "$(drill_report "$OUT" nas snapshot_files)" ] ||
	fail "--full restored $(drill_report "$OUT" nas files) of $(drill_report "$OUT" nas snapshot_files) files"
no_scratch "$STATE/drill"

log "--budget 64K on the folder: what was chosen fits"
expect_exit 0 cf --json drill --config "$CONF" --to nas --budget 64K
drill_passed "$OUT" nas
sel=$(drill_report "$OUT" nas bytes_selected)
[ "$sel" -le 65536 ] || fail "64 KiB budget, $sel bytes selected"

log "a human report, then the errors"
expect_exit 0 cf drill --config "$CONF" --to nas
grep -q "^drill nas: ok: " "$OUT" || fail "no human line: $(cat "$OUT")"
info "$(cat "$OUT")"
expect_exit 2 cf drill --config "$CONF" --to nas --budget lots
expect_exit 10 cf drill --state-dir "$STATE" --to "$TESTDIR/nothing-here"
printf 'wrong' >"$TESTDIR/wrong"
expect_exit 12 cf drill --state-dir "$STATE" --to "$NAS" --password-file "$TESTDIR/wrong"
expect_exit 13 cf drill --state-dir "$STATE" --to "usb:NODRIVE${SUF:-X}"
no_scratch "$STATE/drill"
pass
