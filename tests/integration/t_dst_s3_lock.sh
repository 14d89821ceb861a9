#!/usr/bin/env bash
# t_dst_s3_lock: S3 Object Lock against a server that enforces it (Ceph radosgw, one node,
# started here by tests/servers/radosgw.sh):
#  - a bucket made with Object Lock; `coffre destinations --s3-lock-days 1` says the lock is
#    verified; push; every object coffre stored (small ones and a pack sent as a multipart
#    upload) carries a GOVERNANCE retention about one day long; the repository locks coffre
#    took during the push are gone (no version, no delete marker left);
#  - the server itself refuses to delete a locked version with the same keys, and an
#    overwrite only adds a version: the locked one stays readable; in COMPLIANCE mode not
#    even a governance bypass deletes;
#  - on a repository that lives in the locked bucket, `forget` and `prune` fail with a plain
#    "protected by Object Lock" error (never 12 "check the keys") instead of claiming
#    success, and the snapshot and its data are still there and restore.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup
rgw_need
command -v curl >/dev/null || skip "curl is needed"
export COFFRE_RETRY_BASE_MS=20
# COMPLIANCE is the default; this test looks at GOVERNANCE (and its bypass) except where it
# names COMPLIANCE.
export COFFRE_S3_LOCK_MODE=GOVERNANCE

RGW_DEBUG=20 rgw_start
s3api() { aws --endpoint-url "http://127.0.0.1:$PORT" s3api "$@"; }
BUCKET=coffre-lock

log "bucket with Object Lock"
expect_exit 0 s3api create-bucket --bucket "$BUCKET" --object-lock-enabled-for-bucket
expect_exit 0 s3api get-object-lock-configuration --bucket "$BUCKET"
[ "$(json_get "$OUT" ObjectLockConfiguration.ObjectLockEnabled)" = Enabled ] ||
	fail "the bucket has no Object Lock"
S3=s3://127.0.0.1:$PORT/$BUCKET/shop

log "spool: one backup whose big file makes a pack larger than a single PUT (16 MiB)"
expect_exit 0 cf init -q
python3 - "$COFFRE_REPOSITORY/config" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["pack_size"] = 24 << 20
open(sys.argv[1], "w").write(json.dumps(c))
PY
SRC=$TESTDIR/src
gen_data "$SRC" --size small --seed 7
head -c 30000000 /dev/urandom >"$SRC/archive.bin"
expect_exit 0 cf backup -q "$SRC"

log "destinations: the lock is verified"
expect_exit 0 cf destinations --to "$S3" --s3-lock-days 1
grep -q 'object lock verified' "$OUT" || { cat "$OUT"; fail "lock not reported as verified"; }
info "$(cat "$OUT")"

log "push with --s3-lock-days 1"
expect_exit 0 cf push --to "$S3" --s3-lock-days 1
info "$(cat "$OUT")"
expect_exit 0 cf destinations --to "$S3" --s3-lock-days 1
grep -q ' 0 objects pending' "$OUT" || { cat "$OUT"; fail "objects still pending after the push"; }

log "every object coffre stored is retained (GOVERNANCE, about one day)"
expect_exit 0 s3api list-objects-v2 --bucket "$BUCKET" --prefix shop/
python3 - "$OUT" >"$TESTDIR/objects" <<'PY'
import json, sys
for o in json.load(open(sys.argv[1])).get("Contents", []):
    print(o["Key"], o["Size"], o["ETag"].strip('"'))
PY
n=0
big=0
while read -r key size etag; do
	n=$((n + 1))
	case $etag in *-*) big=$((big + 1)) ;; esac	# a multipart upload's ETag ends in -<parts>
	expect_exit 0 s3api get-object-retention --bucket "$BUCKET" --key "$key"
	python3 - "$OUT" "$key" "$size" <<'PY' || fail "retention of $key is not right"
