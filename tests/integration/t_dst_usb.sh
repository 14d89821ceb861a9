#!/usr/bin/env bash
# t_dst_usb: the USB destination through tests/tools/dst_tool, with a FAT32 and an exFAT image
# attached with losetup standing in for drives: found by label (and by UUID) with libblkid,
# mounted by coffre (fusefat / mount.exfat-fuse) for each run and unmounted after,
# put/get/range/stat/list/del, data still there after remounting and fsck clean, a drive that
# was already mounted is used and left mounted, a missing drive (13), a full drive (14 with a
# message about space; what was stored before stays intact).
# Labels carry a random suffix so that parallel runs do not find each other's images.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup
DST_TOOL=${COFFRE_TOOLS:-$COFFRE_TESTS/../build/tests}/dst_tool
[ -x "$DST_TOOL" ] || skip "dst_tool not built ($DST_TOOL)"
[ "$(id -u)" = 0 ] || skip "needs root (losetup and mounting)"
[ -c /dev/fuse ] || skip "no /dev/fuse (FAT32 and exFAT are mounted through FUSE)"
for c in losetup mkfs.vfat mkfs.exfat fsck.vfat fsck.exfat fusefat mount.exfat-fuse blkid; do
	command -v "$c" >/dev/null || skip "$c is not installed (dosfstools, exfatprogs, fusefat, exfat-fuse)"
done
LOOPS=()
cleanup_hook() {
	local l m
	for m in $(awk '$2 ~ /^\/run\/coffre\/usb-CF/ || $2 ~ /coffre-t_dst_usb/ {print $2}' /proc/self/mounts); do
		case $m in *"$SUF"*|"$TESTDIR"*) umount "$m" 2>/dev/null || fusermount -u "$m" 2>/dev/null || true ;; esac
	done
	for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done
}
SUF=$(od -An -N2 -tx2 /dev/urandom | tr -d ' ' | tr a-f A-F)

attach() { # IMAGE -> sets DEV
	DEV=$(losetup -f --show "$1") || skip "losetup cannot attach an image here"
	LOOPS+=("$DEV")
}
not_mounted() { # LABEL DEV
	! grep -q -E "^$2 |/run/coffre/usb-$1 " /proc/self/mounts || { grep -E "$2|usb-$1" /proc/self/mounts; fail "usb:$1 is still mounted"; }
}

python3 - "$TESTDIR" <<'PY'
import os, random, sys
d = sys.argv[1]
open(os.path.join(d, "small"), "wb").write(b"hello, coffre\n" * 100)
open(os.path.join(d, "pack"), "wb").write(random.Random(4).randbytes(5_000_000))
open(os.path.join(d, "fill"), "wb").write(random.Random(5).randbytes(20_000_000))
PY

check_drive() { # KIND LABEL DEV
	local kind=$1 label=$2 dev=$3 T=("$DST_TOOL" "usb:$2")
	log "$kind usb:$label ($dev): put, get, range, stat, list, del; unmounted after each run"
	expect_exit 0 "${T[@]}" put config "$TESTDIR/small"
	not_mounted "$label" "$dev"
	expect_exit 0 "${T[@]}" put data/ab/pack1 "$TESTDIR/pack"
	expect_exit 0 "${T[@]}" putbuf snapshots/snap1 "$TESTDIR/small"
	expect_exit 0 "${T[@]}" putbuf data/cd/gone "$TESTDIR/small"
	not_mounted "$label" "$dev"
	expect_exit 0 "${T[@]}" get data/ab/pack1 "$TESTDIR/got"
	cmp -s "$TESTDIR/pack" "$TESTDIR/got" || fail "get returned different bytes"
	expect_exit 0 "${T[@]}" range config 7 6 "$TESTDIR/r"
	[ "$(cat "$TESTDIR/r")" = coffre ] || fail "range returned '$(cat "$TESTDIR/r")'"
	expect_exit 0 "${T[@]}" stat data/ab/pack1
	[ "$(cat "$OUT")" = 5000000 ] || fail "stat says $(cat "$OUT")"
	expect_exit 0 "${T[@]}" del data/cd/gone
	expect_exit 15 "${T[@]}" stat data/cd/gone
	expect_exit 0 "${T[@]}" list ""
	sort "$OUT" >"$TESTDIR/list"
	printf '%s\n' "config 1400" "data/ab/pack1 5000000" "snapshots/snap1 1400" | cmp -s - "$TESTDIR/list" ||
		{ cat "$TESTDIR/list"; fail "unexpected listing"; }
	not_mounted "$label" "$dev"
	case $kind in
	FAT32) fsck.vfat -n "$dev" >"$LOGDIR/fsck.$label" 2>&1 || { cat "$LOGDIR/fsck.$label"; fail "fsck.vfat finds errors"; } ;;
	exFAT) fsck.exfat -n "$dev" >"$LOGDIR/fsck.$label" 2>&1 || { cat "$LOGDIR/fsck.$label"; fail "fsck.exfat finds errors"; } ;;
	esac
	local uuid
	uuid=$(blkid -s UUID -o value "$dev")
	log "$kind: found by UUID=$uuid too"
	expect_exit 0 "$DST_TOOL" "usb:UUID=$uuid" stat config
	[ "$(cat "$OUT")" = 1400 ] || fail "stat by UUID says $(cat "$OUT")"
}

