#!/usr/bin/env bash
# t_usb_full.sh: a repository on a USB drive (coffre --repo usb:LABEL) that fills up during a
# backup, packs being written straight to the drive, with a FAT32 image (fusefat) and an ext4
# image (mount(2)) attached with losetup:
#  - a first small backup succeeds;
#  - a backup of more random data than the drive holds fails, non-zero, with one clear line
#    "no space left on the drive usb:LABEL (...)", leaves no new snapshot, no temp file and the
#    drive unmounted;
#  - on the full drive the first snapshot restores identical and `check` exits 0;
#  - the drive's filesystem is clean (fsck).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup
usb_test_setup
command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 is not installed (e2fsprogs)"
# shellcheck disable=SC2317 # called by lib.sh on exit
cleanup_hook() {
	usb_release
}
SRC=$TESTDIR/data/src
BIG=$TESTDIR/data/big
mkdir -p "$TESTDIR/data" "$BIG"
gen_data "$SRC" --seed 43 --size tiny
head -c $((48 << 20)) /dev/urandom >"$BIG/random.bin"

# look_inside DEV KIND: lists the files of the coffre folder on the drive into $LOGDIR/inside.
look_inside() {
	local m=$TESTDIR/look-$SUF
	mkdir -p "$m"
	case $2 in
	FAT32) fusefat -o ro "$1" "$m" >/dev/null 2>&1 || fail "cannot mount the FAT image by hand" ;;
	ext4) mount -o ro "$1" "$m" || fail "cannot mount the ext4 image by hand" ;;
	esac
	(cd "$m/coffre" && find . -type f) >"$LOGDIR/inside"
	umount "$m" || fusermount -u "$m"
	for _ in $(seq 1 50); do pgrep -f "fusefat -o ro $1 " >/dev/null || break; sleep 0.1; done
}

fill_drive() { # KIND
	local kind=$1 label img dev
	label=CU${kind:0:2}$SUF
	img=$TESTDIR/$kind.img
	truncate -s 40M "$img"
	case $kind in
	FAT32) mkfs.vfat -F 32 -n "$label" "$img" >/dev/null || fail "mkfs.vfat failed" ;;
	ext4) mkfs.ext4 -q -L "$label" -m 0 "$img" || fail "mkfs.ext4 failed" ;;
	esac
	dev=$(losetup -f --show "$img") || skip "losetup cannot attach an image here"
	LOOPS+=("$dev")
	export COFFRE_REPOSITORY=usb:$label

	log "$kind usb:$label: init, a small backup"
	expect_exit 0 cf init
	expect_exit 0 cf --json backup "$SRC"
	local s1
	s1=$(json_get "$OUT" snapshot)
	grep -q "usb-$label " /proc/self/mounts && fail "the drive stayed mounted"

	log "$kind: a backup bigger than the drive: non-zero, no space left on the drive"
	expect_exit "1|14" cf backup "$BIG"
	info "stderr: $(cat "$ERR")"
	grep -q "no space left on the drive usb:$label (" "$ERR" ||
		fail "no 'no space left on the drive usb:$label' on stderr"
	[ "$(grep -c '' "$ERR")" = 1 ] || fail "more than one line: $(cat "$ERR")"
	grep -q "usb-$label " /proc/self/mounts && fail "the drive stayed mounted"
	snapshot_ids >"$LOGDIR/ids"
	[ "$(cat "$LOGDIR/ids")" = "$s1" ] || fail "the failed backup changed the snapshot list: $(cat "$LOGDIR/ids")"

	log "$kind: on the full drive the first snapshot restores and check exits 0"
	expect_exit 0 cf restore "$s1" --target "$TESTDIR/r-$kind"
	compare_trees "$SRC" "$TESTDIR/r-$kind$SRC"
	expect_exit 0 cf check
	expect_exit 0 cf check --read-data
	look_inside "$dev" "$kind"
	losetup -d "$dev"
	! grep -q '\.tmp$' "$LOGDIR/inside" || fail "a temp file was left on the drive: $(grep '\.tmp$' "$LOGDIR/inside")"
	case $kind in
	FAT32) fsck.vfat -n "$img" >"$LOGDIR/fsck.$kind" 2>&1 || { cat "$LOGDIR/fsck.$kind"; fail "fsck.vfat finds errors"; } ;;
	ext4) fsck.ext4 -n -f "$img" >"$LOGDIR/fsck.$kind" 2>&1 || { cat "$LOGDIR/fsck.$kind"; fail "fsck.ext4 finds errors"; } ;;
	esac
}

fill_drive FAT32
fill_drive ext4
pass
