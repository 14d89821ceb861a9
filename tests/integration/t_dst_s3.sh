#!/usr/bin/env bash
# t_dst_s3: the S3 destination through tests/tools/dst_tool, against two servers started here:
#   s3rver (npm, fast, accepts any signature): put/get/range/stat/list with paging/del, a 20 MB
#     multipart round trip, an interrupted multipart upload that resumes without re-sending the
#     stored parts, awscli reading what dst_tool wrote, unreachable server (13), the bandwidth
#     cap (500 KiB/s over 10 MB within 15%).
#   Swift + s3api (checks SigV4): signing, a wrong secret (12, one line), keys file readable by
#     others (12), multipart with its 5 MiB minimum, resume (after a test hook, and after the
#     proxy is killed mid-upload and restarted), the Object Lock probe says NOT
#     supported and leaves existing objects alone.
# A part whose server is not installed is skipped; the test then ends with 77 naming it.
# Knob: COFFRE_DST_SKIP_BWCAP=1 skips the 20 s bandwidth measurement.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup
DST_TOOL=${COFFRE_TOOLS:-$COFFRE_TESTS/../build/tests}/dst_tool
[ -x "$DST_TOOL" ] || skip "dst_tool not built ($DST_TOOL)"
SERVERS=$COFFRE_TESTS/servers
command -v curl >/dev/null || skip "curl is needed"
export COFFRE_RETRY_BASE_MS=20
SKIPPED=()

# dst_error_line FILE: exactly one stderr line, "dst_tool: ..."
dst_error_line() {
	local n
	n=$(grep -c '' "$1" || true)
	[ "$n" = 1 ] || { cat "$1" >&2; fail "expected exactly one stderr line, got $n"; }
	grep -q '^dst_tool: ' "$1" || { cat "$1" >&2; fail "stderr line does not start with 'dst_tool: '"; }
}

S3RVER_DIR=$TESTDIR/s3rver
SWIFT_DIR=
cleanup_hook() {
	"$SERVERS/s3rver.sh" stop "$S3RVER_DIR" 2>/dev/null || true
	[ -z "$SWIFT_DIR" ] || "$SERVERS/swift-s3" stop "$SWIFT_DIR" >/dev/null 2>&1 || true
}

python3 - "$TESTDIR" <<'PY'
import os, sys
d = sys.argv[1]
rnd = lambda n, seed: __import__("random").Random(seed).randbytes(n)
open(os.path.join(d, "small"), "wb").write(b"hello, coffre\n" * 100)
open(os.path.join(d, "big"), "wb").write(rnd(20_000_000, 1))
open(os.path.join(d, "ten"), "wb").write(rnd(10_000_000, 2))
PY

