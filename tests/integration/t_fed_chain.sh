#!/usr/bin/env bash
# t_fed_chain.sh: the federation's chain end to end, from the Debian package (built once by
# the fixture package_build) to the fleet view, on Ceph radosgw with Object Lock:
#  - apt-get install ./coffre_*.deb; the federation (installed /usr/bin/coffre): init, a
#    bundle from a CSV for a shop whose destination is a bucket with Object Lock (the bundle
#    carries its days and mode); the federation's public key where the package looks for it
#    (/etc/coffre/federation.pub);
#  - a tampered bundle: refused by the installed coffre enroll, nothing written;
#  - the bundle dropped at /etc/coffre/enroll.bundle, enrolled by the package's configure
#    step (coffre enroll): /etc/coffre/coffre.conf, the spool, the first backup pushed with a
#    retention date on every object (read back with the S3 API);
#  - the installed /usr/sbin/coffred started as its unit runs it: a backup, pushed and locked,
#    a restore drill, its signed status object in the bucket; coffre fleet: the shop
#    protected (exit 0, one summary line), the escrow key its spool's key files name the
#    federation's;
#  - coffred stopped, the fleet 37 h later: the shop silent (exit 1, its line);
#  - a status object signed by another key: refused by the fleet;
#  - purge, and the machine as before (no name with coffre left where a package writes).
# Prints the package's size and the time from the start of apt-get install to the first
# snapshot pushed under lock.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (installs and purges the package coffre)"
command -v dpkg >/dev/null || skip "dpkg is missing: not a Debian system"
[ "${COFFRE_SANITIZE:-0}" = 0 ] ||
	skip "the package's binaries are a plain build's: this test runs in a plain build"
setup
rgw_need
. "$(dirname "$0")/pkg.sh"
FED_TOOL=${COFFRE_TOOLS:-$COFFRE_TESTS/../build/tests}/fed_tool
[ -x "$FED_TOOL" ] || skip "no fed_tool in ${COFFRE_TOOLS:-build/tests}"
pkg_precheck
RUN_MADE=0
cleanup_hook() {
	if [ -n "${DPID:-}" ]; then kill "$DPID" 2>/dev/null || true; fi
	pkg_cleanup
	if [ "$RUN_MADE" = 1 ]; then rm -rf /run/coffre; fi
}
pkg_deb
rgw_start
EP=http://127.0.0.1:$PORT
BUCKET=coffre-fed
SHOP=epi-1
s3api() { aws --endpoint-url "$EP" s3api "$@"; }
expect_exit 0 s3api create-bucket --bucket "$BUCKET" --object-lock-enabled-for-bucket
KEYS=$TESTDIR/keys	# the federation's keys to its bucket (here the shop's too)
(umask 077 && cp "$RGW/keys" "$KEYS")
FEDE=$TESTDIR/fede
printf 'federation passphrase\n' >"$TESTDIR/fedpass"
mkdir -p "$TESTDIR/shop/factures"
for i in $(seq 1 30); do head -c $((i * 3001)) /dev/urandom >"$TESTDIR/shop/factures/F$i.pdf"; done
echo "client 1" >"$TESTDIR/shop/clients.csv"
# As the unit runs coffred; coffre run as root keeps its cache in /var/cache/coffre.
unset COFFRE_REPOSITORY COFFRE_PASSWORD_FILE XDG_CACHE_HOME
INSTALLED=/usr/bin/coffre
icf() { "$INSTALLED" "$@" </dev/null; }

log "apt-get install ./$DEBNAME ($(stat -c %s "$DEB") bytes)"
pkg_find_ours >"$LOGDIR/find-before"
T0=$EPOCHREALTIME
pkg_install
TI=$EPOCHREALTIME
info "installed in $(python3 -c "print(round($TI - $T0, 1))") s; Installed-Size: $(dpkg-query -W -f='${Installed-Size}' coffre) KiB"

log "the federation: init, a bundle for the shop (Object Lock: 10 days, GOVERNANCE: the fleet wants 7 days ahead)"
expect_exit 0 icf federation init --dir "$FEDE" --passphrase-file "$TESTDIR/fedpass"
{
	echo "shop_id,name,contact_email,s3_access_key,s3_secret_key,folders,schedule"
	echo "$SHOP,Épicerie Chaîne,epi@example.org,$(sed -n 1p "$KEYS"),$(sed -n 2p "$KEYS"),$TESTDIR/shop,daily 19:00"
} >"$TESTDIR/shops.csv"
expect_exit 0 icf federation bundle --dir "$FEDE" --shops "$TESTDIR/shops.csv" --out "$TESTDIR/b" \
	--endpoint "$EP" --bucket "$BUCKET" --lock-days 10 --lock-mode GOVERNANCE \
	--status-prefix fleet --passphrase-file "$TESTDIR/fedpass"
