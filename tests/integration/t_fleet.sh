#!/usr/bin/env bash
# t_fleet.sh: the fleet view on s3rver. A federation key and a signed registry of one shop
# (fed_tool), the shop's coffred with [federation] and a destination on the same s3rver
# (drilled every 4 s):
#  - a backup and a drill: the shop's status object appears, signed, and `coffre fleet`
#    says the shop is protected (exit 0); a second run fetches nothing (cache);
#  - coffred started again with a 2 s period (COFFRED_FED_EVERY): it reports on its own and
#    its seq goes on from where it was (no rollback);
#  - 37 h later (--now): the shop is silent (exit 1);
#  - an old object put back after a newer one: rollback; an object signed by another key:
#    bad signature; an object of a shop the registry lacks: unknown shop; an object past
#    64 KiB: refused without being fetched;
#  - --require-lock on a bucket without Object Lock: store not locked;
#  - the status names the escrow key the shop's repository is sealed to (read from its key
#    files); FEDE/escrow.pub another key: the shop's escrow is flagged;
#  - a registry not signed by the federation: refused (exit 4).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
daemon_setup
SERVERS=$COFFRE_TESTS/servers
TOOLS=${COFFRE_TOOLS:-$COFFRE_TESTS/../build/tests}
FED_TOOL=$TOOLS/fed_tool
DST_TOOL=$TOOLS/dst_tool
[ -x "$FED_TOOL" ] || skip "no fed_tool in $TOOLS"
[ -x "$SERVERS/node_modules/.bin/s3rver" ] && command -v node >/dev/null ||
	skip "s3rver is not installed (npm install --prefix tests/servers)"
export COFFRE_RETRY_BASE_MS=20
cleanup_hook() { "$SERVERS/s3rver.sh" stop "$TESTDIR/s3" 2>/dev/null || true; }
port=$("$SERVERS/s3rver.sh" start "$TESTDIR/s3" coffre) || fail "s3rver did not start"
KEYS=$TESTDIR/s3keys
printf 'S3RVER\nS3RVER\n' >"$KEYS"
chmod 600 "$KEYS" "$COFFRE_PASSWORD_FILE"
BUCKET=s3://127.0.0.1:$port/coffre/fed
FEDE=$TESTDIR/fede
mkdir -p "$FEDE"

log "a federation, its registry of one shop, the shop's coffred"
expect_exit 0 "$FED_TOOL" keygen "$FEDE/federation.pub" "$TESTDIR/federation.sk"
expect_exit 0 "$FED_TOOL" keygen "$TESTDIR/shop.pub" "$TESTDIR/status.key"
echo "boul-1 $(cat "$TESTDIR/shop.pub") Boulangerie Martin" >"$TESTDIR/shops"
expect_exit 0 "$FED_TOOL" registry "$TESTDIR/federation.sk" "$FEDE/registry.json" "$TESTDIR/shops"
mkdir -p "$TESTDIR/src"
echo facture >"$TESTDIR/src/f.txt"
expect_exit 0 cf key escrow-keygen
SHOP_ESCROW=$(sed -n 's/^public: //p' "$OUT")
expect_exit 0 cf init -q --escrow-key "$SHOP_ESCROW"
daemon_conf "$CONF" "daily 03:00" "$SOCK" "$STATE" "[federation]" "shop-id = boul-1" \
	"federation-key = $(cat "$FEDE/federation.pub")" "status-url = $BUCKET" \
	"status-keys-file = $KEYS" "status-key-file = $TESTDIR/status.key" \
	"[destination cloud]" "url = s3://127.0.0.1:$port/coffre/shop" "s3-keys-file = $KEYS" \
	"drill = 4 s" -- "$TESTDIR/src"
"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred's control socket" test -S "$SOCK"
expect_exit 0 cf backup --now --socket "$SOCK"