# The checks every server gets: URL KEYSFILE resume|restart (does the server have ListParts)
data_path_checks() {
	local url=$1 keys=$2 T=("$DST_TOOL" "$1" --keys "$2")
	log "$url: put, get, range, stat, list, del"
	expect_exit 0 "${T[@]}" put config "$TESTDIR/small"
	expect_exit 0 "${T[@]}" get config "$TESTDIR/got"
	cmp -s "$TESTDIR/small" "$TESTDIR/got" || fail "get returned different bytes"
	expect_exit 0 "${T[@]}" range config 7 6 "$TESTDIR/r"
	[ "$(cat "$TESTDIR/r")" = coffre ] || fail "range returned '$(cat "$TESTDIR/r")'"
	expect_exit 4 "${T[@]}" range config 1390 20 "$TESTDIR/r"	# past the end: corrupt
	expect_exit 0 "${T[@]}" stat config
	[ "$(cat "$OUT")" = 1400 ] || fail "stat says $(cat "$OUT")"
	expect_exit 15 "${T[@]}" stat nothing-here
	expect_exit 15 "${T[@]}" get nothing-here "$TESTDIR/got"
	dst_error_line "$ERR"
	log "$url: 25 objects listed through pages of 7 (COFFRE_S3_MAX_KEYS=7)"
	local i
	for i in $(seq -w 1 25); do
		expect_exit 0 "${T[@]}" putbuf "data/a$((10#$i % 3))/obj$i" "$TESTDIR/small"
	done
	COFFRE_S3_MAX_KEYS=7 expect_exit 0 "${T[@]}" list data/
	[ "$(grep -c '' "$OUT")" = 25 ] || { cat "$OUT"; fail "listed $(grep -c '' "$OUT") of 25"; }
	grep -q '^data/a1/obj01 1400$' "$OUT" || fail "listing lacks data/a1/obj01 1400"
	COFFRE_S3_MAX_KEYS=7 expect_exit 0 "${T[@]}" list data/a2/
	[ "$(grep -c '' "$OUT")" = 8 ] || fail "prefix data/a2/ listed $(grep -c '' "$OUT") (want 8)"
	expect_exit 0 "${T[@]}" del data/a1/obj01
	expect_exit 15 "${T[@]}" del data/a1/obj01
	expect_exit 15 "${T[@]}" stat data/a1/obj01

	log "$url: 20 MB multipart round trip"
	local t0=$SECONDS
	expect_exit 0 "${T[@]}" put data/bb/big "$TESTDIR/big"
	expect_exit 0 "${T[@]}" get data/bb/big "$TESTDIR/got"
	cmp -s "$TESTDIR/big" "$TESTDIR/got" || fail "20 MB object came back different"
	[ ! -e "$TESTDIR/big.s3up" ] || fail "resume state left behind after success"
	info "20 MB up and down in $((SECONDS - t0)) s"

	cp "$TESTDIR/big" "$TESTDIR/big2"
	rm -f "$TESTDIR/big2.s3up"
	COFFRE_S3_STOP_AFTER_PARTS=2 expect_exit 13 "${T[@]}" put data/bb/big2 "$TESTDIR/big2"
	[ -s "$TESTDIR/big2.s3up" ] || fail "no resume state after the interruption"
	expect_exit 15 "${T[@]}" stat data/bb/big2	# not visible half-done
	if [ "$3" = resume ]; then
		log "$url: interrupted multipart upload resumes without re-sending stored parts"
		# Only one part may be sent now: parts 1 and 2 must come from the server's ListParts.
		COFFRE_S3_STOP_AFTER_PARTS=1 expect_exit 0 "${T[@]}" put data/bb/big2 "$TESTDIR/big2"
	else
		log "$url: interrupted multipart upload completes on the next try (no ListParts here)"
		expect_exit 0 "${T[@]}" put data/bb/big2 "$TESTDIR/big2"
	fi
	expect_exit 0 "${T[@]}" get data/bb/big2 "$TESTDIR/got"
	cmp -s "$TESTDIR/big" "$TESTDIR/got" || fail "resumed object came back different"
}

# ---- s3rver ----
if ! command -v node >/dev/null || [ ! -x "$SERVERS/node_modules/.bin/s3rver" ]; then
	SKIPPED+=("s3rver (node or tests/servers/node_modules missing: run scripts/install-deps.sh)")
