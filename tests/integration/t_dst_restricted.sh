#!/usr/bin/env bash
# t_dst_restricted: a shop's keys that cannot destroy (docs/FEDERATION.md, "Credentials that
# cannot destroy"), on a server that enforces them (Ceph radosgw, tests/servers/radosgw.sh):
# the shop is a user of its own whose bucket policy grants its prefix only, and no deletion.
# With those keys:
#  - init, backup and push work, and so do lock extension and a restore drill;
#  - a push whose destination retention drops a snapshot whose lock has lapsed tries the
#    deletion once, is refused, says so, completes, and tries nothing more in that push;
#    a later push tries again; the copy stays whole (check --read-data) and every snapshot
#    still there restores; forget run on the destination stops at the refusal (exit 12);
#  - coffred's push with those keys: coffre status and status.json say the destination
#    refuses deletions and its retention is left to its owner;
#  - deleting a version, setting a lifecycle rule, bypassing governance retention or
#    changing the bucket policy directly are refused by the server.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/drill.sh"	# drill_conf
setup
daemon_setup
rgw_need
export COFFRE_RETRY_BASE_MS=20
L=20	# the lock period, in seconds (COFFRE_TEST_LOCK_SECONDS, a test setting)
export COFFRE_TEST_LOCK_SECONDS=$L
rgw_start
EP=http://127.0.0.1:$PORT
BUCKET=coffre-fed
SHOP=shop1
s3api() { aws --endpoint-url "$EP" s3api "$@"; }
# s3dbg: the same, logging the exchanges (this AWS CLI garbles some error replies: the
# server's error code is read from what it logged).
s3dbg() { aws --debug --endpoint-url "$EP" s3api "$@"; }

log "the federation's side: a bucket with Object Lock, a user for the shop, the policy"
expect_exit 0 s3api create-bucket --bucket "$BUCKET" --object-lock-enabled-for-bucket
SHOPKEYS=$TESTDIR/shop-keys
access=$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
secret=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
expect_exit 0 timeout 120 radosgw-admin -c "$RGW/ceph.conf" user create --uid="$SHOP" \
	--display-name="$SHOP" --access-key="$access" --secret-key="$secret"
(umask 077 && printf '%s\n%s\n' "$access" "$secret" >"$SHOPKEYS")
# The policy of docs/FEDERATION.md for one shop, as the federation would apply it.
cat >"$TESTDIR/policy.json" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ShopObjects",
      "Effect": "Allow",
      "Principal": {"AWS": ["arn:aws:iam:::user/$SHOP"]},
      "Action": ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion",
                 "s3:PutObjectRetention", "s3:GetObjectRetention",
                 "s3:ListMultipartUploadParts"],
      "Resource": ["arn:aws:s3:::$BUCKET/shops/$SHOP/*"]
    },
    {
      "Sid": "ShopListing",
      "Effect": "Allow",
      "Principal": {"AWS": ["arn:aws:iam:::user/$SHOP"]},
      "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
      "Resource": ["arn:aws:s3:::$BUCKET"],
      "Condition": {"StringLike": {"s3:prefix": ["shops/$SHOP/*"]}}
    },
    {
      "Sid": "ShopBucketSettings",
      "Effect": "Allow",
      "Principal": {"AWS": ["arn:aws:iam:::user/$SHOP"]},
      "Action": ["s3:GetBucketObjectLockConfiguration", "s3:GetBucketVersioning"],
      "Resource": ["arn:aws:s3:::$BUCKET"]
    },
    {
      "Sid": "ShopNeverDestroys",
      "Effect": "Deny",
      "Principal": {"AWS": ["arn:aws:iam:::user/$SHOP"]},
      "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention",
                 "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy",
                 "s3:DeleteBucketPolicy", "s3:PutBucketObjectLockConfiguration",
                 "s3:PutBucketVersioning", "s3:DeleteBucket"],
      "Resource": ["arn:aws:s3:::$BUCKET", "arn:aws:s3:::$BUCKET/*"]
    }
  ]
}
JSON
expect_exit 0 s3api put-bucket-policy --bucket "$BUCKET" --policy "file://$TESTDIR/policy.json"
ADMIN_ID=$AWS_ACCESS_KEY_ID ADMIN_SECRET=$AWS_SECRET_ACCESS_KEY
# From here on, everything runs with the shop's keys.
export COFFRE_S3_KEYS_FILE=$SHOPKEYS AWS_ACCESS_KEY_ID=$access AWS_SECRET_ACCESS_KEY=$secret
S3=s3://127.0.0.1:$PORT/$BUCKET/shops/$SHOP
expect_exit 255 s3dbg list-objects-v2 --bucket "$BUCKET" --prefix shops/other/
grep -q '<Code>AccessDenied</Code>' "$ERR" || fail "another shop's prefix can be listed"

