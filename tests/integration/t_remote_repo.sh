#!/usr/bin/env bash
# t_remote_repo.sh: a whole repository on each kind of destination, driven by the coffre
# command alone: init, two days of backups, then, on a fresh cache as a machine that has
# never seen the shop would have, snapshots, restore (bit-exact), check --read-data, once
# with the password and once with only the recovery key. Kinds: S3 (s3rver), SFTP (sshd),
# a USB drive (FAT32 image found by its label). Each kind skips alone, with its reason,
# when its server or privileges are missing; the test skips if none could run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
SERVERS=$COFFRE_TESTS/servers
ran=0
skipped=()

# roundtrip NAME URL [extra coffre options...]
roundtrip() {
	local name=$1 url=$2
	shift 2
	local src=$TESTDIR/src-$name
	log "$name: init, back up two days"
	gen_data "$src" --size tiny --seed 11
	cf --repo "$url" "$@" --json init >"$LOGDIR/$name-init.json" || fail "$name: init failed"
	json_get "$LOGDIR/$name-init.json" recovery_key >"$TESTDIR/$name.rk"
	cf --repo "$url" "$@" backup "$src" -q || fail "$name: first backup failed"
	gen_data --mutate "$src" --day 1 --seed 11
	cf --repo "$url" "$@" backup "$src" -q || fail "$name: second backup failed"
	log "$name: a fresh cache, only the password"
	export XDG_CACHE_HOME=$TESTDIR/cache-$name-pw
	cf --repo "$url" "$@" snapshots --json >"$LOGDIR/$name-snaps.json" || fail "$name: snapshots failed"
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert len(s)==2, s' \
		"$LOGDIR/$name-snaps.json" || fail "$name: expected 2 snapshots"
	cf --repo "$url" "$@" restore latest --target "$TESTDIR/r-$name" --verify -q ||
		fail "$name: restore failed"
	compare_trees "$src" "$TESTDIR/r-$name$src"
	cf --repo "$url" "$@" check --read-data -q || fail "$name: check --read-data failed"
	log "$name: a fresh cache, only the recovery key"
	export XDG_CACHE_HOME=$TESTDIR/cache-$name-rk
	local pwf=$COFFRE_PASSWORD_FILE
	unset COFFRE_PASSWORD_FILE
	cf --repo "$url" "$@" --recovery-key-file "$TESTDIR/$name.rk" restore latest \
		--target "$TESTDIR/rk-$name" -q || fail "$name: restore with the recovery key failed"
	compare_trees "$src" "$TESTDIR/rk-$name$src"
	export COFFRE_PASSWORD_FILE=$pwf
	export XDG_CACHE_HOME=$TESTDIR/cache
	ran=$((ran + 1))
}

# --- S3 (s3rver: fast, any signature) ---
if [ -x "$SERVERS/node_modules/.bin/s3rver" ] && command -v node >/dev/null; then
	port=$("$SERVERS/s3rver.sh" start "$TESTDIR/s3" coffre) || fail "s3rver did not start"
	printf 'S3RVER\nS3RVER\n' >"$TESTDIR/s3keys"
	chmod 600 "$TESTDIR/s3keys"
	roundtrip s3 "s3://127.0.0.1:$port/coffre/shop1" --s3-keys-file "$TESTDIR/s3keys"
	"$SERVERS/s3rver.sh" stop "$TESTDIR/s3" || true
else
	skipped+=("s3: s3rver is not installed (npm install --prefix tests/servers)")
fi

# --- SFTP (a private sshd on loopback) ---
if [ "$(id -u)" = 0 ] && [ -x /usr/sbin/sshd ]; then
	cleanup_hook() { "$SERVERS/sshd.sh" stop "$TESTDIR/ssh" 2>/dev/null || true; _usb_cleanup; }
	read -r PORT USER FP < <("$SERVERS/sshd.sh" start "$TESTDIR/ssh") || fail "sshd did not start"
	roundtrip sftp "sftp://$USER@127.0.0.1:$PORT$TESTDIR/sftp-repo" \
		--sftp-key-file "$TESTDIR/ssh/client_key" --sftp-host-key "$FP"
	"$SERVERS/sshd.sh" stop "$TESTDIR/ssh" || true
else
	skipped+=("sftp: needs root and openssh-server")
fi

# --- USB: a FAT32 image on a loop device, found by label, mounted through FUSE ---
LOOP=
_usb_cleanup() {
	local m
	for m in $(awk -v l="usb-$LABEL" 'index($2, l) {print $2}' /proc/self/mounts 2>/dev/null); do
		fusermount -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || true
	done
	[ -z "$LOOP" ] || losetup -d "$LOOP" 2>/dev/null || true
}
LABEL=CR$(od -An -N3 -tx1 /dev/urandom | tr -d ' ' | tr a-f A-F)
if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ] && command -v mkfs.vfat >/dev/null &&
	command -v fusefat >/dev/null; then
	declare -F cleanup_hook >/dev/null || cleanup_hook() { _usb_cleanup; }
	truncate -s 96M "$TESTDIR/usb.img"
	mkfs.vfat -F 32 -n "$LABEL" "$TESTDIR/usb.img" >/dev/null
	if LOOP=$(losetup -f --show "$TESTDIR/usb.img"); then
		roundtrip usb "usb:$LABEL"
		grep -q "usb-$LABEL" /proc/self/mounts && fail "usb: the drive is still mounted after use"
	else
		skipped+=("usb: losetup cannot attach an image here")
	fi
else
	skipped+=("usb: needs root, /dev/fuse, dosfstools and fusefat")
fi

for s in ${skipped[@]+"${skipped[@]}"}; do info "skipped $s"; done
[ "$ran" -gt 0 ] || skip "no destination kind could run here"
pass