import datetime, json, sys
r = json.load(open(sys.argv[1]))["Retention"]
until = datetime.datetime.fromisoformat(r["RetainUntilDate"][:19]).replace(tzinfo=datetime.timezone.utc)
left = (until - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
ok = r["Mode"] == "GOVERNANCE" and 86400 - 1800 < left <= 86400 + 60
print(f"   {sys.argv[2]} ({sys.argv[3]} B): {r['Mode']} for {left / 3600:.2f} h")
sys.exit(0 if ok else 1)
PY
done <"$TESTDIR/objects"
[ "$n" -ge 6 ] || fail "only $n objects stored"
[ "$big" -ge 1 ] || fail "no object went up as a multipart upload"
grep -q '^shop/locks/' "$TESTDIR/objects" && fail "a repository lock was left in the bucket"
expect_exit 0 s3api list-object-versions --bucket "$BUCKET" --prefix shop/locks/
python3 - "$OUT" <<'PY' || fail "the push's repository lock left versions or delete markers"
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(1 if d.get("Versions") or d.get("DeleteMarkers") else 0)
PY

log "the checksums S3 wants with lock headers reached the server, with the right values"
# radosgw 16 does not check x-amz-checksum-sha256 itself: its request log (debug rgw = 20)
# shows what it received. Each single PUT must have carried its body's SHA-256, each part of
# a multipart upload its own.
grep -o 'HTTP_X_AMZ_CHECKSUM_SHA256=[A-Za-z0-9+/=]*' "$RGW/log/client.rgw.log" |
	cut -d= -f2- | sort -u >"$TESTDIR/seen-checksums"
expect_exit 0 aws --endpoint-url "http://127.0.0.1:$PORT" s3 cp --recursive --only-show-errors \
	"s3://$BUCKET/shop/" "$TESTDIR/pushed/"
while read -r key size etag; do
	python3 - "$TESTDIR/pushed/${key#shop/}" "$etag" "$TESTDIR/seen-checksums" <<'PY' || fail "checksum of $key not sent"
import base64, hashlib, sys
data = open(sys.argv[1], "rb").read()
seen = set(open(sys.argv[3]).read().split())
part = 8 << 20
pieces = [data[i:i + part] for i in range(0, len(data), part)] if "-" in sys.argv[2] else [data]
want = [base64.b64encode(hashlib.sha256(p).digest()).decode() for p in pieces]
sys.exit(0 if all(w in seen for w in want) else 1)
PY
done <"$TESTDIR/objects"
grep -q 'HTTP_X_AMZ_CHECKSUM_ALGORITHM=SHA256' "$RGW/log/client.rgw.log" ||
	fail "CreateMultipartUpload did not name its checksum algorithm"
info "$(grep -c . "$TESTDIR/seen-checksums") distinct checksums seen by the server"

log "the server refuses to delete a locked version; an overwrite only adds a version"
PACK=$(awk '$1 ~ /^shop\/data\// { print $1; exit }' "$TESTDIR/objects")
expect_exit 0 s3api head-object --bucket "$BUCKET" --key "$PACK"
V=$(json_get "$OUT" VersionId)
expect_exit 0 s3api get-object --bucket "$BUCKET" --key "$PACK" "$TESTDIR/pack.before"
expect_exit 255 s3api delete-object --bucket "$BUCKET" --key "$PACK" --version-id="$V"
grep -q 'AccessDenied' "$ERR" || { cat "$ERR"; fail "deletion refused for another reason"; }
info "delete-object --version-id: $(tr -d '\n' <"$ERR")"
printf 'not a pack\n' >"$TESTDIR/junk"
expect_exit 0 s3api put-object --bucket "$BUCKET" --key "$PACK" --body "$TESTDIR/junk"
JV=$(json_get "$OUT" VersionId)
expect_exit 0 s3api get-object --bucket "$BUCKET" --key "$PACK" --version-id="$V" "$TESTDIR/pack.after"
cmp -s "$TESTDIR/pack.before" "$TESTDIR/pack.after" || fail "the locked version changed"
# The junk version has no retention: take it away so the pack is current again.
expect_exit 0 s3api delete-object --bucket "$BUCKET" --key "$PACK" --version-id="$JV"
expect_exit 0 cf --repo "$S3" check
info "check of the pushed copy: $(tail -n 1 "$OUT")"

log "COMPLIANCE mode: not even the owner's governance bypass deletes"
R4=s3://127.0.0.1:$PORT/$BUCKET/compliance
expect_exit 0 cf --repo "$R4" --s3-lock-days 1 --s3-lock-mode COMPLIANCE init -q
expect_exit 0 s3api get-object-retention --bucket "$BUCKET" --key compliance/config
[ "$(json_get "$OUT" Retention.Mode)" = COMPLIANCE ] || fail "config is not under COMPLIANCE"
expect_exit 0 s3api head-object --bucket "$BUCKET" --key compliance/config
CV=$(json_get "$OUT" VersionId)
expect_exit 255 s3api delete-object --bucket "$BUCKET" --key compliance/config --version-id="$CV" \
	--bypass-governance-retention
expect_exit 0 s3api head-object --bucket "$BUCKET" --key compliance/config

log "a repository in the locked bucket: two backups straight to S3"
R2=s3://127.0.0.1:$PORT/$BUCKET/direct
expect_exit 0 cf --repo "$R2" --s3-lock-days 1 init -q
mkdir -p "$TESTDIR/src2"
head -c 3000000 /dev/urandom >"$TESTDIR/src2/first.bin"
expect_exit 0 cf --repo "$R2" --s3-lock-days 1 backup -q "$TESTDIR/src2"
rm "$TESTDIR/src2/first.bin"
head -c 3000000 /dev/urandom >"$TESTDIR/src2/second.bin"
expect_exit 0 cf --repo "$R2" --s3-lock-days 1 backup -q "$TESTDIR/src2"
expect_exit 0 cf --repo "$R2" --json snapshots
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$OUT")" = 2 ] ||
	fail "expected 2 snapshots"