mkdir -p "$TESTDIR/src"
CONF=$TESTDIR/coffre.conf
drill_conf "$CONF" "$TESTDIR/state" "[destination shop]" "url = $S3" \
	"s3-keys-file = $SHOPKEYS" "s3-lock-days = 1" "keep-last = 1" "keep-daily = 0" \
	"keep-weekly = 0" "keep-monthly = 0" "keep-within = 0" "drill-budget = 1M"
backup() {
	rm -f "$TESTDIR"/src/f*
	head -c 150000 /dev/urandom >"$TESTDIR/src/f$1"
	echo "invoice $1" >"$TESTDIR/src/facture-$1.txt"
	expect_exit 0 cf backup -q "$TESTDIR/src"
}
now() { date +%s; }
tool() { "$COFFRE_TOOLS/dst_tool" "$S3" --keys "$SHOPKEYS" --lock-days 1 "$@"; }
until_of() { expect_exit 0 tool lock "$1"; awk '{print $1}' "$OUT"; }
remote_ids() { COFFRE_REPOSITORY=$S3 snapshot_ids | sort | tr '\n' ' '; }

log "init, two backups, pushed with the shop's keys"
expect_exit 0 cf init -q
backup 1
S1=$(snapshot_ids | head -n 1)
expect_exit 0 cf push --config "$CONF"
backup 2
expect_exit 0 cf push --config "$CONF"
[ "$(remote_ids | wc -w)" = 2 ] || fail "the bucket does not hold both snapshots"
U1=$(until_of "snapshots/$S1")

log "the spool forgets the first; once its lock has lapsed, a push may not delete it"
expect_exit 0 cf forget --keep-last 1 --keep-within 0 --prune
wait_for $((3 * L)) "the first snapshot's lock to lapse" eval '[ "$(now)" -gt $((U1 + 1)) ]'
expect_exit 0 cf push --config "$CONF"
cp "$OUT" "$LOGDIR/push-denied.txt"
info "$(cat "$OUT")"
grep -q 'refuses deletions with these keys: retention there is left to its owner' "$OUT" ||
	fail "the push does not say the deletion was refused"
EXT=$(sed -n 's/.* retentions read, \([0-9]*\) extended.*/\1/p' "$OUT")
[ "${EXT:-0}" -ge 1 ] || fail "no lock extended (the needed objects had lapsed)"
[ "$(remote_ids | wc -w)" = 2 ] || fail "a snapshot went"

log "a later push tries again, once: counted in its report, the copy unchanged"
expect_exit 0 cf --json push --config "$CONF"
cp "$OUT" "$LOGDIR/push-denied.json"
[ "$(json_get "$OUT" 0.complete)" = true ] || fail "the push is not complete"
[ "$(json_get "$OUT" 0.retention.removed_snapshots)" = 0 ] || fail "a removal is reported"
DENIED=$(json_get "$OUT" 0.retention.denied)
[ "$DENIED" -ge 1 ] || fail "the refused deletion is not counted ($DENIED)"
[ "$(json_get "$OUT" 0.lock.failed)" = 0 ] || fail "lock extensions failed"
info "second push: $DENIED deletions not made (refused), $(json_get "$OUT" 0.lock.extended) extended"
U=$(until_of config)
[ "$U" -gt "$(now)" ] || fail "the config's lock lapsed ($U)"

log "forget on the destination itself, with the shop's keys: refused, nothing removed"
expect_exit 12 cf --repo "$S3" forget --keep-last 1 --keep-within 0
grep -q 'refuses deletions with these keys' "$ERR" || { cat "$OUT" "$ERR"; fail "forget: no clear refusal"; }
info "forget: $(head -n 1 "$ERR")"
[ "$(remote_ids | wc -w)" = 2 ] || fail "a snapshot went"