else
	log "starting s3rver"
	PORT=$("$SERVERS/s3rver.sh" start "$S3RVER_DIR" coffre-test) || fail "s3rver did not start"
	printf 'S3RVER\nS3RVER\n' >"$TESTDIR/keys-s3rver"
	chmod 600 "$TESTDIR/keys-s3rver"
	URL=s3://127.0.0.1:$PORT/coffre-test/shop1
	data_path_checks "$URL" "$TESTDIR/keys-s3rver" restart

	if command -v aws >/dev/null; then
		log "awscli lists and downloads what dst_tool uploaded"
		export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
		expect_exit 0 aws --endpoint-url "http://127.0.0.1:$PORT" s3 ls --recursive s3://coffre-test/shop1/
		grep -q ' 20000000 shop1/data/bb/big$' "$OUT" || { cat "$OUT"; fail "aws s3 ls lacks shop1/data/bb/big"; }
		grep -q ' 1400 shop1/config$' "$OUT" || fail "aws s3 ls lacks shop1/config"
		expect_exit 0 aws --endpoint-url "http://127.0.0.1:$PORT" s3 cp s3://coffre-test/shop1/data/bb/big "$TESTDIR/aws-big"
		cmp -s "$TESTDIR/big" "$TESTDIR/aws-big" || fail "aws downloaded different bytes"
		unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
	else
		SKIPPED+=("awscli check (aws not installed)")
	fi

	log "unreachable server: exit 13 after retries, one line"
	DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	expect_exit 13 "$DST_TOOL" "s3://127.0.0.1:$DEAD/coffre-test" --keys "$TESTDIR/keys-s3rver" --retries 3 stat config
	dst_error_line "$ERR"
	info "$(cat "$ERR")"

	if [ "${COFFRE_DST_SKIP_BWCAP:-0}" = 1 ]; then
		SKIPPED+=("bandwidth cap (COFFRE_DST_SKIP_BWCAP=1)")
	else
		log "bandwidth cap: 10 MB at 500 KiB/s"
		t0=$(date +%s.%N)
		expect_exit 0 "$DST_TOOL" "$URL" --keys "$TESTDIR/keys-s3rver" --limit 512000 put data/cc/ten "$TESTDIR/ten"
		t1=$(date +%s.%N)
		python3 - "$t0" "$t1" <<'PY' || fail "bandwidth cap not within 15%"
import sys
t = float(sys.argv[2]) - float(sys.argv[1])
want = 10_000_000 / 512000
rate = 10_000_000 / t / 1024
print(f"   {t:.2f} s for 10 MB = {rate:.0f} KiB/s (want 500 KiB/s, {want:.2f} s)")
sys.exit(0 if abs(t - want) / want <= 0.15 else 1)
PY
	fi
	"$SERVERS/s3rver.sh" stop "$S3RVER_DIR"
fi

# ---- Swift s3api ----
if ! command -v swift-proxy-server >/dev/null || [ "$(id -u)" != 0 ]; then
	SKIPPED+=("Swift s3api (needs root and Debian's swift packages: run scripts/install-deps.sh)")
