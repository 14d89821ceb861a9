#!/usr/bin/env bash
# t_usb_thin.sh: a USB drive (64 MiB FAT32 image, fusefat) whose policy keeps more than it
# can hold is thinned by push, oldest first, never below the last 14 days nor a pinned one.
#  - a spool that keeps its 2 newest snapshots (forget, prune each day; the flags of forget
#    in COFFRE_THIN_SPOOL_KEEP), a destination
#    usb:LABEL with keep-daily 60; one backup a day (faketime, past days), each adding
#    SMALL_MIB of fresh random data and dropping the day before's; the second day's snapshot
#    is pinned (coffre pin);
#  - every daily push succeeds; once the drive is full it thins: the snapshots it lists are
#    the pinned one and a run of the newest days that shrinks only from the old end, and
#    holds every day of the last 14; check --read-data on the drive is clean;
#  - then each day adds BIG_MIB: once the last 14 days alone do not fit, push fails,
#    non-zero, with the plain "too small" message; the drive still checks clean (read-data)
#    and still holds the pinned snapshot and those of the last 14 days it held.
# Needs root, /dev/fuse, fusefat, dosfstools and faketime; under the sanitizer build
# (COFFRE_SANITIZE=1, gcc ASan) faketime runs with ASAN_OPTIONS=verify_asan_link_order=0,
# and the test skips when that does not work (clang ASan hangs under faketime).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
# python3 behind a version manager's shim can cost seconds a call: resolve it once.
PY3=$(python3 -c 'import sys; print(sys.executable)') || fail "python3 does not run"
python3() { "$PY3" "$@"; }
usb_test_setup
command -v faketime >/dev/null || skip "faketime is not installed (package faketime)"
if [ "${COFFRE_SANITIZE:-0}" = 1 ]; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
	timeout 20 faketime -f '+30d' "$COFFRE" --version >/dev/null 2>&1 ||
		skip "the sanitizer build does not run under faketime here (clang ASan hangs, RECIPES.md 6)"
fi
# shellcheck disable=SC2317 # called by lib.sh on exit
cleanup_hook() {
	usb_release
}
chmod 600 "$COFFRE_PASSWORD_FILE"

SMALL_DAYS=${COFFRE_THIN_SMALL_DAYS:-26}
SMALL_MIB=${COFFRE_THIN_SMALL_MIB:-3}
BIG_DAYS=${COFFRE_THIN_BIG_DAYS:-8}
BIG_MIB=${COFFRE_THIN_BIG_MIB:-8}
# The spool's own retention, run each day before the push (forget flags).
read -r -a SPOOL_KEEP <<<"${COFFRE_THIN_SPOOL_KEEP:---keep-last 2 --keep-within 0}"
SRC=$TESTDIR/data/src
CONF=$TESTDIR/coffre.conf
LABEL=CT$SUF
IMG=$TESTDIR/drive.img
mkdir -p "$SRC"
truncate -s 64M "$IMG"
mkfs.vfat -F 32 -n "$LABEL" "$IMG" >/dev/null || fail "mkfs.vfat failed"
DEV=$(losetup -f --show "$IMG") || skip "losetup cannot attach an image here"
LOOPS+=("$DEV")
USB=usb:$LABEL

cat >"$CONF" <<CONF
[backup]
path = $SRC
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE

[destination drive]
url = $USB
keep-daily = 60
keep-within = 14 d
CONF
expect_exit 0 cf config check --config "$CONF"
expect_exit 0 cf init

NDAYS=$((SMALL_DAYS + BIG_DAYS))
now=$(date +%s)
declare -A DAY=()	# snapshot id -> day number
# when K: the faketime spec of day K (all in the past: the last is yesterday).
when() { date -u -d "@$((now - (NDAYS + 1 - $1) * 86400))" '+@%Y-%m-%d 12:00:00'; }
at() { faketime -f "$1" "$COFFRE" "${@:2}" </dev/null; }

# drive_days: the day numbers of the snapshots on the drive, sorted (also in $LOGDIR/drive).
drive_days() {
	"$COFFRE" --repo "$USB" --json snapshots >"$LOGDIR/drive.json" 2>"$LOGDIR/drive.err" </dev/null ||
		{ cat "$LOGDIR/drive.err" >&2; fail "snapshots on the drive failed"; }
	local id
	python3 -c '
import json, sys
for s in json.load(open(sys.argv[1])):
    print(s["id"])' "$LOGDIR/drive.json" | while read -r id; do
		[ -n "${DAY[$id]:-}" ] || fail "the drive lists $id, made by no backup"
		echo "${DAY[$id]}"
	done | sort -n >"$LOGDIR/drive"
	[ "$(grep -c '' "$LOGDIR/drive" || true)" = "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$LOGDIR/drive.json")" ] ||
		fail "an unknown snapshot on the drive"
}

# day K MIB: a day's backup (MIB of fresh data, the day before's dropped), spool retention.
day() {
	local k=$1 w
	w=$(when "$k")
	head -c $(($2 << 20)) /dev/urandom >"$SRC/day-$k.bin"
	rm -f "$SRC/day-$((k - 1)).bin"
	printf 'day %d\n' "$k" >>"$SRC/journal.txt"
	expect_exit 0 at "$w" --json backup "$SRC"
	SID=$(json_get "$OUT" snapshot)
	DAY[$SID]=$k
	expect_exit 0 at "$w" forget "${SPOOL_KEEP[@]}"
	expect_exit 0 at "$w" prune
}