fleet() {	# [ARGS...]: coffre fleet on the test's federation; $OUT, $ERR, the exit code in $FRC
	expect_exit "0|1|4" cf fleet --dir "$FEDE" --bucket "$BUCKET" --keys-file "$KEYS" "$@"
	FRC=$RC
}
healthy() { fleet >/dev/null 2>&1; [ "$FRC" = 0 ]; }
wait_for 90 "the shop protected in the fleet view (a backup and a proven restore)" healthy
cp "$OUT" "$LOGDIR/fleet-healthy.txt"
grep -q "1 shops: 1 protected, 0 need attention" "$OUT" || fail "summary: $(cat "$OUT")"
grep -q "federation: status sent" "$DLOG" || fail "coffred does not log the status it sent"
[ -s "$STATE/fed-status.seq" ] || fail "no seq kept in the state dir"
fleet --json
cp "$OUT" "$LOGDIR/fleet.json"
[ "$(json_get "$OUT" list.0.id)" = boul-1 ] || fail "the shop is not listed"
[ "$(json_get "$OUT" list.0.protected)" = true ] || fail "not protected in --json"
[ "$(json_get "$OUT" traffic.fetched)" = 0 ] || info "fetched again: the shop sent a new status"

log "the escrow key: the status names the one the repository uses; another is flagged"
[ "$(json_get "$OUT" list.0.escrow_keys)" = "[\"$(escrow_key_id "$SHOP_ESCROW")\"]" ] ||
	fail "escrow_keys: $(json_get "$OUT" list.0.escrow_keys)"
expect_exit 0 cf key escrow-keygen
sed -n 's/^public: //p' "$OUT" >"$FEDE/escrow.pub"
fleet --json
[ "$FRC" = 1 ] || fail "another escrow key: exit $FRC"
[ "$(json_get "$OUT" list.0.problems)" = '["escrow"]' ] || fail "problems: $(json_get "$OUT" list.0.problems)"
fleet
grep -q "^boul-1 (Boulangerie Martin): escrow key not the federation's ($(escrow_key_id "$SHOP_ESCROW"))" "$OUT" ||
	fail "escrow not flagged: $(cat "$OUT")"
info "$(head -n 1 "$OUT")"
echo "$SHOP_ESCROW" >"$FEDE/escrow.pub"
fleet
[ "$FRC" = 0 ] || fail "the shop's own escrow key: $(cat "$OUT")"

log "a newer status after a backup"
expect_exit 0 "$DST_TOOL" "$BUCKET" --keys "$KEYS" get status/boul-1.json "$TESTDIR/old.json"
python3 - "$TESTDIR/old.json" <<'PY' || fail "the status object does not hold the shared format"
import base64, json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "status" and d["v"] == 1, d
p = json.loads(base64.b64decode(d["payload"]))
assert p["shop"] == "boul-1" and p["seq"] >= 1 and p["version"].startswith("coffre "), p
assert isinstance(p["free_bytes"], int) and p["alarm"] is False and p["alerts"] == [], p
assert p["last_good_backup"] and p["last_proven_restore"], p
assert p["destinations"][0]["name"] == "cloud" and p["destinations"][0]["state"] == "ok", p
PY
sent() { grep -c "federation: status sent" "$DLOG" || true; }
n=$(sent)
expect_exit 0 cf backup --now --socket "$SOCK"
more_sent() { [ "$(sent)" -gt "$n" ]; }
wait_for 30 "a newer status after the backup" more_sent
kill "$DPID"
wait "$DPID" 2>/dev/null || true

log "coffred started again, no run, a 2 s period: it reports on its own, seq goes on"
sed -i '/^drill = /d' "$CONF"
n=$(sent)
COFFRED_FED_EVERY=2 "$COFFRED" --config "$CONF" 2>>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
three_more() { [ "$(sent)" -ge $((n + 3)) ]; }
wait_for 30 "three statuses sent by the timer" three_more
kill "$DPID"
wait "$DPID" 2>/dev/null || true
fleet
[ "$FRC" = 0 ] || fail "after a restart: $(cat "$OUT")"
[ "$(cat "$STATE/fed-status.seq")" -ge 5 ] || fail "seq: $(cat "$STATE/fed-status.seq")"

