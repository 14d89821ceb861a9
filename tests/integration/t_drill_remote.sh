#!/usr/bin/env bash
# t_drill_remote.sh: restore drills of remote destinations after a backup and a push: S3 on
# s3rver and SFTP on a private sshd. Each passes, its JSON report has files > 0 and
# bytes_fetched > 0, the scratch folder and the lock are gone afterwards, and what was
# chosen fits the budget. Each kind skips alone (with its reason) when its server or
# privileges are missing; the test skips if neither could run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/drill.sh"
drill_setup
SERVERS=$COFFRE_TESTS/servers
export COFFRE_RETRY_BASE_MS=20
DESTS=()
NAMES=()
cleanup_hook() {
	"$SERVERS/s3rver.sh" stop "$TESTDIR/s3" 2>/dev/null || true
	"$SERVERS/sshd.sh" stop "$TESTDIR/ssh" 2>/dev/null || true
}

if [ -x "$SERVERS/node_modules/.bin/s3rver" ] && command -v node >/dev/null; then
	port=$("$SERVERS/s3rver.sh" start "$TESTDIR/s3" coffre) || fail "s3rver did not start"
	printf 'S3RVER\nS3RVER\n' >"$TESTDIR/s3keys"
	chmod 600 "$TESTDIR/s3keys"
	S3=s3://127.0.0.1:$port/coffre/shop
	DESTS+=("[destination cloud]" "url = $S3" "s3-keys-file = $TESTDIR/s3keys"
		"drill-budget = 256K")
	NAMES+=(cloud)
else
	info "S3 part skipped: s3rver is not installed (npm install --prefix tests/servers)"
fi
if [ "$(id -u)" = 0 ] && [ -x /usr/sbin/sshd ]; then
	read -r SPORT SUSER FP < <("$SERVERS/sshd.sh" start "$TESTDIR/ssh") || fail "sshd did not start"
	SFTP_DIR=$TESTDIR/sftp-repo
	DESTS+=("[destination box]" "url = sftp://$SUSER@127.0.0.1:$SPORT$SFTP_DIR"
		"sftp-key-file = $TESTDIR/ssh/client_key" "sftp-host-key = $FP"
		"drill-budget = 256K")
	NAMES+=(box)
else
	info "SFTP part skipped: needs root and openssh-server"
fi
[ ${#NAMES[@]} -gt 0 ] || skip "neither s3rver nor sshd can run here"
drill_conf "$CONF" "$STATE" "${DESTS[@]}"

log "a shop, a backup, a push to ${NAMES[*]}"
drill_shop "$SRC" 52
expect_exit 0 cf init
expect_exit 0 cf backup "$SRC" -q
expect_exit 0 cf push --config "$CONF"

log "a drill of each: it passes, within the budget, and leaves nothing behind"
rm -rf "$XDG_CACHE_HOME"
expect_exit 0 cf --json drill --config "$CONF"
cp "$OUT" "$LOGDIR/drill.json"
for n in "${NAMES[@]}"; do
	drill_passed "$OUT" "$n"
	[ "$(drill_report "$OUT" "$n" budget)" = 262144 ] || fail "$n: drill-budget is not the budget"
	[ "$(drill_report "$OUT" "$n" bytes_selected)" -le 262144 ] || fail "$n: over the budget"
done
no_scratch "$STATE/drill"
[ ! -e "$XDG_CACHE_HOME" ] || fail "the drill wrote to the user's cache"
if [ -n "${S3:-}" ]; then
	DST_TOOL=${COFFRE_TOOLS:-$COFFRE_TESTS/../build/tests}/dst_tool
	expect_exit 0 "$DST_TOOL" "$S3" --keys "$TESTDIR/s3keys" list locks/
	[ ! -s "$OUT" ] || fail "a lock is left on S3: $(cat "$OUT")"
fi
if [ -n "${SFTP_DIR:-}" ]; then
	[ -z "$(ls -A "$SFTP_DIR/locks")" ] || fail "a lock is left on SFTP: $(ls "$SFTP_DIR/locks")"
fi

log "the same with --full: a whole restore measured"
expect_exit 0 cf --json drill --config "$CONF" --full
for n in "${NAMES[@]}"; do
	drill_passed "$OUT" "$n"
	[ "$(drill_report "$OUT" "$n" files)" = "$(drill_report "$OUT" "$n" snapshot_files)" ] ||
		fail "$n: --full did not restore every file"
done
no_scratch "$STATE/drill"
pass