# shape K: after day K's push, the drive holds the pinned day and a run of days M..K with
# M <= K-13, M never going back; sets M.
shape() {
	local k=$1 first d prev
	drive_days
	grep -qx "$PIN_DAY" "$LOGDIR/drive" || fail "day $k: the pinned snapshot (day $PIN_DAY) is gone"
	first=$(grep -vx "$PIN_DAY" "$LOGDIR/drive" | head -n 1)
	prev=$((first - 1))
	while read -r d; do
		[ "$d" = "$PIN_DAY" ] && [ "$d" -lt "$first" ] && continue
		[ "$d" = $((prev + 1)) ] || fail "day $k: the drive's days are not a run ending today: $(tr '\n' ' ' <"$LOGDIR/drive")"
		prev=$d
	done <"$LOGDIR/drive"
	[ "$prev" = "$k" ] || fail "day $k: the newest day on the drive is $prev"
	[ "$first" -le $((k - 13)) ] || [ "$first" -le 1 ] || [ "$first" -le "$PIN_DAY" ] ||
		fail "day $k: a snapshot of the last 14 days was removed (oldest left: day $first)"
	[ "$first" -ge "$M" ] || fail "day $k: day $first is back on the drive"
	M=$first
}

log "$SMALL_DAYS days of $SMALL_MIB MiB of new data on a 64 MiB drive that keeps 60 days"
M=1
PIN_DAY=2
thinned_at=
for k in $(seq 1 "$SMALL_DAYS"); do
	day "$k" "$SMALL_MIB"
	if [ "$k" = "$PIN_DAY" ]; then
		expect_exit 0 cf pin "$SID" --reason "end of year"
		PIN_ID=$SID
	fi
	expect_exit 0 at "$(when "$k")" push --config "$CONF"
	[ "$k" -ge "$PIN_DAY" ] || { drive_days; continue; }
	before=$M
	shape "$k"
	[ "$M" = "$before" ] || [ -n "$thinned_at" ] || thinned_at=$k
	info "day $k: the drive holds $(grep -c '' "$LOGDIR/drive") snapshots: the pinned day $PIN_DAY and days $M..$k"
done
[ -n "$thinned_at" ] || fail "the drive never had to be thinned: it is not full"
[ "$M" -gt "$((PIN_DAY + 1))" ] || fail "no old snapshot was thinned"
info "thinning began on day $thinned_at; days $((PIN_DAY + 1))..$((M - 1)) were removed"
expect_exit 0 cf --repo "$USB" check --read-data
info "check --read-data on the drive: $(tail -n 1 "$OUT")"
# Superseded index objects do not pile up there: at most one of its own besides the spool's.
expect_exit 0 "$COFFRE_TOOLS/dst_tool" "$USB" list index/
nidx=$(grep -c '^index/' "$OUT" || true)
nspool=$(find "$COFFRE_REPOSITORY/index" -type f | wc -l)
info "index objects: $nidx on the drive, $nspool in the spool"
[ "$nidx" -le $((nspool + 1)) ] || fail "the drive keeps $nidx index objects for the spool's $nspool"
expect_exit 0 cf --repo "$USB" restore "$PIN_ID" --target "$TESTDIR/r"
[ -f "$TESTDIR/r$SRC/day-$PIN_DAY.bin" ] || fail "the pinned snapshot does not restore its day's file"
rm -rf "$TESTDIR/r"

log "days of $BIG_MIB MiB: the last 14 days alone no longer fit"
too_small=
for k in $(seq $((SMALL_DAYS + 1)) "$NDAYS"); do
	drive_days
	cp "$LOGDIR/drive" "$LOGDIR/drive.before"
	day "$k" "$BIG_MIB"
	expect_exit "0|1|14" at "$(when "$k")" push --config "$CONF"
	if [ "$RC" = 0 ]; then
		shape "$k"
		info "day $k: the drive holds the pinned day $PIN_DAY and days $M..$k"
		continue
	fi
	info "day $k: push exits $RC: $(cat "$ERR")"
	grep -q "$USB is too small: it is full with only the snapshots of the last 14 days and the pinned ones; the copy it holds stays as it is: use a larger drive" "$ERR" ||
		fail "day $k: the failed push does not say plainly that the drive is too small"
	too_small=$k
	break
done
[ -n "$too_small" ] || fail "the drive never got too small"

log "the drive after the failed push: checks clean, holds its snapshots"
drive_days
info "the drive holds days: $(tr '\n' ' ' <"$LOGDIR/drive")"
grep -qx "$PIN_DAY" "$LOGDIR/drive" || fail "the pinned snapshot is gone"
while read -r d; do
	[ "$d" -lt $((too_small - 13)) ] || grep -qx "$d" "$LOGDIR/drive" ||
		fail "day $d (of the last 14) was on the drive before the failed push and is gone"
done <"$LOGDIR/drive.before"
expect_exit 0 cf --repo "$USB" check --read-data
info "check --read-data on the drive: $(tail -n 1 "$OUT")"
last=$(tail -n 1 "$LOGDIR/drive")
for id in "${!DAY[@]}"; do [ "${DAY[$id]}" != "$last" ] || lid=$id; done
expect_exit 0 cf --repo "$USB" restore "$lid" --target "$TESTDIR/r"
cmp -s "$TESTDIR/r$SRC/journal.txt" <(seq 1 "$last" | sed 's/^/day /') ||
	fail "the newest snapshot on the drive (day $last) does not restore its day's journal"
pass
