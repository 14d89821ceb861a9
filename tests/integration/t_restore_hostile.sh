#!/usr/bin/env bash
# t_restore_hostile.sh: restores of a tree crafted as root, where ownership, hard links and
# names could hurt:
#  - files owned by uid 0 (one of them 0600) and by another uid: restored as root they keep
#    their owners; restored by an ordinary user (setpriv to nobody) they are that user's, with
#    the same content and modes, and the restore succeeds;
#  - hard-link groups (one spanning folders): restored as hard links of one another inside
#    the target, never to the backed-up files (their inode and link count are untouched);
#  - nothing appears or changes outside the target in either restore;
#  - names that differ only in case (Facture.pdf and facture.pdf in one folder, and folders
#    Clients and clients) restored onto a FAT32 image (fusefat -o rw+) and an exFAT image
#    (mount.exfat-fuse), both on loop devices: the first of each pair is restored, the second
#    is not written over it: the restore names it ("not restored: ... takes its name for
#    'Facture.pdf'") and exits 3, and --verify does not take the other file for it; each one
#    left out restores on its own with --include.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup
[ "$(id -u)" = 0 ] || skip "needs root (files owned by uid 0, loop devices)"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is needed to restore as another user"
setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null ||
	skip "setpriv cannot switch to uid 65534 here"
usb_test_setup
command -v mkfs.exfat >/dev/null && command -v mount.exfat-fuse >/dev/null ||
	skip "needs mkfs.exfat and mount.exfat-fuse (exfatprogs, exfat-fuse)"
# shellcheck disable=SC2317 # called by lib.sh on exit
cleanup_hook() {
	usb_release
}
T=$TESTDIR
SRC=$T/src

log "a tree crafted as root"
mkdir -p "$SRC/root" "$SRC/links/sub" "$SRC/docs" "$SRC/Clients" "$SRC/clients"
printf 'root only\n' >"$SRC/root/secret.txt"
chmod 600 "$SRC/root/secret.txt"
printf 'owned by 1234\n' >"$SRC/root/other.txt"
chown 1234:1234 "$SRC/root/other.txt"
printf 'shared by three names\n' >"$SRC/links/a"
ln "$SRC/links/a" "$SRC/links/b"
ln "$SRC/links/a" "$SRC/links/sub/c"
printf 'second group\n' >"$SRC/links/x"
ln "$SRC/links/x" "$SRC/links/sub/y"
printf 'FACTURE (majuscule)\n' >"$SRC/docs/Facture.pdf"
printf 'facture (minuscule), another content\n' >"$SRC/docs/facture.pdf"
printf 'autre\n' >"$SRC/docs/devis.pdf"
printf 'Dupont\n' >"$SRC/Clients/dupont.txt"
printf 'Martin\n' >"$SRC/clients/martin.txt"
A_INO=$(stat -c %i "$SRC/links/a")

expect_exit 0 cf init
expect_exit 0 cf --json backup "$SRC"
SNAP=$(json_get "$OUT" snapshot)

# outside_state: what lies in the test dir outside the restore targets, the logs, the cache
# and the repository's locks (taken by each restore), with inode numbers, link counts,
# owners, sizes and times.
outside_state() {
	(cd "$T" && find . -mindepth 1 \( -path ./log -o -path ./cache -o -path './r-*' \
		-o -path ./nobody -o -path './mnt-*' -o -path ./repo/locks \) -prune -o \
		-printf '%p %y %i %n %U:%G %s %T@\n' | sort)
}
outside_state >"$LOGDIR/outside.before"

# same_links DIR: the two hard-link groups of the tree under DIR are whole, apart from
# each other and from the backed-up files.
same_links() {
	local d=$1/links i
	i=$(stat -c %i "$d/a")
	[ "$(stat -c %i "$d/b")" = "$i" ] && [ "$(stat -c %i "$d/sub/c")" = "$i" ] ||
		fail "$d: a, b and sub/c are not one file"
	[ "$(stat -c %h "$d/a")" = 3 ] || fail "$d/a has $(stat -c %h "$d/a") names, not 3"
	[ "$(stat -c %i "$d/x")" = "$(stat -c %i "$d/sub/y")" ] || fail "$d: x and sub/y are not one file"
	[ "$(stat -c %h "$d/x")" = 2 ] || fail "$d/x has $(stat -c %h "$d/x") names, not 2"
	[ "$i" != "$(stat -c %i "$d/x")" ] || fail "$d: the two groups are one file"
	[ "$i" != "$A_INO" ] || fail "$d/a is the backed-up file itself"
	[ "$(stat -c %h "$SRC/links/a")" = 3 ] || fail "the backed-up file got another name"
}

log "restored as root: owners kept, hard links inside the target"
expect_exit 0 cf restore "$SNAP" --target "$T/r-root"
R=$T/r-root$SRC
[ "$(stat -c %u:%g:%a "$R/root/secret.txt")" = 0:0:600 ] ||
	fail "secret.txt restored as $(stat -c %u:%g:%a "$R/root/secret.txt"), not 0:0:600"
[ "$(stat -c %u:%g "$R/root/other.txt")" = 1234:1234 ] ||
	fail "other.txt restored as $(stat -c %u:%g "$R/root/other.txt"), not 1234:1234"
# On a file system that tells case apart, both names of each pair come back.
compare_trees "$SRC" "$R"
same_links "$R"
outside_state >"$LOGDIR/outside.after-root"
diff -u "$LOGDIR/outside.before" "$LOGDIR/outside.after-root" ||
	fail "the root restore changed something outside its target"

