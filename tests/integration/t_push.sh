#!/usr/bin/env bash
# t_push.sh: a backup made once into the local spool, then pushed to several destinations.
#  - every destination gets everything, read back; the spool keeps only metadata after
#    --clear-spool and backups stay incremental;
#  - a USB drive that is missing: the other destinations are served, the spool is kept, and
#    the drive catches up when it comes back;
#  - the S3 server killed in the middle of a push and restarted: the next push sends only
#    what was not stored yet, and the copy restores;
#  - a USB drive that fills up: a clear error mentioning space, the snapshots already on the
#    drive restore, the spool keeps the data.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
SERVERS=$COFFRE_TESTS/servers
[ -x "$SERVERS/node_modules/.bin/s3rver" ] || skip "s3rver is not installed (npm install --prefix tests/servers)"
usb_test_setup
cleanup_hook() {
	"$SERVERS/s3rver.sh" stop "$TESTDIR/s3" 2>/dev/null || true
	usb_release
}
drive() { # IMAGE SIZE LABEL: make a FAT32 image
	truncate -s "$2" "$1"
	mkfs.vfat -F 32 -n "$3" "$1" >/dev/null
}
plug() { local d; d=$(losetup -f --show "$1") || skip "losetup cannot attach an image"; LOOPS+=("$d"); echo "$d"; }
unplug() { losetup -d "$1"; }

export COFFRE_S3_KEYS_FILE=$TESTDIR/s3keys
printf 'S3RVER\nS3RVER\n' >"$COFFRE_S3_KEYS_FILE"
chmod 600 "$COFFRE_S3_KEYS_FILE"
PORT=$("$SERVERS/s3rver.sh" start "$TESTDIR/s3" coffre) || fail "s3rver did not start"
S3=s3://127.0.0.1:$PORT/coffre/shop
NAS=$TESTDIR/nas
USB=USB$SUF
drive "$TESTDIR/usb.img" 96M "$USB"
SRC=$TESTDIR/src

log "init the spool with small packs, back up"
cf init -q >/dev/null || fail "init failed"
# Small packs make a push long enough to interrupt (pack_size is a config parameter).
python3 - "$COFFRE_REPOSITORY/config" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["pack_size"] = 1 << 20
open(sys.argv[1], "w").write(json.dumps(c))
PY
gen_data "$SRC" --size small --seed 21
head -c 24000000 /dev/urandom >"$SRC/scan-archive.bin"
cf backup "$SRC" -q || fail "backup failed"
cp -a "$SRC" "$TESTDIR/copy0"
nobj=$(find "$COFFRE_REPOSITORY" -type f ! -path '*/locks/*' | wc -l)
info "$nobj objects in the spool"

log "the drive is missing: S3 and the NAS are served, the spool is kept"
expect_exit 13 cf push --to "$S3" --to "$NAS" --to "usb:$USB" --clear-spool
grep -q "not plugged in" "$ERR" || fail "no message naming the missing drive"
packs_before=$(find "$COFFRE_REPOSITORY/data" -type f | wc -l)
[ "$packs_before" -gt 0 ] || fail "the spool was cleared although a destination missed the data"
cf destinations --to "$S3" --to "$NAS" --json >"$LOGDIR/dest.json" || fail "destinations failed"
python3 - "$LOGDIR/dest.json" <<'PY' || fail "S3 and the NAS should have nothing pending"
import json, sys
d = json.load(open(sys.argv[1]))
assert all(x["pending"] == 0 for x in d), d
PY

log "the drive comes back: it catches up, then the spool is cleared"
dev=$(plug "$TESTDIR/usb.img")
cf push --to "$S3" --to "$NAS" --to "usb:$USB" --clear-spool --json >"$LOGDIR/push2.json" ||
	fail "push with the drive back failed"
python3 - "$LOGDIR/push2.json" <<'PY' || fail "the drive did not catch up alone"
import json, sys
d = json.load(open(sys.argv[1]))
assert all(x["complete"] for x in d), d
assert d[0]["sent"] == 0 and d[1]["sent"] == 0 and d[2]["sent"] > 0, d
PY
[ "$(find "$COFFRE_REPOSITORY/data" -type f | wc -l)" -lt "$packs_before" ] ||
	fail "--clear-spool removed nothing"
grep -q "usb-$USB" /proc/self/mounts && fail "the drive stayed mounted"

