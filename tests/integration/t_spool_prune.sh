#!/usr/bin/env bash
# t_spool_prune.sh: retention on a spool whose data packs were cleared after a push.
#  - a pack that is mostly dead after forget (and whose copy lives only on the destination)
#    is kept as it is instead of being repacked: prune succeeds on the spool;
#  - the next push and a restore from the destination on a fresh cache still give the tree,
#    and check --read-data there finds nothing wrong.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
SRC=$TESTDIR/src
NAS=$TESTDIR/nas

cf init -q >/dev/null || fail "init failed"
mkdir -p "$SRC"
echo "FAC-00001 total 12.00" >"$SRC/invoice.txt"
head -c 3000000 /dev/urandom >"$SRC/scan.bin"
cf backup "$SRC" -q || fail "first backup failed"
rm "$SRC/scan.bin"
echo "FAC-00002 total 30.00" >"$SRC/invoice2.txt"
cf backup "$SRC" -q || fail "second backup failed"
cp -a "$SRC" "$TESTDIR/copy"

log "push to the NAS, clear the spool's data packs"
expect_exit 0 cf push --to "$NAS" --clear-spool
[ "$(find "$COFFRE_REPOSITORY/data" -type f | wc -l)" -lt "$(find "$NAS/data" -type f | wc -l)" ] ||
	fail "--clear-spool removed nothing"

log "forget the first snapshot and prune the cleared spool"
expect_exit 0 cf forget --keep-last 1 --keep-within 0 --prune
cat "$OUT"

log "push again; the NAS restores the tree and checks clean"
expect_exit 0 cf push --to "$NAS"
export XDG_CACHE_HOME=$TESTDIR/cache2
expect_exit 0 cf --repo "$NAS" restore latest --target "$TESTDIR/r"
compare_trees "$TESTDIR/copy" "$TESTDIR/r$SRC"
expect_exit 0 cf --repo "$NAS" check --read-data
pass
