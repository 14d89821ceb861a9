#!/usr/bin/env bash
# t_incremental.sh: incremental backups read and store only what changed.
#  - a second backup of an unchanged tree reads nothing and adds no data blob; every file is
#    counted unchanged;
#  - after `mv projets/A projets/B` (6 MiB of files), no data blob is added and bytes_added stays
#    small (trees only);
#  - after rewriting one 4 KiB page in the middle of a 20 MiB file, bytes_added < 200 KiB.
# The last snapshot must still restore identical to the source.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

SRC=$TESTDIR/data/src
MV_LIMIT=$((100 * 1024))        # bytes_added allowed for the rename (trees only)
PAGE_LIMIT=$((200 * 1024))      # bytes_added allowed for one changed page

log "init"
expect_exit 0 cf init

log "generate: a tiny shop tree, projets/A (3 x 2 MiB), big/base.db (20 MiB)"
mkdir -p "$TESTDIR/data"
gen_data "$SRC" --seed 11 --size tiny
python3 - "$SRC" <<'PY'
import os, random, sys
src = sys.argv[1]
rng = random.Random("t_incremental")
os.makedirs(os.path.join(src, "projets", "A"))
for i in range(3):
    with open(os.path.join(src, "projets", "A", "plan-%d.bin" % i), "wb") as f:
        f.write(rng.randbytes(2 << 20))
os.makedirs(os.path.join(src, "big"))
with open(os.path.join(src, "big", "base.db"), "wb") as f:
    for _ in range(20):
        f.write(rng.randbytes(1 << 20))
# mtimes in the past, so a later change is always a different mtime
for dp, dns, fns in os.walk(src):
    for n in fns + dns:
        p = os.path.join(dp, n)
        if not os.path.islink(p):
            os.utime(p, (1600000000, 1600000000))
os.utime(src, (1600000000, 1600000000))
PY

# stat KEY...: print "KEY=value" for keys of the last backup's JSON ($OUT)
stats() {
	local k line=""
	for k in "$@"; do line+="$k=$(json_try "$OUT" "$k") "; done
	info "$line"
}
STATKEYS=(files_new files_changed files_unchanged bytes_read bytes_added data_blobs_added tree_blobs_added)

log "first backup"
expect_exit 0 cf --json backup "$SRC"
stats "${STATKEYS[@]}"
S1=$(json_get "$OUT" snapshot)
total=$(($(json_get "$OUT" files_new) + $(json_get "$OUT" files_changed) + $(json_get "$OUT" files_unchanged)))
names=$(find "$SRC" -type f -printf . | wc -c)
inodes=$(find "$SRC" -type f -printf '%i\n' | sort -u | wc -l)
[ "$total" = "$names" ] || [ "$total" = "$inodes" ] ||
	fail "first backup counts $total files; the tree has $names file names, $inodes inodes"
[ "$(json_get "$OUT" files_new)" = "$total" ] || fail "first backup: not every file counted new"
[ "$(json_get "$OUT" data_blobs_added)" -gt 0 ] || fail "first backup added no data blob"

log "second backup, nothing changed"
expect_exit 0 cf --json backup "$SRC"
stats "${STATKEYS[@]}"
[ "$(json_get "$OUT" parent)" = "$S1" ] || fail "second backup's parent is not the first snapshot"
[ "$(json_get "$OUT" bytes_read)" = 0 ] || fail "unchanged tree: bytes_read is not 0"
[ "$(json_get "$OUT" data_blobs_added)" = 0 ] || fail "unchanged tree: data_blobs_added is not 0"
[ "$(json_get "$OUT" files_unchanged)" = "$total" ] || fail "unchanged tree: files_unchanged != $total"
[ "$(json_get "$OUT" files_new)" = 0 ] && [ "$(json_get "$OUT" files_changed)" = 0 ] ||
	fail "unchanged tree: some files counted new or changed"

log "mv projets/A projets/B (6 MiB), backup"
mv "$SRC/projets/A" "$SRC/projets/B"
expect_exit 0 cf --json backup "$SRC"
stats "${STATKEYS[@]}"
[ "$(json_get "$OUT" data_blobs_added)" = 0 ] || fail "after a rename: data_blobs_added is not 0"
added=$(json_get "$OUT" bytes_added)
[ "$added" -lt "$MV_LIMIT" ] || fail "after a rename: bytes_added $added >= $MV_LIMIT"

log "rewrite one 4 KiB page in the middle of big/base.db, backup"
python3 - "$SRC/big/base.db" <<'PY'
import os, random, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(2560 * 4096)                 # 10 MiB: page-aligned, mid-file
    f.write(random.Random("new page").randbytes(4096))
PY
expect_exit 0 cf --json backup "$SRC"
stats "${STATKEYS[@]}"
added=$(json_get "$OUT" bytes_added)
[ "$added" -lt "$PAGE_LIMIT" ] || fail "one changed page: bytes_added $added >= $PAGE_LIMIT"
[ "$(json_get "$OUT" data_blobs_added)" -ge 1 ] || fail "one changed page: no data blob added"
[ "$(json_get "$OUT" files_changed)" -ge 1 ] || fail "one changed page: no file counted changed"

log "the last snapshot restores identical"
expect_exit 0 cf restore latest --target "$TESTDIR/r"
compare_trees "$SRC" "$TESTDIR/r$SRC"

pass