log "a second day: the backup stays incremental with a cleared spool"
gen_data --mutate "$SRC" --day 1 --seed 21
cf backup "$SRC" --json >"$LOGDIR/b2.json" || fail "second backup failed"
[ "$(json_get "$LOGDIR/b2.json" files_unchanged)" -gt 100 ] || fail "the second backup re-read everything"
cp -a "$SRC" "$TESTDIR/copy1"

log "S3 killed in the middle of the push, restarted: only the rest is sent"
head -c 12000000 /dev/urandom >"$SRC/scan-2.bin"
cf backup "$SRC" -q || fail "third backup failed"
cp -a "$SRC" "$TESTDIR/copy2"
total=$(find "$COFFRE_REPOSITORY" -type f ! -path '*/locks/*' | wc -l)
( cf push --to "$S3" >"$LOGDIR/push-killed.out" 2>&1 || true ) &
pushpid=$!
# The kill comes once 30 objects are stored (or the push has ended: then nothing is left).
part_sent() { [ "$(find "$TESTDIR/s3/data" -type f | wc -l)" -ge 30 ] || gone "$pushpid"; }
WAIT_POLL=0.05 wait_for 120 "30 objects stored by the push" part_sent
pid=$(cat "$TESTDIR/s3/s3rver.pid")
kill -9 "$pid"
wait "$pushpid" || true
rm -f "$TESTDIR/s3/s3rver.pid"
S3RVER_PORT=$PORT "$SERVERS/s3rver.sh" start "$TESTDIR/s3" coffre >/dev/null || fail "s3rver did not restart"
COFFRE_RETRY_BASE_MS=50 cf push --to "$S3" --json >"$LOGDIR/push3.json" || fail "the resumed push failed"
python3 - "$LOGDIR/push3.json" <<'PY' || fail "the resumed push sent what was stored already"
import json, sys
d = json.load(open(sys.argv[1]))[0]
print("   resumed push: sent %d, already there %d" % (d["sent"], d["present"]))
assert d["complete"] and d["present"] > 0
PY

log "every destination restores every day, on a fresh cache"
for url in "$S3" "$NAS" "usb:$USB"; do
	export XDG_CACHE_HOME=$TESTDIR/cache-$RANDOM
	ids=$(cf --repo "$url" snapshots --json | python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))')
	set -- $ids
	[ $# -ge 1 ] || fail "$url: expected the snapshots, got: $ids"
	t=$TESTDIR/r-$RANDOM
	cf --repo "$url" restore "$1" --target "$t" -q || fail "$url: restore of the first day failed"
	compare_trees "$TESTDIR/copy0" "$t$SRC"
	if [ "$url" = "$S3" ]; then
		t=$TESTDIR/r-$RANDOM
		cf --repo "$url" restore latest --target "$t" -q || fail "$url: restore latest failed"
		compare_trees "$TESTDIR/copy2" "$t$SRC"
	fi
done
export XDG_CACHE_HOME=$TESTDIR/cache

log "a drive that fills up: a clear error, earlier snapshots intact, the spool keeps the data"
drive "$TESTDIR/small.img" 40M "SML$SUF"
plug "$TESTDIR/small.img" >/dev/null
cf --repo "$TESTDIR/spool2" init -q >/dev/null
cf --repo "$TESTDIR/spool2" backup "$TESTDIR/copy0" -q
cf --repo "$TESTDIR/spool2" push --to "usb:SML$SUF" -q || fail "first push to the small drive failed"
head -c 45000000 /dev/urandom >"$TESTDIR/copy0/big-scan.bin"
cf --repo "$TESTDIR/spool2" backup "$TESTDIR/copy0" -q
set +e
cf --repo "$TESTDIR/spool2" push --to "usb:SML$SUF" --clear-spool >"$LOGDIR/full.out" 2>"$LOGDIR/full.err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a push to a full drive succeeded"
grep -qi "space" "$LOGDIR/full.err" || { cat "$LOGDIR/full.err"; fail "the error does not mention space"; }
[ -f "$TESTDIR/copy0/big-scan.bin" ] && [ "$(find "$TESTDIR/spool2/data" -type f | wc -l)" -gt 0 ] ||
	fail "the spool lost data"
export XDG_CACHE_HOME=$TESTDIR/cache-full
first=$(cf --repo "usb:SML$SUF" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
cf --repo "usb:SML$SUF" restore "$first" --target "$TESTDIR/r-full" -q || fail "the earlier snapshot on the full drive does not restore"
pass