BUNDLE=$TESTDIR/b/$SHOP.bundle
lock_of() { python3 -c 'import json,base64,sys; print(json.dumps(json.loads(base64.b64decode(json.load(open(sys.argv[1]))["payload"]))["lock"]))' "$1"; }
[ "$(lock_of "$BUNDLE")" = '{"days": 10, "mode": "GOVERNANCE"}' ] || fail "the bundle's lock: $(lock_of "$BUNDLE")"
install -m 644 "$FEDE/federation.pub" /etc/coffre/federation.pub

log "a tampered bundle: refused by the installed coffre enroll, nothing written"
tamper_signed "$BUNDLE" "$TESTDIR/tampered.bundle"
places() { find "${PLACES[@]}" /var/cache/coffre -printf '%p %s %T@\n' 2>/dev/null | sort; }
places >"$LOGDIR/places-before"
expect_exit "1|2|4" icf enroll "$TESTDIR/tampered.bundle"
one_error_line "$ERR"
grep -q refused "$ERR" || fail "the tampered bundle: $(cat "$ERR")"
places >"$LOGDIR/places-after"
cmp -s "$LOGDIR/places-before" "$LOGDIR/places-after" || {
	diff "$LOGDIR/places-before" "$LOGDIR/places-after" >&2; fail "a tampered bundle wrote something"; }
info "$(cat "$ERR")"

log "the bundle dropped at /etc/coffre/enroll.bundle: the package enrolls (configuration, spool, first backup pushed under lock)"
# As when the bundle was dropped before the install: the package's configure step.
cp "$BUNDLE" /etc/coffre/enroll.bundle
expect_exit 0 /var/lib/dpkg/info/coffre.postinst configure
TP=$EPOCHREALTIME
cp "$OUT" "$LOGDIR/enroll.out"
grep -q '^Protected' "$OUT" || fail "enroll: $(cat "$OUT") $(cat "$ERR")"
[ ! -e /etc/coffre/enroll.bundle ] && [ -e /etc/coffre/enroll.bundle.used ] ||
	fail "the bundle was not set aside once used"
# An upgrade (a configuration there) enrolls nothing again.
expect_exit 0 /var/lib/dpkg/info/coffre.postinst configure
! grep -q Protected "$OUT" || fail "the upgrade's configure step enrolled again"
CONF=/etc/coffre/coffre.conf
grep -q '^s3-lock-days = 10$' "$CONF" && grep -q '^s3-lock-mode = GOVERNANCE$' "$CONF" ||
	fail "the configuration has no lock: $(cat "$CONF")"
expect_exit 0 icf config check --config "$CONF"
# Every snapshot in the bucket, with its retention (mode and date, seconds since the epoch).
locked() {
	local k
	s3api list-objects-v2 --bucket "$BUCKET" --prefix "shops/$SHOP/snapshots/" \
		--query 'Contents[].Key' --output text >"$LOGDIR/snaps" 2>"$LOGDIR/snaps.err" || return 1
	for k in $(cat "$LOGDIR/snaps"); do
		[ "$k" != None ] || continue
		s3api get-object-retention --bucket "$BUCKET" --key "$k" --output text \
			--query 'Retention.[Mode,RetainUntilDate]' 2>>"$LOGDIR/snaps.err" |
			{ read -r m u; echo "$k $m $(date -d "$u" +%s)"; }
	done
}
locked >"$LOGDIR/locked.1" || fail "cannot list the snapshots: $(cat "$LOGDIR/snaps.err")"
[ "$(wc -l <"$LOGDIR/locked.1")" = 1 ] || fail "snapshots after enroll: $(cat "$LOGDIR/locked.1")"
read -r _ mode until <"$LOGDIR/locked.1"
[ "$mode" = GOVERNANCE ] && [ "$until" -gt $(($(date +%s) + 9 * 86400)) ] ||
	fail "the first snapshot is not locked for 10 days: $(cat "$LOGDIR/locked.1")"
info "first snapshot locked ($mode) until $(date -u -d "@$until" '+%F %T') UTC"
FIRST=$(python3 -c "print(round($TP - $T0, 1))")
info "enroll: $(python3 -c "print(round($TP - $TI, 1))") s"

log "the installed coffred, as its unit runs it: a backup, pushed, drilled, its status"
# A restore drill every 3 s instead of weekly (the fleet wants a proven restore).
sed -i '/^\[destination cloud\]$/a drill = 3 s' "$CONF"
expect_exit 0 icf config check --config "$CONF"
[ -d /run/coffre ] || { RUN_MADE=1; mkdir -m 755 /run/coffre; }
(umask 027 && exec env XDG_CACHE_HOME=/var/cache/coffre /usr/sbin/coffred --config "$CONF") \
	2>"$LOGDIR/coffred.log" &