else
	log "starting Swift with s3api"
	t0=$SECONDS
	"$SERVERS/swift-s3" start "$TESTDIR/swift" >"$LOGDIR/swift-start.out" 2>&1 ||
		{ cat "$LOGDIR/swift-start.out"; fail "swift-s3 did not start"; }
	SWIFT_DIR=$TESTDIR/swift
	info "up in $((SECONDS - t0)) s"
	EP=$(sed -n 's|^S3_ENDPOINT=http://||p' "$SWIFT_DIR/env")
	curl -sf -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		-X PUT "http://test%3Atester:testing@$EP/coffre-test" || fail "cannot create the bucket"
	printf 'test:tester\ntesting\n' >"$TESTDIR/keys-swift"
	printf 'test:tester\nnot-the-secret\n' >"$TESTDIR/keys-wrong"
	chmod 600 "$TESTDIR/keys-swift" "$TESTDIR/keys-wrong"
	URL=s3://$EP/coffre-test/shop1
	data_path_checks "$URL" "$TESTDIR/keys-swift" resume

	log "Swift: proxy killed in the middle of a multipart upload, restarted: stored parts not re-sent"
	cp "$TESTDIR/big" "$TESTDIR/big3"
	"$DST_TOOL" "$URL" --keys "$TESTDIR/keys-swift" --limit 4000000 --retries 2 \
		put data/bb/big3 "$TESTDIR/big3" >"$LOGDIR/kill.out" 2>"$LOGDIR/kill.err" &
	upid=$!
	parts_stored() { [ "$(grep -c '' "$TESTDIR/big3.s3up" 2>/dev/null || echo 0)" -ge 5 ]; }
	WAIT_POLL=0.05 wait_until 60 parts_stored || fail "no part stored before the kill"
	PROXY=$(awk '$1 == "proxy" { print $2 }' "$SWIFT_DIR/pids")
	kill -9 "$PROXY"
	rc=0
	wait "$upid" || rc=$?
	[ "$rc" = 13 ] || { cat "$LOGDIR/kill.err"; fail "interrupted upload exited $rc (want 13)"; }
	info "interrupted: $(cat "$LOGDIR/kill.err")"
	swift-proxy-server "$SWIFT_DIR/etc/proxy-server.conf" </dev/null >>"$SWIFT_DIR/log/proxy.out" 2>&1 &
	echo "proxy $!" >>"$SWIFT_DIR/pids"
	BG_PIDS+=("$!")
	wait_for 60 "the Swift proxy answering again" curl -s -o /dev/null --max-time 1 "http://$EP/"
	# 3 parts in all, at least 1 stored: at most 2 may be sent now.
	COFFRE_S3_STOP_AFTER_PARTS=2 expect_exit 0 "$DST_TOOL" "$URL" --keys "$TESTDIR/keys-swift" put data/bb/big3 "$TESTDIR/big3"
	expect_exit 0 "$DST_TOOL" "$URL" --keys "$TESTDIR/keys-swift" get data/bb/big3 "$TESTDIR/got"
	cmp -s "$TESTDIR/big" "$TESTDIR/got" || fail "resumed object came back different"

	log "Swift: a wrong secret is refused (12, one clear line)"
	expect_exit 12 "$DST_TOOL" "$URL" --keys "$TESTDIR/keys-wrong" get config "$TESTDIR/got"
	dst_error_line "$ERR"
	grep -q 'access denied by the server (check the keys)' "$ERR" || fail "unclear: $(cat "$ERR")"
	grep -q 'not-the-secret' "$ERR" && fail "the secret appears in the message"
	info "$(cat "$ERR")"
	expect_exit 12 "$DST_TOOL" "$URL" --keys "$TESTDIR/keys-wrong" put evil "$TESTDIR/small"
	expect_exit 15 "$DST_TOOL" "$URL" --keys "$TESTDIR/keys-swift" stat evil

	log "Swift: a keys file others can read is refused"
	chmod 644 "$TESTDIR/keys-wrong"
	expect_exit 12 "$DST_TOOL" "$URL" --keys "$TESTDIR/keys-wrong" stat config
	dst_error_line "$ERR"
	grep -q 'chmod 600' "$ERR" || fail "unclear: $(cat "$ERR")"

	log "Swift: the Object Lock probe says NOT supported and overwrites nothing"
	expect_exit 0 "$DST_TOOL" "$URL" --keys "$TESTDIR/keys-swift" --lock-days 7 info
	grep -q '^object_lock 0$' "$OUT" || { cat "$OUT"; fail "lock claimed on Swift"; }
	grep -q 'object lock NOT supported by this server' "$OUT" || fail "no plain NOT supported note"
	info "$(grep lock_note "$OUT")"
	expect_exit 0 "$DST_TOOL" "$URL" --keys "$TESTDIR/keys-swift" --lock-days 7 put data/dd/locked "$TESTDIR/small"
	expect_exit 0 "$DST_TOOL" "$URL" --keys "$TESTDIR/keys-swift" get config "$TESTDIR/got"
	cmp -s "$TESTDIR/small" "$TESTDIR/got" || fail "config changed after the lock probe"
	expect_exit 0 "$DST_TOOL" "$URL" --keys "$TESTDIR/keys-swift" get data/bb/big "$TESTDIR/got"
	cmp -s "$TESTDIR/big" "$TESTDIR/got" || fail "data/bb/big changed after the lock probe"
	if grep -q -E 'retention|legal-hold' "$SWIFT_DIR/log/swift.log"; then
		fail "a retention or legal-hold request reached the server"
	fi
	"$SERVERS/swift-s3" stop "$SWIFT_DIR" >/dev/null 2>&1 || true
	SWIFT_DIR=
fi

if [ "${#SKIPPED[@]}" -gt 0 ]; then
	skip "passed what ran; not run: ${SKIPPED[*]}"
fi
pass