log "forget --keep-last 1: refused by the lock, said plainly, nothing claimed"
expect_exit 1 cf --repo "$R2" --s3-lock-days 1 forget --keep-last 1 --keep-within 0
grep -q 'protected by Object Lock' "$ERR" || { cat "$OUT" "$ERR"; fail "no plain Object Lock error"; }
grep -qi 'check the keys' "$ERR" && fail "the lock is reported as a key problem"
info "$(tail -n 1 "$ERR")"
expect_exit 0 cf --repo "$R2" --json snapshots
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$OUT")" = 2 ] ||
	fail "a snapshot went missing"

log "prune after the bucket's owner removed the first snapshot (governance bypass)"
expect_exit 0 s3api list-object-versions --bucket "$BUCKET" --prefix direct/snapshots/
FIRST=$(python3 - "$OUT" <<'PY'
import json, sys
v = sorted(json.load(open(sys.argv[1]))["Versions"], key=lambda x: x["LastModified"])[0]
print(v["Key"], v["VersionId"])
PY
)
expect_exit 0 s3api delete-object --bucket "$BUCKET" --key "${FIRST% *}" --version-id="${FIRST#* }" \
	--bypass-governance-retention
expect_exit 0 cf --repo "$R2" --json snapshots
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$OUT")" = 1 ] ||
	fail "the bypass did not remove the snapshot"
expect_exit 0 s3api list-objects-v2 --bucket "$BUCKET" --prefix direct/
before=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["Contents"]))' "$OUT")
expect_exit 1 cf --repo "$R2" --s3-lock-days 1 prune
grep -q 'protected by Object Lock' "$ERR" || { cat "$OUT" "$ERR"; fail "no plain Object Lock error from prune"; }
grep -q 'freed' "$OUT" && fail "prune claims to have freed space"
info "$(tail -n 1 "$ERR")"
expect_exit 0 s3api list-objects-v2 --bucket "$BUCKET" --prefix direct/
after=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["Contents"]))' "$OUT")
[ "$after" -ge "$before" ] || fail "objects disappeared ($before -> $after)"
expect_exit 0 cf --repo "$R2" check
expect_exit 0 cf --repo "$R2" restore latest --target "$TESTDIR/restored"
cmp -s "$TESTDIR/src2/second.bin" "$TESTDIR/restored$TESTDIR/src2/second.bin" || fail "restore differs"
log "prune: a leftover pack under retention in a repository that is otherwise unlocked"
# As left by an interrupted upload: a pack no index lists, retained by the server.
R3=s3://127.0.0.1:$PORT/$BUCKET/leftover
expect_exit 0 cf --repo "$R3" init -q
expect_exit 0 cf --repo "$R3" backup -q "$TESTDIR/src2"
expect_exit 0 s3api list-objects-v2 --bucket "$BUCKET" --prefix leftover/data/
P3=$(json_get "$OUT" Contents.0.Key)
expect_exit 0 s3api get-object --bucket "$BUCKET" --key "$P3" "$TESTDIR/leftover.pack"
UNTIL=$(python3 -c 'import datetime as d; print((d.datetime.now(d.timezone.utc) + d.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))')
LEFT=leftover/data/ff/$(printf 'f%.0s' $(seq 1 64))
expect_exit 0 s3api put-object --bucket "$BUCKET" --key "$LEFT" --body "$TESTDIR/leftover.pack" \
	--object-lock-mode GOVERNANCE --object-lock-retain-until-date "$UNTIL"
expect_exit 1 cf --repo "$R3" prune
grep -q 'protected by Object Lock' "$ERR" || { cat "$OUT" "$ERR"; fail "no plain Object Lock error from prune"; }
grep -q 'freed' "$OUT" && { cat "$OUT"; fail "prune claims to have freed space"; }
info "$(tail -n 1 "$ERR")"
expect_exit 0 s3api head-object --bucket "$BUCKET" --key "$LEFT"
expect_exit 0 cf --repo "$R3" restore latest --target "$TESTDIR/restored3"
cmp -s "$TESTDIR/src2/second.bin" "$TESTDIR/restored3$TESTDIR/src2/second.bin" || fail "restore differs"
pass