log "direct attempts with the shop's keys: the server refuses them"
expect_exit 0 s3api list-object-versions --bucket "$BUCKET" --prefix "shops/$SHOP/snapshots/"
V=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Versions"][0]["VersionId"])' "$OUT")
K=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Versions"][0]["Key"])' "$OUT")
refused() {
	local c
	c=$(grep -o '<Code>[A-Za-z]*</Code>' "$ERR" | tail -n 1)
	[ "$c" = "<Code>AccessDenied</Code>" ] || { tail -n 20 "$ERR"; fail "$1: not refused for lack of rights"; }
	info "$1: refused by the server: $c"
}
expect_exit 255 s3dbg delete-object --bucket "$BUCKET" --key "$K" --version-id="$V"
refused "delete-object --version-id"
expect_exit 255 s3dbg delete-object --bucket "$BUCKET" --key "$K" --version-id="$V" \
	--bypass-governance-retention
refused "delete-object --bypass-governance-retention"
cat >"$TESTDIR/lifecycle.json" <<JSON
{"Rules": [{"ID": "wipe", "Status": "Enabled", "Filter": {"Prefix": "shops/$SHOP/"},
  "Expiration": {"Days": 1}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]}
JSON
expect_exit 255 s3dbg put-bucket-lifecycle-configuration --bucket "$BUCKET" \
	--lifecycle-configuration "file://$TESTDIR/lifecycle.json"
refused "put-bucket-lifecycle-configuration"
expect_exit 255 s3dbg put-bucket-policy --bucket "$BUCKET" --policy '{"Version":"2012-10-17","Statement":[]}'
refused "put-bucket-policy"
# Shortening a lock (COMPLIANCE: never; GOVERNANCE: only with the bypass right, denied).
expect_exit 0 s3api head-object --bucket "$BUCKET" --key "shops/$SHOP/config"
CV=$(json_get "$OUT" VersionId)
UC=$(until_of config)
SOON=$(date -u -d "@$(($(now) + 3))" +%Y-%m-%dT%H:%M:%SZ)
expect_exit 255 s3dbg put-object-retention --bucket "$BUCKET" --key "shops/$SHOP/config" \
	--version-id="$CV" --retention "Mode=GOVERNANCE,RetainUntilDate=$SOON" \
	--bypass-governance-retention
c=$(grep -o '<Code>[A-Za-z]*</Code>' "$ERR" | tail -n 1)
[ -n "$c" ] || { tail -n 20 "$ERR"; fail "shortening the lock: no refusal from the server"; }
[ "$(until_of config)" = "$UC" ] || fail "the config's lock was shortened"
info "put-object-retention shortening the config's lock: refused by the server: $c"

log "the copy is whole and every snapshot there restores"
expect_exit 0 cf --repo "$S3" check --read-data
for id in $(remote_ids); do
	rm -rf "$TESTDIR/r"
	expect_exit 0 cf --repo "$S3" restore "$id" --target "$TESTDIR/r"
	[ -n "$(find "$TESTDIR/r" -name 'facture-*.txt')" ] || fail "snapshot $id restored nothing"
done

log "a restore drill with the shop's keys"
expect_exit 0 cf drill --config "$CONF"
info "$(tail -n 2 "$OUT")"

log "coffred with the shop's keys: its status says the destination's retention is its owner's"
"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred's control socket" test -S "$SOCK"
expect_exit 0 cf backup --now --socket "$SOCK"
daemon_wait_run 1
[ "$(json_get "$ST" destinations.0.result)" = complete ] || fail "the push: $(json_get "$ST" destinations.0.result)"
[ "$(json_get "$ST" destinations.0.denied)" -ge 1 ] || fail "status.json: denied $(json_get "$ST" destinations.0.denied)"
expect_exit 0 cf status --socket "$SOCK"
grep -q "it refuses deletions with these keys: retention there is left to its owner" "$OUT" ||
	{ cat "$OUT"; fail "coffre status does not say the destination refuses deletions"; }
info "coffre status: $(grep 'refuses deletions' "$OUT" | sed 's/^ *//')"
grep -q "refuses deletions with these keys" "$DLOG" || fail "coffred does not log the refusal"
kill "$DPID"
wait "$DPID" 2>/dev/null || true

# The version is still there, as the owner lists it (objects the shop wrote are the shop's:
# the bucket's owner lists them, it does not read them).
AWS_ACCESS_KEY_ID=$ADMIN_ID AWS_SECRET_ACCESS_KEY=$ADMIN_SECRET \
	expect_exit 0 s3api list-object-versions --bucket "$BUCKET" --prefix "$K"
grep -q "\"$V\"" "$OUT" || fail "the version $V of $K is gone"
pass
