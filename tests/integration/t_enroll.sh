#!/usr/bin/env bash
# t_enroll.sh: a federation enrolls a shop end to end on s3rver: federation init, bundles for
# three shops from a CSV, enroll --check writes nothing, enroll one shop (first snapshot on
# the federation's S3 prefix), the federation restores the shop's tree with only its escrow
# secret key; a tampered bundle, one signed by another federation, an expired one and one
# for another shop are each refused with one line and nothing written; a newer bundle
# updates the S3 keys and keeps the spool.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
TEST_NAME=${TEST_NAME:-enroll}
setup
SERVERS=$COFFRE_TESTS/servers
[ -x "$SERVERS/node_modules/.bin/s3rver" ] && command -v node >/dev/null ||
	skip "s3rver is not installed (npm install --prefix tests/servers)"
cleanup_hook() { "$SERVERS/s3rver.sh" stop "$TESTDIR/s3" 2>/dev/null || true; }
port=$("$SERVERS/s3rver.sh" start "$TESTDIR/s3" fedbucket) || fail "s3rver did not start"
export COFFRE_RETRY_BASE_MS=20
unset COFFRE_REPOSITORY COFFRE_PASSWORD_FILE
FEDE=$TESTDIR/fede
printf 'federation passphrase\n' >"$TESTDIR/fedpass"
SHOP=$TESTDIR/shop	# the shop's /etc/coffre, spool and state
CONF=$SHOP/etc/coffre.conf
ENROLL=(--federation-key "$FEDE/federation.pub" --config "$CONF" --spool "$SHOP/spool"
	--state-dir "$SHOP/state")

log "federation init"
expect_exit 0 cf federation init --dir "$FEDE" --passphrase-file "$TESTDIR/fedpass"
[ "$(stat -c %a "$FEDE")" = 700 ] || fail "federation folder not 0700"
for f in federation.key escrow.key; do
	[ "$(stat -c %a "$FEDE/$f")" = 600 ] || fail "$f not 0600"
	grep -q '"kdf":"argon2id13"' "$FEDE/$f" || fail "$f is not sealed"
done
expect_exit 1 cf federation init --dir "$FEDE" --passphrase-file "$TESTDIR/fedpass"
one_error_line "$ERR"

log "bundles for three shops"
cat >"$TESTDIR/shops.csv" <<CSV
shop_id,name,contact_email,s3_access_key,s3_secret_key,folders,schedule
shop-1,Boulangerie Une,one@example.org,AK1,SK1,/srv/one,daily 19:00
shop-2,Garage Deux,,S3RVER,S3RVER
shop-3,Fleurs Trois,three@example.org,AK3,SK3,/srv/a;/srv/b,daily 20:00
CSV
BUNDLE=(--dir "$FEDE" --shops "$TESTDIR/shops.csv" --endpoint "http://127.0.0.1:$port"
	--bucket fedbucket --webhook-url "http://127.0.0.1:9/hook" --passphrase-file "$TESTDIR/fedpass")
expect_exit 0 cf federation bundle "${BUNDLE[@]}" --out "$TESTDIR/b1"
for s in shop-1 shop-2 shop-3; do
	[ "$(stat -c %a "$TESTDIR/b1/$s.bundle")" = 600 ] || fail "$s.bundle not 0600"
done
reg_shops() { python3 -c 'import json,base64,sys; d=json.load(open(sys.argv[1])); p=json.loads(base64.b64decode(d["payload"])); print(" ".join(sorted(s["id"] for s in p["shops"])))' "$FEDE/registry.json"; }
[ "$(reg_shops)" = "shop-1 shop-2 shop-3" ] || fail "registry: $(reg_shops)"
printf 'shop-9,Bad,,AK\n' >"$TESTDIR/bad.csv"
expect_exit 2 cf federation bundle "${BUNDLE[@]}" --shops "$TESTDIR/bad.csv" --out "$TESTDIR/bx"
grep -q 'line 1: ' "$ERR" || fail "bad CSV line not named"
[ ! -e "$TESTDIR/bx" ] || fail "a bad CSV wrote bundles"

log "enroll --check writes nothing"
mkdir -p "$TESTDIR/tree/docs"
for i in $(seq 1 40); do head -c $((i * 997)) /dev/urandom >"$TESTDIR/tree/docs/f$i"; done
printf 'facture 42\n' >"$TESTDIR/tree/facture.txt"
expect_exit 0 cf enroll "$TESTDIR/b1/shop-2.bundle" "${ENROLL[@]}" --folder "$TESTDIR/tree" --check
grep -q "fedbucket" "$OUT" || fail "--check does not show the bucket"
grep -q "shops/shop-2" "$OUT" || fail "--check does not show the prefix"
[ ! -e "$SHOP" ] || fail "--check wrote something"

log "enroll shop-2"
t0=$(date +%s.%N)
expect_exit 0 cf enroll "$TESTDIR/b1/shop-2.bundle" "${ENROLL[@]}" --folder "$TESTDIR/tree"
t1=$(date +%s.%N)
info "enroll to first protected backup: $(python3 -c "print(round($t1 - $t0, 2))") s"
cp "$OUT" "$LOGDIR/enroll.out"
grep -q "Protected" "$OUT" || fail "enroll did not say the shop is protected"
grep -q "^Recovery key: " "$OUT" || fail "no recovery key printed"
sed -n 's/.*(for the escrow holder.s list): //p' "$OUT" >"$TESTDIR/fingerprints"
[ -s "$TESTDIR/fingerprints" ] || fail "no escrow fingerprint printed"
[ "$(stat -c %a "$CONF")" = 640 ] || fail "config not 0640"
for f in password s3-keys status-s3.keys status.key; do
	[ "$(stat -c %a "$SHOP/etc/$f")" = 600 ] || fail "$f not 0600"
