#!/usr/bin/env bash
# t_alert_lock.sh: the "lock" condition against a server that enforces Object Lock (Ceph
# radosgw, one node), with coffred running and a webhook sink (reminder = 3 s):
#  - a destination asked to lock (s3-lock-days = 1) in a bucket without Object Lock: "lock"
#    opens, its reason says the lock is not there; the destination moved to a bucket with
#    Object Lock (SIGHUP, a backup): one end;
#  - its locks about to lapse (the test clock 19 h on: less than a quarter of the period
#    left, as when the destination stays out of reach): "lock" opens again; the clock back:
#    its end;
#  - a second destination given S3 keys the server does not know: "refused" (critical, the
#    server's refusal as its reason); the right keys put in its keys file: one end;
#  - each episode: one start, a reminder or more, one end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
daemon_setup
rgw_need
export COFFRE_RETRY_BASE_MS=20
rgw_start
E=http://127.0.0.1:$PORT
expect_exit 0 aws --endpoint-url "$E" s3api create-bucket --bucket coffre-nolock
expect_exit 0 aws --endpoint-url "$E" s3api create-bucket --bucket coffre-lock \
	--object-lock-enabled-for-bucket
hook_sink_start
CLOCK=$TESTDIR/clock
echo 0 >"$CLOCK"
export COFFRED_TEST_CLOCK=$CLOCK
chmod 600 "$COFFRE_PASSWORD_FILE" "$RGW/keys"
mkdir -p "$TESTDIR/src"
echo facture >"$TESTDIR/src/f.txt"
expect_exit 0 cf init -q
conf() {	# BUCKET
	daemon_conf "$CONF" "daily 03:00" "$SOCK" "$STATE" "[alert]" \
		"webhook-url = http://127.0.0.1:$HP/hook" "language = fr" \
		"shop-name = Boutique test" "reminder = 3 s" "[destination nuage]" \
		"url = s3://127.0.0.1:$PORT/$1/shop" "s3-keys-file = $RGW/keys" "s3-lock-days = 1" \
		"[destination autre]" "url = s3://127.0.0.1:$PORT/coffre-nolock/other" \
		"s3-keys-file = $TESTDIR/other-keys" -- "$TESTDIR/src"
}
printf 'AKIAWRONGWRONGWRONG1\nwrongsecretwrongsecretwrongsecret12345\n' >"$TESTDIR/other-keys"
chmod 600 "$TESTDIR/other-keys"
conf coffre-nolock
COFFRED_RETRY_DELAY=3600 "$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred's control socket" test -S "$SOCK"
count() { hook_count lock "$1" nuage; }
at_least() { [ "$(count "$1")" -ge "$2" ]; }

log "a bucket without Object Lock: 'lock' opens"
expect_exit 0 cf backup --now --socket "$SOCK"
wait_for 60 "the start of 'lock'" at_least start 1
wait_for 30 "a reminder of 'lock'" at_least reminder 1
/usr/bin/python3 - "$HOOKS" >"$LOGDIR/reason" <<'PY'
import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    d = json.loads(json.loads(l)["body"])
    if d["condition"] == "lock" and d["state"] == "start":
        print(d["details"]["reason"], d["severity"])
    if d["condition"] == "refused" and d["state"] == "start":
        print("refused:", d["details"]["reason"], d["severity"])
PY
cat "$LOGDIR/reason"
grep -q "NOT supported.* critical$" "$LOGDIR/reason" || fail "the reason or the severity"
grep -q "^refused: .* critical$" "$LOGDIR/reason" || fail "the refusal's reason or severity"

wait_for 60 "the start of 'refused'" hook_at_least 1 refused start autre
wait_for 30 "a reminder of 'refused'" hook_at_least 1 refused reminder autre

log "moved to a bucket with Object Lock: its end; the right keys for the other: its end"
cp "$RGW/keys" "$TESTDIR/other-keys"
conf coffre-lock
daemon_hup
echo change >>"$TESTDIR/src/f.txt"
expect_exit 0 cf backup --now --socket "$SOCK"
wait_for 60 "the end of 'lock'" at_least end 1
[ "$(count start)" = 1 ] || fail "$(count start) starts"
wait_for 60 "the end of 'refused'" hook_at_least 1 refused end autre
[ "$(hook_count refused start autre)" = 1 ] || fail "$(hook_count refused start autre) starts of 'refused'"
[ "$(hook_count refused end autre)" = 1 ] || fail "$(hook_count refused end autre) ends of 'refused'"
info "refused: 1 start, $(hook_count refused reminder autre) reminders, 1 end"

log "19 h on the clock: the locks about to lapse; back: its end"
echo $((19 * 3600)) >"$CLOCK"
daemon_hup
wait_for 30 "the second start of 'lock'" at_least start 2
wait_for 30 "a reminder of it" at_least reminder 2
grep -q "ends within" <(/usr/bin/python3 -c 'import json,sys; [print(json.loads(json.loads(l)["body"])["details"]["reason"]) for l in open(sys.argv[1])]' "$HOOKS") ||
	fail "the lapsing reason is not said"
echo 0 >"$CLOCK"
daemon_hup
wait_for 30 "the second end of 'lock'" at_least end 2
[ "$(count start)" = 2 ] || fail "$(count start) starts"
[ "$(count end)" = 2 ] || fail "$(count end) ends"
info "lock: 2 episodes, $(count reminder) reminders"
pass