log "restored by an ordinary user (uid 65534): its files, same content, nothing outside"
N=$T/nobody
mkdir -p "$N/home" "$N/cache"
cp -a "$COFFRE_REPOSITORY" "$N/repo"
cp "$COFFRE_PASSWORD_FILE" "$N/password"
chown -R 65534:65534 "$N"
chmod 700 "$N"
chmod 711 "$T"	# the user passes through the test dir to its own folder, and reads nothing else
RC=0
setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$N/home" \
	XDG_CACHE_HOME="$N/cache" COFFRE_REPOSITORY="$N/repo" COFFRE_PASSWORD_FILE="$N/password" \
	"$COFFRE" restore "$SNAP" --target "$N/r" </dev/null >"$LOGDIR/nobody.out" \
	2>"$LOGDIR/nobody.err" || RC=$?
[ "$RC" = 0 ] || { cat "$LOGDIR/nobody.err" >&2; fail "the restore as uid 65534 exited $RC"; }
RN=$N/r$SRC
owners=$(find "$N/r" -printf '%U:%G\n' | sort -u)
[ "$owners" = 65534:65534 ] || fail "entries restored by uid 65534 are owned by: $owners"
for f in root/secret.txt root/other.txt links/a docs/Facture.pdf docs/facture.pdf \
	Clients/dupont.txt clients/martin.txt; do
	cmp -s "$SRC/$f" "$RN/$f" || fail "$f restored by uid 65534 differs"
done
[ "$(stat -c %a "$RN/root/secret.txt")" = 600 ] || fail "secret.txt lost its mode 600"
same_links "$RN"
outside_state >"$LOGDIR/outside.after-nobody"
diff -u "$LOGDIR/outside.before" "$LOGDIR/outside.after-nobody" ||
	fail "the restore by uid 65534 changed something outside its target"

not_mounted() { ! grep -q " $1 " /proc/self/mounts; }

# onto KIND: restore the snapshot's docs and clients folders onto a KIND image.
onto() {
	local kind=$1 img=$T/$1.img m=$T/mnt-$1-$SUF dev
	truncate -s 64M "$img"
	case $kind in
	FAT32) mkfs.vfat -F 32 "$img" >/dev/null || fail "mkfs.vfat failed" ;;
	exFAT) mkfs.exfat "$img" >/dev/null || fail "mkfs.exfat failed" ;;
	esac
	dev=$(losetup -f --show "$img") || skip "losetup cannot attach an image here"
	LOOPS+=("$dev")
	mkdir -p "$m"
	case $kind in
	FAT32) fusefat -o rw+ "$dev" "$m" >"$LOGDIR/mount.$kind" 2>&1 ||
		fail "fusefat cannot mount $dev: $(cat "$LOGDIR/mount.$kind")" ;;
	exFAT) mount.exfat-fuse "$dev" "$m" >"$LOGDIR/mount.$kind" 2>&1 ||
		fail "mount.exfat-fuse cannot mount $dev: $(cat "$LOGDIR/mount.$kind")" ;;
	esac
	wait_for 10 "$kind mounted at $m" grep -q " $m " /proc/self/mounts

	log "$kind: Facture.pdf and facture.pdf, Clients and clients: one of each pair is left out, named, exit 3"
	expect_exit 3 cf restore "$SNAP" --target "$m/r" --include "$SRC/docs" \
		--include "$SRC/Clients" --include "$SRC/clients" --verify
	info "stderr: $(cat "$ERR")"
	# --verify compares what was written, not the other entry sitting at a name left out.
	! grep -q "verify:" "$ERR" || fail "$kind: verify reports what was left out: $(cat "$ERR")"
	grep -q "^coffre: '$SRC/docs/facture.pdf': not restored: .*'Facture.pdf'" "$ERR" ||
		fail "$kind: facture.pdf is not named as not restored"
	grep -q "^coffre: '$SRC/clients': not restored: .*'Clients'" "$ERR" ||
		fail "$kind: the folder clients is not named as not restored"
	local D=$m/r$SRC
	cmp -s "$SRC/docs/Facture.pdf" "$D/docs/Facture.pdf" ||
		fail "$kind: Facture.pdf was overwritten: $(cat "$D/docs/Facture.pdf")"
	cmp -s "$SRC/docs/devis.pdf" "$D/docs/devis.pdf" || fail "$kind: devis.pdf differs"
	cmp -s "$SRC/Clients/dupont.txt" "$D/Clients/dupont.txt" || fail "$kind: dupont.txt differs"
	[ ! -e "$D/Clients/martin.txt" ] || fail "$kind: clients/ was merged into Clients/"
	[ "$(ls "$D/docs" | wc -l)" = 2 ] || fail "$kind: docs holds $(ls "$D/docs")"

	log "$kind: what was left out restores on its own with --include"
	expect_exit 0 cf restore "$SNAP" --target "$m/r2" --include "$SRC/docs/facture.pdf" \
		--include "$SRC/clients"
	cmp -s "$SRC/docs/facture.pdf" "$m/r2$SRC/docs/facture.pdf" ||
		fail "$kind: facture.pdf restored apart differs"
	cmp -s "$SRC/clients/martin.txt" "$m/r2$SRC/clients/martin.txt" ||
		fail "$kind: clients/martin.txt restored apart differs"
	fusermount -u "$m" || umount "$m" || fail "cannot unmount $m"
	wait_for 10 "$m unmounted" not_mounted "$m"
}

onto FAT32
onto exFAT
pass
