#!/usr/bin/env bash
# t_download_limit.sh: download-limit caps what is read from S3 in all, not per connection.
# A full drill (whole packs fetched by prefetch threads beside the reader, each with its
# own connection) of about 12 MiB of incompressible data through download-limit = 2MiB/s
# must take at least 80% of fetched / limit: a lower bound, which a busy machine only makes
# easier to meet. Before the threads shared the cap, each connection had it whole and the
# drill went up to three times as fast. Nor may it take over 1.4 times that plus 1 s: when the
# cap was split by the number of connections, a connection fetching alone had half of it, and
# the drill took 1.8 times fetched / limit.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/drill.sh"
drill_setup
drill_s3
LIMIT=$((2 * 1024 * 1024))
drill_conf "$CONF" "$STATE" "[destination cloud]" "url = s3://127.0.0.1:$port/coffre/shop" \
	"s3-keys-file = $TESTDIR/s3keys" "download-limit = 2MiB/s"
mkdir -p "$SRC"
for i in 1 2 3 4 5 6; do head -c 2000000 /dev/urandom >"$SRC/scan-$i.pdf"; done
expect_exit 0 cf init -q
expect_exit 0 cf backup "$SRC" -q
expect_exit 0 cf push --config "$CONF"

log "a full drill through download-limit = 2MiB/s"
expect_exit 0 cf --json drill --config "$CONF" --full
read -r FETCHED SECS < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]; assert r["ok"]; print(r["bytes_fetched"], r["seconds"])' "$OUT")
MIN=$(python3 -c 'import sys; print("%.1f" % (0.8 * int(sys.argv[1]) / int(sys.argv[2])))' "$FETCHED" "$LIMIT")
info "fetched $FETCHED bytes in $SECS s (at least $MIN s at the limit)"
[ "$FETCHED" -ge 11000000 ] || fail "the drill fetched only $FETCHED bytes"
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$SECS" "$MIN" ||
	fail "$FETCHED bytes in $SECS s: faster than download-limit allows ($MIN s at least)"
MAX=$(python3 -c 'import sys; print("%.1f" % (1.4 * int(sys.argv[1]) / int(sys.argv[2]) + 1))' "$FETCHED" "$LIMIT")
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "$SECS" "$MAX" ||
	fail "$FETCHED bytes in $SECS s: slower than download-limit allows ($MAX s at most)"
pass
