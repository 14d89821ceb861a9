#!/usr/bin/env bash
# t_lock_retention: a destination's retention on a bucket that enforces Object Lock (Ceph
# radosgw, tests/servers/radosgw.sh), with the lock period counted in seconds
# (COFFRE_TEST_LOCK_SECONDS, a test setting):
#  - a push whose policy drops a snapshot still locked: the server refuses, the push succeeds
#    and says how many objects wait for their lock; the copy stays whole (check --read-data)
#    and nothing reports the deletion as done;
#  - what waits is never extended again, while what is needed is;
#  - once the date has passed, the next push deletes it: the copy then holds the policy's
#    snapshots and checks clean.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup
rgw_need
export COFFRE_RETRY_BASE_MS=20
L=80	# the lock period, in seconds
export COFFRE_TEST_LOCK_SECONDS=$L
rgw_start
BUCKET=coffre-lockret
S3=s3://127.0.0.1:$PORT/$BUCKET/shop
tool() { "$COFFRE_TOOLS/dst_tool" "$S3" --keys "$RGW/keys" --lock-days 1 "$@"; }
expect_exit 0 aws --endpoint-url "http://127.0.0.1:$PORT" s3api create-bucket \
	--bucket "$BUCKET" --object-lock-enabled-for-bucket
now() { date +%s; }
until_of() {
	expect_exit 0 tool lock "$1"
	read -r u _ <"$OUT"
	echo "$u"
}
mkdir -p "$TESTDIR/src"
chmod 600 "$COFFRE_PASSWORD_FILE" "$RGW/keys"
cat >"$TESTDIR/coffre.conf" <<CONF
[backup]
path = $TESTDIR/src
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
keep-last = 2
keep-daily = 0
keep-weekly = 0
keep-monthly = 0
keep-within = 0
[destination bucket]
url = $S3
s3-keys-file = $RGW/keys
s3-lock-days = 1
CONF
# backup N: a file of its own (so that its pack is its alone once the file is gone).
backup() {
	rm -f "$TESTDIR"/src/f*
	head -c 150000 /dev/urandom >"$TESTDIR/src/f$1"
	expect_exit 0 cf backup -q "$TESTDIR/src"
}
push() {
	expect_exit 0 cf --json push --config "$TESTDIR/coffre.conf"
	REMOVED=$(json_get "$OUT" 0.retention.removed_snapshots)
	RPACKS=$(json_get "$OUT" 0.retention.removed_packs)
	WAITING=$(json_get "$OUT" 0.retention.lock_waiting)
	info "push: $REMOVED snapshots and $RPACKS packs removed, $WAITING objects waiting"
}
remote_ids() {
	expect_exit 0 cf --repo "$S3" --json snapshots
	python3 -c 'import json,sys; print(" ".join(sorted(s["id"] for s in json.load(open(sys.argv[1])))))' "$OUT"
}

log "two backups, pushed"
expect_exit 0 cf init -q
backup 1
S1=$(snapshot_ids | head -n 1)
backup 2
push
[ "$(remote_ids | wc -w)" = 2 ] || fail "the bucket does not hold both snapshots"

log "a third backup; the spool forgets the first; the push cannot delete it yet"
backup 3
expect_exit 0 cf forget --keep-last 2 --keep-within 0 --prune
WANT=$(snapshot_ids | sort | tr '\n' ' ' | sed 's/ $//')
push
[ "$REMOVED" = 0 ] || fail "a locked snapshot was reported removed"
[ "$WAITING" -ge 1 ] || fail "the refused deletion is not counted ($WAITING)"
# What waits is left out of the lock step: it checks every other object there, and only them.
CHECKED=$(json_get "$OUT" 0.lock.checked)
expect_exit 0 tool list ""
NOBJ=$(grep -cE '^(config|keys/|data/|index/|pins/|snapshots/)' "$OUT" || true)
[ $((CHECKED + WAITING)) = "$NOBJ" ] ||
	fail "the lock step checked $CHECKED objects; $NOBJ are there, $WAITING waiting"
expect_exit 0 tool list snapshots/
grep -q "snapshots/$S1" "$OUT" || fail "the locked snapshot is gone"
expect_exit 0 cf --repo "$S3" check --read-data
U1=$(until_of "snapshots/$S1")
info "snapshot ${S1:0:8} locked until $(date -u -d "@$U1" +%T)"

log "near its date, a push extends what is needed but not what waits"
wait_for $((2 * L)) "the first snapshot to come within half the period" \
	eval '[ "$(now)" -ge $((U1 - L / 2 + 1)) ]'
push
if [ "$(now)" -lt "$U1" ]; then
	[ "$REMOVED" = 0 ] || fail "a locked snapshot was reported removed"
	[ "$(until_of "snapshots/$S1")" = "$U1" ] || fail "the snapshot waiting for deletion was extended"
else
	info "(the push ended after the lock's date: a loaded machine; the count above proves it)"
fi
UC=$(until_of config)
[ "$UC" -gt $((U1 + 1)) ] || fail "the config was not extended ($UC <= $U1)"

log "past its date, the next push deletes what waits"
wait_for $((3 * L)) "the lock of the first snapshot to end" eval '[ "$(now)" -gt "$U1" ]'
# Objects of snapshot 2, dropped by the last push, may still be locked: wait for all.
done_waiting() {
	push
	[ "$WAITING" = 0 ]
}
WAIT_POLL=2 wait_for $((3 * L)) "every refused deletion to be done" done_waiting
[ "$(remote_ids)" = "$WANT" ] || fail "the bucket holds $(remote_ids), not $WANT"
expect_exit 0 cf --repo "$S3" check --read-data
info "$(cat "$OUT")"
expect_exit 0 tool stat config
pass
