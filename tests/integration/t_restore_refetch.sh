#!/usr/bin/env bash
# t_restore_refetch.sh: a full restore from S3 fetches no pack twice. A file restored first
# and again last under another name (its chunks deduplicated into the first packs) must not
# make the reader fetch those packs again once it has moved on: a full drill (prefetch
# threads beside the reader, packs of 1 MiB) fetches at most 1.05 times what the repository
# holds. Before copies the plan still needed were kept, the last file's chunks were read
# again from S3.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/drill.sh"
drill_setup
drill_s3
drill_conf "$CONF" "$STATE" "[destination cloud]" "url = s3://127.0.0.1:$port/coffre/shop" \
	"s3-keys-file = $TESTDIR/s3keys"
expect_exit 0 cf init -q
python3 - "$COFFRE_REPOSITORY/config" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["pack_size"] = 1 << 20
json.dump(c, open(sys.argv[1], "w"))
PY
mkdir -p "$SRC"
head -c 3000000 /dev/urandom >"$SRC/a-scan.pdf"
for i in 1 2 3 4 5 6 7 8; do head -c 1500000 /dev/urandom >"$SRC/b-scan-$i.pdf"; done
cp "$SRC/a-scan.pdf" "$SRC/z-copy.pdf"
expect_exit 0 cf backup "$SRC" -q
expect_exit 0 cf push --config "$CONF"
HELD=$(find "$COFFRE_REPOSITORY" -type f -printf '%s\n' | awk '{ n += $1 } END { print n }')

log "a full drill from S3"
expect_exit 0 cf --json drill --config "$CONF" --full
FETCHED=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]; assert r["ok"]; print(r["bytes_fetched"])' "$OUT")
RATIO=$(python3 -c 'import sys; print("%.3f" % (int(sys.argv[1]) / int(sys.argv[2])))' "$FETCHED" "$HELD")
info "fetched $FETCHED bytes for a repository of $HELD: $RATIO"
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 1.05 else 1)' "$RATIO" ||
	fail "fetched $FETCHED bytes, $RATIO times what the repository holds: packs fetched again"
pass