done
expect_exit 0 cf config check --config "$CONF"
grep -q '^shop-id = shop-2$' "$CONF" || fail "no [federation] shop-id"
grep -q "^url = s3://127.0.0.1:$port/fedbucket/shops/shop-2?http$" "$CONF" || fail "no S3 destination"
S3=s3://127.0.0.1:$port/fedbucket/shops/shop-2
printf 'S3RVER\nS3RVER\n' >"$TESTDIR/s3keys"
chmod 600 "$TESTDIR/s3keys"

log "the federation restores with only the escrow secret key"
expect_exit 0 cf federation escrow-key --dir "$FEDE" --out "$TESTDIR/escrow.sec" \
	--passphrase-file "$TESTDIR/fedpass"
[ "$(stat -c %a "$TESTDIR/escrow.sec")" = 600 ] || fail "escrow secret not 0600"
printf 'wrong\n' >"$TESTDIR/wrongpass"
expect_exit 12 cf federation escrow-key --dir "$FEDE" --out "$TESTDIR/escrow2.sec" \
	--passphrase-file "$TESTDIR/wrongpass"
ESC=(--repo "$S3" --s3-keys-file "$TESTDIR/s3keys" --escrow-key-file "$TESTDIR/escrow.sec"
	--escrow-fingerprints "$TESTDIR/fingerprints")
expect_exit 0 cf "${ESC[@]}" restore latest --target "$TESTDIR/restored"
compare_trees "$TESTDIR/tree" "$TESTDIR/restored$TESTDIR/tree"

log "bad bundles are refused with one line, nothing written"
state() { (cd "$SHOP" && find . -printf '%p %s %T@\n' | sort; cat "$CONF") >"$1"; }
state "$TESTDIR/before"
refused() {
	expect_exit "1|2|4" cf enroll "$1" "${ENROLL[@]}"
	one_error_line "$ERR"
	grep -q "refused" "$ERR" || fail "$2: not refused: $(cat "$ERR")"
	state "$TESTDIR/after"
	cmp -s "$TESTDIR/before" "$TESTDIR/after" || fail "$2: something was written"
	info "$2: $(cat "$ERR")"
}
# Tampered: one byte of the payload changed.
tamper_signed "$TESTDIR/b1/shop-2.bundle" "$TESTDIR/tampered.bundle"
refused "$TESTDIR/tampered.bundle" "tampered"
expect_exit 0 cf federation init --dir "$TESTDIR/other" --passphrase-file "$TESTDIR/fedpass"
# The other federation's endpoint and bucket come from its federation.conf.
printf '[defaults]\nendpoint = http://127.0.0.1:%s\nbucket = otherbucket\n' "$port" \
	>>"$TESTDIR/other/federation.conf"
expect_exit 0 cf federation bundle --dir "$TESTDIR/other" --shops "$TESTDIR/shops.csv" \
	--passphrase-file "$TESTDIR/fedpass" --out "$TESTDIR/bo"
bucket_of() { python3 -c 'import json,base64,sys; print(json.loads(base64.b64decode(json.load(open(sys.argv[1]))["payload"]))["s3"]["bucket"])' "$1"; }
[ "$(bucket_of "$TESTDIR/bo/shop-2.bundle")" = otherbucket ] || fail "federation.conf not used"
refused "$TESTDIR/bo/shop-2.bundle" "another federation"
expect_exit 0 cf federation bundle "${BUNDLE[@]}" --valid-days 0 --out "$TESTDIR/be"
refused "$TESTDIR/be/shop-2.bundle" "expired"
refused "$TESTDIR/b1/shop-3.bundle" "another shop"

log "a newer bundle updates the S3 keys, keeps the spool"
spool_before=$(cd "$SHOP/spool" && find . -type f | sort | xargs sha256sum)
pw_before=$(cat "$SHOP/etc/password")
sed -i 's/^shop-2,Garage Deux,,S3RVER,S3RVER$/shop-2,Garage Deux,,AK2b,SK2b/' "$TESTDIR/shops.csv"
# 'issued' has a one-second resolution: the newer bundle must be later than the first.
b1_issued=$(python3 -c 'import json,base64,sys; print(json.loads(base64.b64decode(json.load(open(sys.argv[1]))["payload"]))["issued"])' "$TESTDIR/b1/shop-2.bundle")
later() { [ "$(date +%s)" -gt "$b1_issued" ]; }
wait_for 5 "a second after the first bundle" later
expect_exit 0 cf federation bundle "${BUNDLE[@]}" --out "$TESTDIR/b2"
expect_exit 0 cf enroll "$TESTDIR/b2/shop-2.bundle" "${ENROLL[@]}"
[ "$(sed -n 1p "$SHOP/etc/s3-keys")" = AK2b ] || fail "S3 keys not updated"
[ "$(cat "$SHOP/etc/password")" = "$pw_before" ] || fail "password changed"
[ "$(cd "$SHOP/spool" && find . -type f | sort | xargs sha256sum)" = "$spool_before" ] ||
	fail "spool changed"
expect_exit 0 cf config check --config "$CONF"
expect_exit 0 cf --repo "$SHOP/spool" --password-file "$SHOP/etc/password" snapshots
state "$TESTDIR/before"
refused "$TESTDIR/b1/shop-2.bundle" "older bundle"
pass
