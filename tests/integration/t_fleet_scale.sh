#!/usr/bin/env bash
# t_fleet_scale.sh: the fleet view at 1,000 shops (FLEET_SHOPS to change) on s3rver.
# fed_tool makes the federation, the registry and every shop's signed status object (all
# healthy) and puts them; then a cold `coffre fleet` (no cache: every object fetched) and a
# warm one (nothing changed: one listing, nothing fetched). Both must say every shop is
# protected; the warm run must fetch nothing and cost no more requests than the listing's
# pages. The time, requests and bytes received of each go to the log and to
# $LOGDIR/figures.txt.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
SERVERS=$COFFRE_TESTS/servers
TOOLS=${COFFRE_TOOLS:-$COFFRE_TESTS/../build/tests}
FED_TOOL=$TOOLS/fed_tool
N=${FLEET_SHOPS:-1000}
[ -x "$FED_TOOL" ] || skip "no fed_tool in $TOOLS"
[ -x "$SERVERS/node_modules/.bin/s3rver" ] && command -v node >/dev/null ||
	skip "s3rver is not installed (npm install --prefix tests/servers)"
cleanup_hook() { "$SERVERS/s3rver.sh" stop "$TESTDIR/s3" 2>/dev/null || true; }
port=$("$SERVERS/s3rver.sh" start "$TESTDIR/s3" coffre) || fail "s3rver did not start"
KEYS=$TESTDIR/s3keys
printf 'S3RVER\nS3RVER\n' >"$KEYS"
chmod 600 "$KEYS"
BUCKET=s3://127.0.0.1:$port/coffre/fed
FEDE=$TESTDIR/fede
mkdir -p "$FEDE"

log "$N shops' status objects made, signed and put"
expect_exit 0 "$FED_TOOL" sim "$N" "$FEDE" "$BUCKET" "$KEYS"
info "put in $(cat "$OUT") s"

figures() {	# LABEL: the run's figures from $OUT (--json)
	python3 - "$OUT" "$1" <<'PY' | tee -a "$LOGDIR/figures.txt"
import json, sys
d = json.load(open(sys.argv[1]))
t = d["traffic"]
print("%s: %d shops, %d protected, %.2f s, %d requests, %d bytes received, %d listed, %d fetched"
      % (sys.argv[2], d["shops"], d["protected"], t["seconds"], t["requests"], t["bytes_in"],
         t["listed"], t["fetched"]))
PY
}
fleet() { expect_exit 0 cf fleet --dir "$FEDE" --bucket "$BUCKET" --keys-file "$KEYS" --json; }

log "a cold run: every object fetched"
start=$(date +%s.%N)
fleet
info "wall $(python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)") s"
figures cold
[ "$(json_get "$OUT" protected)" = "$N" ] || fail "not every shop is protected"
[ "$(json_get "$OUT" traffic.fetched)" = "$N" ] || fail "the cold run did not fetch every object"

log "a warm run: nothing changed, nothing fetched"
fleet
figures warm
[ "$(json_get "$OUT" protected)" = "$N" ] || fail "not every shop is protected (warm)"
[ "$(json_get "$OUT" traffic.fetched)" = 0 ] || fail "the warm run fetched objects"
pages=$(( (N + 999) / 1000 ))
[ "$(json_get "$OUT" traffic.requests)" -le "$pages" ] ||
	fail "the warm run made more requests than the listing's $pages pages"
pass