DPID=$!
BG_PIDS+=("$DPID")
SOCK=/run/coffre/coffred.sock
wait_for 60 "coffred answering on $SOCK" pkg_daemon_answers
expect_exit 0 icf backup --now --socket "$SOCK"
two_locked() {
	kill -0 "$DPID" 2>/dev/null || { cat "$LOGDIR/coffred.log" >&2; fail "coffred died"; }
	locked >"$LOGDIR/locked.2" && [ "$(grep -c GOVERNANCE "$LOGDIR/locked.2")" = 2 ]
}
wait_for 120 "coffred's snapshot pushed under lock" two_locked
info "$(wc -l <"$LOGDIR/locked.2") snapshots in the bucket, each with a retention date"
STATUS_URL=$(sed -n 's/^status-url = //p' "$CONF")
fleet() {	# [ARGS...]: the installed coffre fleet; $OUT, $ERR, the exit code in $FRC
	expect_exit "0|1|4|13" icf fleet --dir "$FEDE" --bucket "$STATUS_URL" --keys-file "$KEYS" "$@"
	FRC=$RC
}
healthy() {
	kill -0 "$DPID" 2>/dev/null || { cat "$LOGDIR/coffred.log" >&2; fail "coffred died"; }
	fleet >/dev/null 2>&1
	[ "$FRC" = 0 ]
}
wait_for 120 "the shop protected in the fleet view (backed up, pushed, drilled)" healthy
cp "$OUT" "$LOGDIR/fleet-healthy.txt"
info "coffre fleet (exit 0): $(cat "$OUT")"
[ "$(grep -c '' "$OUT")" = 1 ] || fail "more than one line: $(cat "$OUT")"
grep -qx "1 shops: 1 protected, 0 need attention" "$OUT" || fail "summary: $(cat "$OUT")"
grep -q "federation: status sent" "$LOGDIR/coffred.log" || fail "coffred logs no status sent"
fleet --json --require-lock
[ "$FRC" = 0 ] || fail "--require-lock: $(cat "$OUT")"
cp "$OUT" "$LOGDIR/fleet.json"
[ "$(json_get "$OUT" list.0.id)" = "$SHOP" ] || fail "the shop is not listed"
# FEDE/escrow.pub is there: protected means sealed to it; the status says so.
ESCROW_ID=$(escrow_key_id "$(cat "$FEDE/escrow.pub")")
[ "$(json_get "$OUT" list.0.escrow_keys)" = "[\"$ESCROW_ID\"]" ] ||
	fail "escrow_keys: $(json_get "$OUT" list.0.escrow_keys), the federation's: $ESCROW_ID"
info "the spool is sealed to the federation's escrow key $ESCROW_ID"

log "coffred stopped; the fleet 37 h later: the shop silent"
pkg_daemon_stop
# --now rather than faketime: the fleet's requests are signed with its clock, and the
# server refuses a signature dated 37 h ahead (RequestTimeTooSkewed).
fleet --now $(($(date +%s) + 37 * 3600))
[ "$FRC" = 1 ] || fail "silent shop: exit $FRC: $(cat "$OUT")"
info "coffre fleet (exit 1): $(cat "$OUT")"
grep -q "^$SHOP (Épicerie Chaîne): .*silent for 3[78] h" "$OUT" || fail "not silent: $(cat "$OUT")"

log "a status object signed by another key: refused by the fleet"
forge_status "$FED_TOOL" "$SHOP" "$TESTDIR/forged.json"
expect_exit 0 s3api put-object --bucket "$BUCKET" --key "fleet/status/$SHOP.json" \
	--body "$TESTDIR/forged.json"
fleet
[ "$FRC" = 1 ] || fail "forged: exit $FRC"
grep -q "^$SHOP .*bad status object: not signed by the shop's key" "$OUT" ||
	fail "forgery not refused: $(cat "$OUT")"
info "coffre fleet (exit 1): $(head -n 1 "$OUT")"

log "purge: the machine as before"
expect_exit 0 apt_get purge coffre
pkg_purged
rm -rf "${PLACES[@]}" /var/cache/coffre	# the spool, password and keys a purge keeps
if [ "$RUN_MADE" = 1 ]; then rm -rf /run/coffre; RUN_MADE=0; fi
pkg_find_ours >"$LOGDIR/find-after"
if ! diff -u "$LOGDIR/find-before" "$LOGDIR/find-after" >&2; then
	fail "names with coffre left in /usr, /etc, /lib or /var after the purge"
fi
info "package: $(stat -c %s "$DEB") bytes ($DEBNAME)"
info "apt-get install start to the first snapshot pushed under lock: $FIRST s"
pass
