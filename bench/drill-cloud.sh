#!/usr/bin/env bash
# bench/drill-cloud.sh: restore drills of a shop made by ../shared/bench/make-shop-data, pushed
# to S3 (s3rver on 127.0.0.1) and read back through a capped download (download-limit), as a
# shop's internet line would be. Prints:
#  - the weekly drill (default budget): its time, the bytes it fetched (metadata and files) and
#    the full-restore estimate it makes from the speed it measured;
#  - a measured `coffre drill --full` next to that estimate;
#  - how many successive drills (one a week) it takes to restore every file at least once.
# Not run by ctest.
#
#   bench/drill-cloud.sh [--scale small|medium|large] [--limit RATE] [--max-drills N]
#                        [--work DIR] [--coffre PATH] [--make-shop-data PATH]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
scale=medium limit=20MiB/s maxn=60 work=${TMPDIR:-/tmp}/coffre-drill-cloud
coffre=$top/build/cli/coffre
shop=$top/../shared/bench/make-shop-data
while [ $# -gt 0 ]; do
	case $1 in
	--scale) scale=$2; shift 2 ;;
	--limit) limit=$2; shift 2 ;;
	--max-drills) maxn=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--coffre) coffre=$2; shift 2 ;;
	--make-shop-data) shop=$2; shift 2 ;;
	*) echo "usage: $0 [--scale S] [--limit RATE] [--max-drills N] [--work DIR] [--coffre PATH] [--make-shop-data PATH]" >&2; exit 2 ;;
	esac
done
for f in "$coffre" "$shop"; do
	[ -x "$f" ] || { echo "drill-cloud: $f is not an executable (build first, or give its path)" >&2; exit 1; }
done
[ ! -e "$work" ] || { echo "drill-cloud: $work exists: remove it or give --work" >&2; exit 1; }
mkdir -p "$work"
work=$(cd "$work" && pwd)
servers=$top/tests/servers
export COFFRE_REPOSITORY=$work/spool XDG_CACHE_HOME=$work/cache HOME=$work
export COFFRE_PASSWORD_FILE=$work/password
trap '"$servers/s3rver.sh" stop "$work/s3" 2>/dev/null || true' EXIT
port=$("$servers/s3rver.sh" start "$work/s3" coffre)
printf 'S3RVER\nS3RVER\n' >"$work/s3keys"
echo bench-password >"$COFFRE_PASSWORD_FILE"
chmod 600 "$work/s3keys" "$COFFRE_PASSWORD_FILE"
cat >"$work/coffre.conf" <<EOF
[backup]
path = $work/shop
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
schedule = daily 03:00
[daemon]
socket = $work/coffred.sock
state-dir = $work/state
[destination cloud]
url = s3://127.0.0.1:$port/coffre/shop
s3-keys-file = $work/s3keys
download-limit = $limit
EOF
echo "== make-shop-data --scale $scale, init, backup, push to s3rver"
"$shop" "$work/shop" --scale "$scale" --seed 7 >/dev/null
"$coffre" init -q
"$coffre" backup "$work/shop" -q
"$coffre" push --config "$work/coffre.conf" -q
files=$(find "$work/shop" -type f | wc -l)
bytes=$(du -sb "$work/shop" | cut -f1)
echo "   the shop: $files files, $bytes bytes; download capped at $limit"

# report FILE: one line of a drill's JSON report.
report() {
	python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))[0]
assert r["ok"], r["failures"]
print("   %.1f s; %d files (%d bytes) restored and checked; fetched %d bytes (%d metadata); "
      "budget %d; estimate of a full restore %.0f s at %.1f MB/s" % (
      r["seconds"], r["files"], r["bytes"], r["bytes_fetched"], r["bytes_metadata"],
      r["budget"], r["estimate_full_restore_seconds"], r["throughput"] / 1e6))
PY
}

echo "== the weekly drill (default budget)"
"$coffre" --json drill --config "$work/coffre.conf" --list >"$work/drill.1.json"
report "$work/drill.1.json"
estimate=$(python3 -c 'import json,sys; print("%.1f" % json.load(open(sys.argv[1]))[0]["estimate_full_restore_seconds"])' "$work/drill.1.json")

echo "== drill --full (a complete restore, measured)"
"$coffre" --json drill --config "$work/coffre.conf" --full >"$work/drill.full.json"
report "$work/drill.full.json"
measured=$(python3 -c 'import json,sys; print("%.1f" % json.load(open(sys.argv[1]))[0]["seconds"])' "$work/drill.full.json")
echo "   full restore: estimated $estimate s by the weekly drill, measured $measured s"

echo "== weekly drills until every file is covered"
n=1
while :; do
	if python3 - "$work" "$n" "$work/shop" <<'PY'
import json, os, sys
work, n, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def shown(p):	# as the report names files: bad UTF-8 bytes as '?'
    b = os.fsencode(p)
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(chr(c) if c < 0x80 else "?" for c in b)
files = set()
for dp, dns, fns in os.walk(src):
    for f in fns:
        p = os.path.join(dp, f)
        if os.path.isfile(p) and not os.path.islink(p):
            files.add(shown(p))
seen = set()
for k in range(1, n + 1):
    seen |= set(json.load(open(os.path.join(work, "drill.%d.json" % k)))[0]["drilled"])
left = files - seen
print("   after %d drills: %d of %d files covered" % (n, len(files) - len(left), len(files)))
sys.exit(1 if left else 0)
PY
	then
		echo "   every file covered in $n weekly drills"
		break
	fi
	[ "$n" -lt "$maxn" ] || { echo "   not covered within $maxn drills"; break; }
	n=$((n + 1))
	"$coffre" --json drill --config "$work/coffre.conf" --list >"$work/drill.$n.json"
done