log "the shop silent: 37 h later"
fleet --now $(($(date +%s) + 37 * 3600))
[ "$FRC" = 1 ] || fail "silent shop: exit $FRC"
grep -q "^boul-1 (Boulangerie Martin): .*silent for 3[78] h" "$OUT" || fail "not silent: $(cat "$OUT")"
grep -q "1 shops: 0 protected, 1 need attention" "$OUT" || fail "summary: $(cat "$OUT")"
fleet --csv "$TESTDIR/fleet.csv" --html "$TESTDIR/fleet.html"
grep -q '^"boul-1","Boulangerie Martin","protected"' "$TESTDIR/fleet.csv" ||
	fail "CSV: $(cat "$TESTDIR/fleet.csv")"
grep -q "Boulangerie Martin" "$TESTDIR/fleet.html" || fail "the HTML report lacks the shop"
! grep -qE "(src|href)=\"?https?:" "$TESTDIR/fleet.html" || fail "the HTML report loads resources"
cp "$TESTDIR/fleet.csv" "$TESTDIR/fleet.html" "$LOGDIR/"

log "an older status object put back: rollback"
expect_exit 0 "$DST_TOOL" "$BUCKET" --keys "$KEYS" put status/boul-1.json "$TESTDIR/old.json"
fleet
[ "$FRC" = 1 ] || fail "rollback: exit $FRC"
grep -q "^boul-1 .*rolled back" "$OUT" || fail "no rollback: $(cat "$OUT")"

log "a status object signed by another key: bad signature"
forge_status "$FED_TOOL" boul-1 "$TESTDIR/forged.json"
expect_exit 0 "$DST_TOOL" "$BUCKET" --keys "$KEYS" put status/boul-1.json "$TESTDIR/forged.json"
fleet
[ "$FRC" = 1 ] || fail "forged: exit $FRC"
grep -q "^boul-1 .*bad status object: not signed by the shop's key" "$OUT" ||
	fail "forgery not refused: $(cat "$OUT")"
fleet
grep -q "^boul-1 .*bad status object" "$OUT" || fail "forgery forgotten by the cache: $(cat "$OUT")"

log "an object for a shop the registry lacks: unknown shop"
expect_exit 0 "$DST_TOOL" "$BUCKET" --keys "$KEYS" put status/intrus.json "$TESTDIR/forged.json"
fleet
grep -q "^intrus: unknown shop" "$OUT" || fail "unknown shop not shown: $(cat "$OUT")"
grep -q "2 shops: 0 protected, 2 need attention" "$OUT" || fail "summary: $(cat "$OUT")"

log "an object past 64 KiB: refused unread"
head -c 70000 /dev/zero | tr '\0' x >"$TESTDIR/big.json"
expect_exit 0 "$DST_TOOL" "$BUCKET" --keys "$KEYS" put status/boul-1.json "$TESTDIR/big.json"
fleet --json
[ "$(json_get "$OUT" traffic.fetched)" = 0 ] || fail "an object past 64 KiB was fetched"
grep -q "larger than 64 KiB" "$OUT" || fail "an object past 64 KiB not refused: $(cat "$OUT")"

log "the old object again and --require-lock: store not locked"
expect_exit 0 "$DST_TOOL" "$BUCKET" --keys "$KEYS" put status/boul-1.json "$TESTDIR/old.json"
fleet --require-lock
grep -q "^boul-1 .*store not locked" "$OUT" || fail "no lock required: $(cat "$OUT")"

log "a registry signed by another key: refused"
cp "$FEDE/registry.json" "$TESTDIR/registry.good"
expect_exit 0 "$FED_TOOL" registry "$TESTDIR/other.key" "$FEDE/registry.json" "$TESTDIR/shops"
fleet
[ "$FRC" = 4 ] || fail "a registry not signed by the federation: exit $FRC"
grep -q "not a registry signed by the federation" "$ERR" || fail "message: $(cat "$ERR")"
pass
