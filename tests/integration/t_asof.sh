#!/usr/bin/env bash
# t_asof: recovery "as of a date" from a versioned bucket, after an attacker who held the
# shop's own S3 keys deleted and overwrote the repository's objects (Ceph radosgw, one node,
# started here by tests/servers/radosgw.sh):
#  - a repository on a versioned bucket (no Object Lock), two days of backups straight to S3;
#    T1 after the first, T2 after the second;
#  - the attacker, with the same keys and the AWS CLI, deletes every snapshot and index object
#    and the config, and overwrites a data pack with junk: plain `snapshots` and `check` fail;
#  - `--as-of T2` lists both snapshots (also in pages of 7 entries), `check --read-data` is
#    clean, `restore` is bit-exact against the second day's tree (its time is printed), `ls`
#    and `dump` read through the view; `--as-of T1` (local time, no zone) shows the first day
#    only and restores it exactly;
#  - nothing is written to the bucket by as-of runs; writes through the engine are refused
#    ("read-only: --as-of"), so are commands that write, other kinds of repository and bad
#    dates;
#  - against a fake server: a version listing that does not advance, and a server that
#    answers with a plain listing, stop with an error.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup
rgw_need
DST_TOOL=${COFFRE_TOOLS:-}/dst_tool
[ -x "$DST_TOOL" ] || skip "no dst_tool (COFFRE_TOOLS)"
export COFFRE_RETRY_BASE_MS=20

# ---- a fake server first (seconds): listings that must stop with an error ----
FAKE_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$TESTDIR/fake_s3.py" <<'PY'
# fake_s3.py PORT MODE: answers every GET with one page. MODE "stuck": a truncated version
# listing whose next key is always the same; "plain": a ListObjectsV2 page (a server that
# ignores ?versions). Counts requests in the file COUNT beside it.
import http.server, os, sys
port, mode = int(sys.argv[1]), sys.argv[2]
count = os.path.join(os.path.dirname(os.path.abspath(__file__)), "count." + mode)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        n = int(open(count).read()) + 1 if os.path.exists(count) else 1
        open(count, "w").write(str(n))
        if mode == "stuck":
            body = ("<ListVersionsResult><IsTruncated>true</IsTruncated>"
                    "<NextKeyMarker>shop/k</NextKeyMarker><NextVersionIdMarker>v</NextVersionIdMarker>"
                    "<Version><Key>shop/k</Key><VersionId>v</VersionId>"
                    "<LastModified>2026-01-01T00:00:00.000Z</LastModified><Size>1</Size></Version>"
                    "</ListVersionsResult>")
        else:
            body = ("<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>shop/config"
                    "</Key><Size>1</Size></Contents></ListBucketResult>")
        b = body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
(umask 077 && printf 'AKIDFAKE\nsecretfake\n' >"$TESTDIR/fake-keys")
for mode in stuck plain; do
	python3 "$TESTDIR/fake_s3.py" "$FAKE_PORT" "$mode" & BG_PIDS+=($!)
	wait_for 10 "the fake S3 server answers" curl -s -o /dev/null "http://127.0.0.1:$FAKE_PORT/"
	expect_exit 1 "$DST_TOOL" "s3://127.0.0.1:$FAKE_PORT/fake/shop" --keys "$TESTDIR/fake-keys" \
		--as-of 2026-06-01T00:00Z list
	case $mode in
	stuck) grep -q 'version listing does not advance' "$ERR" || { cat "$ERR"; fail "no stop on a stuck listing"; } ;;
	plain) grep -q 'did not list versions' "$ERR" || { cat "$ERR"; fail "a plain listing passed for versions"; } ;;
	esac
	info "$mode: $(cat "$ERR") ($(cat "$TESTDIR/count.$mode") requests)"
	kill "${BG_PIDS[-1]}"
	wait "${BG_PIDS[-1]}" 2>/dev/null || true
	unset 'BG_PIDS[-1]'
	rm -f "$TESTDIR/count.$mode"
done

# ---- radosgw ----
rgw_start
s3api() { aws --endpoint-url "http://127.0.0.1:$PORT" s3api "$@"; }
BUCKET=coffre-asof
S3=s3://127.0.0.1:$PORT/$BUCKET/shop

