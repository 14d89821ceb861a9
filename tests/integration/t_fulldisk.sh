#!/usr/bin/env bash
# t_fulldisk.sh: a repository on a full disk (an 8 MiB tmpfs; needs root, else skipped).
#  - a first small backup succeeds;
#  - a backup of 20 MiB of random data fails with exit 1 and a message about space, leaves
#    no new snapshot and the repository unlocked;
#  - the first snapshot still restores identical; `check` exits 0 on the full disk;
#  - after the disk grows (remount size=64m): `check` 0, the big backup succeeds,
#    `check --read-data` 0 and it restores identical.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
setup
DISK=$TESTDIR/disk
tmpfs_disk "$DISK" 8m
export COFFRE_REPOSITORY=$DISK/repo
SRC=$TESTDIR/data/src
BIG=$TESTDIR/data/big
mkdir -p "$TESTDIR/data" "$BIG"

log "init on an 8 MiB tmpfs, small backup"
expect_exit 0 cf init
gen_data "$SRC" --seed 41 --size tiny
expect_exit 0 cf --json backup "$SRC"
S1=$(json_get "$OUT" snapshot)
info "repository: $(du -sk "$DISK/repo" | cut -f1) KiB, free: $(df -k --output=avail "$DISK" | tail -n 1) KiB"

log "backup of 20 MiB of random data: exit 1, a message about space"
head -c $((20 << 20)) /dev/urandom >"$BIG/random.bin"
expect_exit 1 cf backup "$BIG"
grep -qi 'space' "$ERR" || { cat "$ERR" >&2; fail "no message mentioning space on stderr"; }
grep -q '^coffre: ' "$ERR" || fail "no 'coffre: ' error line"
info "stderr: $(grep -i space "$ERR" | head -n 1)"
snapshot_ids >"$LOGDIR/ids"
[ "$(cat "$LOGDIR/ids")" = "$S1" ] || fail "the failed backup changed the snapshot list: $(cat "$LOGDIR/ids")"

log "on the full disk: the first snapshot restores, check exits 0"
expect_exit 0 cf restore "$S1" --target "$TESTDIR/r1"
compare_trees "$SRC" "$TESTDIR/r1$SRC"
rm -rf "$TESTDIR/r1"
expect_exit 0 cf check
info "free after the failure: $(df -k --output=avail "$DISK" | tail -n 1) KiB"

log "disk grown to 64 MiB: check, big backup, check --read-data, restore"
mount -o remount,size=64m "$DISK" || skip "cannot remount the tmpfs bigger"
expect_exit 0 cf check
expect_exit 0 cf --json backup "$BIG"
S2=$(json_get "$OUT" snapshot)
expect_exit 0 cf check --read-data
expect_exit 0 cf restore "$S2" --target "$TESTDIR/r2"
compare_trees "$BIG" "$TESTDIR/r2$BIG"
expect_exit 0 cf restore "$S1" --target "$TESTDIR/r3"
compare_trees "$SRC" "$TESTDIR/r3$SRC"

pass