truncate -s 64M "$TESTDIR/fat.img" "$TESTDIR/exfat.img"
mkfs.vfat -F 32 -n "CFAT$SUF" "$TESTDIR/fat.img" >/dev/null || fail "mkfs.vfat failed"
mkfs.exfat -L "CEXF$SUF" "$TESTDIR/exfat.img" >/dev/null || fail "mkfs.exfat failed"
attach "$TESTDIR/fat.img"
FATDEV=$DEV
attach "$TESTDIR/exfat.img"
EXDEV=$DEV
check_drive FAT32 "CFAT$SUF" "$FATDEV"
check_drive exFAT "CEXF$SUF" "$EXDEV"

log "a drive that is already mounted is used where it is and left mounted"
mkdir -p "$TESTDIR/mnt"
fusefat -o rw+ "$FATDEV" "$TESTDIR/mnt" >/dev/null 2>&1 || fail "cannot mount the FAT image by hand"
expect_exit 0 "$DST_TOOL" "usb:CFAT$SUF" putbuf snapshots/snap2 "$TESTDIR/small"
grep -q " $TESTDIR/mnt " /proc/self/mounts || fail "the user's mount was unmounted"
[ -f "$TESTDIR/mnt/coffre/snapshots/snap2" ] || fail "snap2 is not in the user's mount"
umount "$TESTDIR/mnt"
fusefat_gone() { ! pgrep -f "fusefat -o rw\+ $FATDEV" >/dev/null; }
wait_for 30 "the hand-mounted fusefat exits after umount" fusefat_gone

log "a missing drive: 13, one line"
expect_exit 13 "$DST_TOOL" "usb:NOPE$SUF" list ""
info "$(cat "$ERR")"
[ "$(grep -c '' "$ERR")" = 1 ] || fail "more than one line: $(cat "$ERR")"

for kd in "FAT32 CFAT$SUF $FATDEV" "exFAT CEXF$SUF $EXDEV"; do
	read -r kind label dev <<<"$kd"
	log "$kind: filling the drive up gives 14 with a message about space"
	rc=0
	for i in 1 2 3 4 5; do
		expect_exit "0|14" "$DST_TOOL" "usb:$label" put "data/ff/fill$i" "$TESTDIR/fill"
		[ "$RC" = 14 ] && break
	done
	[ "$RC" = 14 ] || fail "64 MiB drive took 100 MB without ENOSPC"
	grep -qi 'space' "$ERR" || fail "message does not mention space: $(cat "$ERR")"
	[ "$(grep -c '' "$ERR")" = 1 ] || fail "more than one line: $(cat "$ERR")"
	info "$(cat "$ERR")"
	not_mounted "$label" "$dev"
	expect_exit 15 "$DST_TOOL" "usb:$label" stat "data/ff/fill$i"
	expect_exit 0 "$DST_TOOL" "usb:$label" get data/ab/pack1 "$TESTDIR/got"
	cmp -s "$TESTDIR/pack" "$TESTDIR/got" || fail "earlier object damaged by the full drive"
	expect_exit 0 "$DST_TOOL" "usb:$label" list data/ff/
	! grep -q '\.tmp' "$OUT" || fail "a temp file is listed"
done
pass