log "a versioned bucket"
expect_exit 0 s3api create-bucket --bucket "$BUCKET"
expect_exit 0 s3api put-bucket-versioning --bucket "$BUCKET" \
	--versioning-configuration Status=Enabled
expect_exit 0 s3api get-bucket-versioning --bucket "$BUCKET"
[ "$(json_get "$OUT" Status)" = Enabled ] || fail "versioning is not enabled"

# A date at a whole second after every object written so far, and a wait until the clock
# has passed it, so that what comes next is after it (the server dates to the millisecond).
clock_after() { [ "$(date +%s)" -gt "$1" ]; }
mark_time() {
	local t=$(($(date +%s) + 1))
	wait_for 5 "the clock passes $t" clock_after "$t"
	echo "$t"
}
count_snapshots() {
	python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$1"
}

log "day 1: init and a backup straight to S3"
SRC=$TESTDIR/src
gen_data "$SRC" --size small --seed 17
expect_exit 0 cf --repo "$S3" init -q
expect_exit 0 cf --repo "$S3" backup -q "$SRC"
cp -a "$SRC" "$TESTDIR/day1"
T1=$(mark_time) || exit 1
# T1 given in local time, without a zone (Paris: UTC+1 in winter, +2 in summer).
T1_LOCAL=$(TZ=Europe/Paris date -d "@$T1" +%Y-%m-%dT%H:%M:%S)
log "day 2: changes and a second backup"
gen_data --mutate "$SRC" --day 1
expect_exit 0 cf --repo "$S3" backup -q "$SRC"
T2_EPOCH=$(mark_time) || exit 1
T2=$(date -u -d "@$T2_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
expect_exit 0 cf --repo "$S3" --json snapshots
[ "$(count_snapshots "$OUT")" = 2 ] || fail "expected 2 snapshots before the attack"
info "T1 = $T1_LOCAL (Europe/Paris), T2 = $T2"

log "the attacker, with the shop's keys: snapshots, index and config deleted, a pack overwritten"
expect_exit 0 s3api list-objects-v2 --bucket "$BUCKET" --prefix shop/
python3 - "$OUT" >"$TESTDIR/objects" <<'PY'
import json, sys
for o in json.load(open(sys.argv[1])).get("Contents", []):
    print(o["Key"], o["Size"])
PY
n_del=0
while read -r key size; do
	case $key in shop/snapshots/* | shop/index/* | shop/config)
		expect_exit 0 s3api delete-object --bucket "$BUCKET" --key "$key"
		n_del=$((n_del + 1)) ;;
	esac
done <"$TESTDIR/objects"
PACK=$(sort -k2 -n -r "$TESTDIR/objects" | awk '$1 ~ /^shop\/data\// { print $1; exit }')
head -c 4096 /dev/urandom >"$TESTDIR/junk"
expect_exit 0 s3api put-object --bucket "$BUCKET" --key "$PACK" --body "$TESTDIR/junk"
info "$n_del objects deleted, $PACK overwritten with 4 KiB of junk"

log "plain snapshots and check fail"
expect_exit 10 cf --repo "$S3" snapshots
info "snapshots: $(tail -n 1 "$ERR")"
expect_exit 10 cf --repo "$S3" check
info "check: $(tail -n 1 "$ERR")"

expect_exit 0 s3api list-object-versions --bucket "$BUCKET" --prefix shop/
versions_before=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d.get("Versions",[])), len(d.get("DeleteMarkers",[])))' "$OUT")

log "--as-of T2: both snapshots, check --read-data clean"
expect_exit 0 cf --repo "$S3" --as-of "$T2" --json snapshots
[ "$(count_snapshots "$OUT")" = 2 ] || { cat "$OUT"; fail "expected 2 snapshots as of T2"; }
COFFRE_S3_MAX_KEYS=7 expect_exit 0 cf --repo "$S3" --as-of "$T2" --json snapshots
[ "$(count_snapshots "$OUT")" = 2 ] || { cat "$OUT"; fail "expected 2 snapshots as of T2 in pages of 7"; }
expect_exit 0 cf --repo "$S3" --as-of "$T2" check --read-data
grep -q 'no errors' "$OUT" || { cat "$OUT"; fail "check --read-data found errors"; }
info "check: $(tail -n 1 "$OUT")"

log "--as-of T2: restore, bit-exact"
t0=$(date +%s.%N)
expect_exit 0 cf --repo "$S3" --as-of "$T2" restore latest --target "$TESTDIR/r2"
t1=$(date +%s.%N)
AS_OF_SECONDS=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
info "as-of restore: $AS_OF_SECONDS s for $(du -sh "$SRC" | cut -f1) ($(tail -n 1 "$OUT"))"
compare_trees "$SRC" "$TESTDIR/r2$SRC"
(cd "$SRC" && find . -type f -exec sha256sum {} + | sort -k2) >"$TESTDIR/sha.src"
(cd "$TESTDIR/r2$SRC" && find . -type f -exec sha256sum {} + | sort -k2) >"$TESTDIR/sha.r2"
cmp -s "$TESTDIR/sha.src" "$TESTDIR/sha.r2" || fail "sha256 of the restored files differ"

log "--as-of T2: ls and dump read through the view"
FILE=$(cd "$SRC" && find . -type f -size +1k | sort | head -n 1)
FILE=${FILE#./}
expect_exit 0 cf --repo "$S3" --as-of "$T2" ls latest
grep -qxF "$SRC/$FILE" "$OUT" || { head "$OUT"; fail "ls does not list $FILE"; }
expect_exit 0 cf --repo "$S3" --as-of "$T2" dump latest "$SRC/$FILE"
cmp -s "$OUT" "$SRC/$FILE" || fail "dump of $FILE differs"

log "--as-of T1 (local time, no zone): the first day only"
TZ=Europe/Paris expect_exit 0 cf --repo "$S3" --as-of "$T1_LOCAL" --json snapshots
[ "$(count_snapshots "$OUT")" = 1 ] || { cat "$OUT"; fail "expected 1 snapshot as of T1"; }
TZ=Europe/Paris expect_exit 0 cf --repo "$S3" --as-of "$T1_LOCAL" restore latest \
	--target "$TESTDIR/r1"
compare_trees "$TESTDIR/day1" "$TESTDIR/r1$SRC"

log "as-of runs wrote nothing to the bucket (no lock, no marker)"
expect_exit 0 s3api list-object-versions --bucket "$BUCKET" --prefix shop/
versions_after=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d.get("Versions",[])), len(d.get("DeleteMarkers",[])))' "$OUT")
[ "$versions_before" = "$versions_after" ] ||
	fail "versions and delete markers changed: $versions_before -> $versions_after"
info "versions, delete markers: $versions_after"

log "writes are refused"
expect_exit 2 "$DST_TOOL" "$S3" --keys "$RGW/keys" --as-of "$T2" putbuf snapshots/x "$TESTDIR/junk"
grep -q 'read-only: --as-of' "$ERR" || { cat "$ERR"; fail "put not refused as read-only"; }
expect_exit 2 "$DST_TOOL" "$S3" --keys "$RGW/keys" --as-of "$T2" del config
grep -q 'read-only: --as-of' "$ERR" || { cat "$ERR"; fail "delete not refused as read-only"; }
expect_exit 0 "$DST_TOOL" "$S3" --keys "$RGW/keys" --as-of "$T2" stat config
expect_exit 15 "$DST_TOOL" "$S3" --keys "$RGW/keys" stat config
for cmd in "backup $SRC" "forget --keep-last 1" prune rebuild-index; do
	# shellcheck disable=SC2086
	expect_exit 2 cf --repo "$S3" --as-of "$T2" $cmd
	one_error_line "$ERR"
done
info "$(cat "$ERR")"
expect_exit 2 cf --repo "$TESTDIR/repo" --as-of "$T2" snapshots
grep -q 'only with an S3 repository' "$ERR" || { cat "$ERR"; fail "a local repository not refused plainly"; }
info "$(cat "$ERR")"
for bad in 2026-13-01T00:00 yesterday "2026-12-01T18:00 +01:00"; do
	expect_exit 2 cf --repo "$S3" --as-of "$bad" snapshots
	one_error_line "$ERR"
done
expect_exit 10 cf --repo "$S3" --as-of 2001-01-01T00:00Z snapshots
grep -q 'at 2001-01-01T00:00Z' "$ERR" || { cat "$ERR"; fail "the date is not named"; }

echo "AS_OF_RESTORE_SECONDS=$AS_OF_SECONDS"
pass
