#!/usr/bin/env bash
# t_lock_extend: Object Lock that never lapses, against a server that enforces it (Ceph
# radosgw, one node, tests/servers/radosgw.sh), with the lock period counted in seconds
# (COFFRE_TEST_LOCK_SECONDS, a test setting):
#  - a push asks only for what is near expiry: right after the first push, a second one
#    sends no extension request;
#  - over several cycles (a backup and a push each), each push extends what came within half
#    the period of its date, and only that; the config, written by the first push, is still
#    locked past its original retain-until date: the server refuses to delete it;
#  - an object left out of the needed list is not extended: it expires and can be deleted,
#    while the others stay locked;
#  - coffre destinations says the mode and the earliest retain-until date.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup
rgw_need
export COFFRE_RETRY_BASE_MS=20
L=60	# the lock period, in seconds: a first push with its read-back takes 5-15 s here
export COFFRE_TEST_LOCK_SECONDS=$L COFFRE_S3_LOCK_DAYS=1
DST_TOOL=$COFFRE_TOOLS/dst_tool


rgw_start
s3api() { aws --endpoint-url "http://127.0.0.1:$PORT" s3api "$@"; }
BUCKET=coffre-lockext
expect_exit 0 s3api create-bucket --bucket "$BUCKET" --object-lock-enabled-for-bucket
S3=s3://127.0.0.1:$PORT/$BUCKET/shop
tool() { "$DST_TOOL" "$S3" --keys "$RGW/keys" --lock-days 1 "$@"; }
# until_of NAME: its retain-until date (seconds since the epoch), as the server says.
until_of() {
	expect_exit 0 tool lock "$1"
	read -r u m <"$OUT"
	[ "$m" = 2 ] || fail "$1 is not under COMPLIANCE (mode $m)"
	echo "$u"
}
now() { date +%s; }
# push: one push; EXT, READ, CHECKED, EARLIEST are what its lock step did.
push() {
	expect_exit 0 cf --json push --to "$S3"
	EXT=$(json_get "$OUT" 0.lock.extended)
	READ=$(json_get "$OUT" 0.lock.read)
	CHECKED=$(json_get "$OUT" 0.lock.checked)
	EARLIEST=$(json_get "$OUT" 0.lock.earliest_until)
	[ "$(json_get "$OUT" 0.lock.failed)" = 0 ] || { cat "$OUT"; fail "extensions failed"; }
	[ "$(json_get "$OUT" 0.lock.mode)" = COMPLIANCE ] || fail "the default mode is not COMPLIANCE"
	info "push: $CHECKED objects checked, $READ read, $EXT extension requests"
}
count_objects() {
	expect_exit 0 tool list ""
	grep -cE '^(config|keys/|data/|index/|snapshots/)' "$OUT" || true
}

log "first push: every object read once, none extended"
expect_exit 0 cf init -q
mkdir -p "$TESTDIR/src"
head -c 200000 /dev/urandom >"$TESTDIR/src/day1.bin"
expect_exit 0 cf backup -q "$TESTDIR/src"
push
[ "$EXT" = 0 ] || fail "the first push extended $EXT objects"
[ "$READ" = "$CHECKED" ] || fail "the first push read $READ of $CHECKED dates"
U0=$(until_of config)
expect_exit 0 tool list data/
PACK=$(grep -m1 '^data/' "$OUT" | awk '{print $1}')
[ -n "$PACK" ] || fail "no data pack on the destination"
info "config retained until $(date -u -d "@$U0" +%T) (now $(date -u +%T)); first pack $PACK"

log "second push right after: nothing read, no extension request"
push
[ "$EXT" = 0 ] || fail "the second push sent $EXT extension requests"
[ "$READ" = 0 ] || fail "the second push read $READ dates (the cache has them)"
PER_PUSH="1st: 0 ext ($CHECKED read), 2nd: $EXT ext ($READ read)"

log "three cycles: wait until the earliest date is within $((L / 2)) s, back up, push"
for cycle in 1 2 3; do
	wait_for $((2 * L)) "objects near expiry" \
		eval '[ "$(now)" -ge $((EARLIEST - L / 2)) ]'
	head -c 100000 /dev/urandom >"$TESTDIR/src/cycle$cycle.bin"
	expect_exit 0 cf backup -q "$TESTDIR/src"
	before=$(count_objects)
	T0=$(now)
	push
	[ "$EXT" -ge 1 ] || fail "cycle $cycle: nothing extended"
	# The objects this push uploaded are fresh: only older ones may be extended.
	[ "$EXT" -le "$before" ] || fail "cycle $cycle: $EXT extensions for $before older objects"
	# Its lock step ran after T0: what it did not extend was then due after half the period.
	[ "$EARLIEST" -gt $((T0 + L / 2)) ] ||
		fail "cycle $cycle: an object is still retained only until $EARLIEST"
	PER_PUSH="$PER_PUSH, cycle $cycle: $EXT ext ($READ read) of $CHECKED"
done
info "extension requests per push: $PER_PUSH"

log "the config is locked past its original retain-until date"
wait_for $((2 * L)) "the original date to pass" eval '[ "$(now)" -gt $((U0 + 1)) ]'
U=$(until_of config)
[ "$U" -gt "$(now)" ] || fail "the config's retention lapsed ($U)"
info "config: first retained until $(date -u -d "@$U0" +%T), now until $(date -u -d "@$U" +%T)"
expect_exit 1 tool del config
grep -q 'protected by Object Lock' "$ERR" || { cat "$ERR"; fail "delete not refused by the lock"; }
expect_exit 0 s3api head-object --bucket "$BUCKET" --key shop/config
V=$(json_get "$OUT" VersionId)
expect_exit 255 s3api delete-object --bucket "$BUCKET" --key shop/config --version-id="$V"
grep -q AccessDenied "$ERR" || { cat "$ERR"; fail "the server refused for another reason"; }

log "destinations: the mode and the earliest retain-until date"
expect_exit 0 cf destinations --to "$S3"
grep -q 'COMPLIANCE, every object retained until' "$OUT" || { cat "$OUT"; fail "no lock report"; }
info "$(cat "$OUT")"

log "an object no longer needed is left to expire, then deleted"
expect_exit 0 tool list ""
grep -E '^(config|keys/|data/|index/|snapshots/)' "$OUT" | awk '{print $1}' |
	grep -vxF "$PACK" >"$TESTDIR/needed"
UP=$(until_of "$PACK")
# needed_run: the needed list without the pack, as a later prune-aware caller would pass it.
needed_run() {
	expect_exit 0 tool needed "$COFFRE_REPOSITORY" "$COFFRE_PASSWORD_FILE" $(cat "$TESTDIR/needed")
	read -r _ checked _ read _ ext _ missing _ failed _ earliest <"$OUT"
	[ "$failed" = 0 ] || fail "extensions failed: $(cat "$OUT" "$ERR")"
	[ "$checked" = "$(wc -l <"$TESTDIR/needed")" ] || fail "checked $checked"
}
expired() { needed_run; [ "$(now)" -gt "$UP" ]; }
WAIT_POLL=1 wait_for $((2 * L)) "the pack's retention to end" expired
[ "$(until_of "$PACK")" = "$UP" ] || fail "the pack left out was extended"
expect_exit 0 tool del "$PACK"
expect_exit 15 tool stat "$PACK"
info "$PACK deleted after its date ($(date -u -d "@$UP" +%T))"
needed_run
[ "$earliest" -gt "$(now)" ] || fail "a needed object lapsed"
expect_exit 1 tool del config
grep -q 'protected by Object Lock' "$ERR" || { cat "$ERR"; fail "config no longer locked"; }
pass
