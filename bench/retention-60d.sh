#!/usr/bin/env bash
# bench/retention-60d.sh: 60 simulated days of one daily backup of a shop made by
# ../shared/bench/make-shop-data (and its daily --mutate changes), with the spool's own
# retention (forget --keep-daily 7 --keep-weekly 4 --keep-monthly 0 --keep-within 0 --prune)
# and a push to a folder that stands for the USB drive, with its own policy (keep-daily 14,
# keep-weekly 8). Prints, at days 14, 30 and 60 (and at the end as one table): the bytes of
# the spool and of the destination, and the space in the destination's packs that none of
# its snapshots reaches (tests/tools/pack_usage: partly used packs, wholly unused ones).
# Not run by ctest. Days are simulated with faketime, at dates in the past of the real clock.
#
#   bench/retention-60d.sh [--scale small|medium|large] [--days N] [--work DIR]
#                          [--coffre PATH] [--pack-usage PATH] [--make-shop-data PATH]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
scale=medium days=60 work=${TMPDIR:-/tmp}/coffre-retention-60d
coffre=$top/build/cli/coffre
pack_usage=$top/build/tests/pack_usage
shop=$top/../shared/bench/make-shop-data
while [ $# -gt 0 ]; do
	case $1 in
	--scale) scale=$2; shift 2 ;;
	--days) days=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--coffre) coffre=$2; shift 2 ;;
	--pack-usage) pack_usage=$2; shift 2 ;;
	--make-shop-data) shop=$2; shift 2 ;;
	*) echo "usage: $0 [--scale S] [--days N] [--work DIR] [--coffre PATH] [--pack-usage PATH] [--make-shop-data PATH]" >&2; exit 2 ;;
	esac
done
for f in "$coffre" "$pack_usage" "$shop"; do
	[ -x "$f" ] || { echo "retention-60d: $f is not an executable (build first, or give its path)" >&2; exit 1; }
done
command -v faketime >/dev/null || { echo "retention-60d: faketime is not installed" >&2; exit 1; }
export TZ=UTC
[ ! -e "$work" ] || { echo "retention-60d: $work exists: remove it or give --work" >&2; exit 1; }
mkdir -p "$work"
work=$(cd "$work" && pwd)
src=$work/shop spool=$work/spool usb=$work/usb
export COFFRE_REPOSITORY=$spool XDG_CACHE_HOME=$work/cache HOME=$work
export COFFRE_PASSWORD_FILE=$work/password
printf 'bench-password-not-secret\n' >"$COFFRE_PASSWORD_FILE"
chmod 600 "$COFFRE_PASSWORD_FILE"
cat >"$work/coffre.conf" <<EOF
[backup]
path = $src
repository = $spool
password-file = $COFFRE_PASSWORD_FILE
keep-daily = 7
keep-weekly = 4
keep-monthly = 0
keep-within = 0
[destination usb]
url = $usb
keep-daily = 14
keep-weekly = 8
EOF
d0=$(python3 -c 'import datetime as d; t=d.date.today()-d.timedelta(days=int(__import__("sys").argv[1])+40); print(t-d.timedelta(days=t.weekday()))' "$days")
at() { # DAY HH:MM CMD...
	local when
	when="$(date -u -d "$d0 +$1 days" +%F) $2:00"
	shift 2
	faketime -f "@$when" "$@" </dev/null
}
bytes() { find "$1" -type f ! -path '*/locks/*' -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
rows=()
report() { # DAY (1-based)
	local u s d pu
	s=$(bytes "$spool") d=$(bytes "$usb")
	u=$("$pack_usage" "$usb" "$COFFRE_PASSWORD_FILE")
	pu=$("$pack_usage" "$spool" "$COFFRE_PASSWORD_FILE")
	local row
	row=$(python3 - "$1" "$s" "$d" "$u" "$pu" "$(bytes "$src")" <<'PY'
import json, sys
day, s, d, u, pu, src = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4]), json.loads(sys.argv[5]), int(sys.argv[6])
M = 1048576
print("| %s | %.0f | %d | %.1f | %d | %.1f | %.1f (%d packs) | %.1f (%d packs) | %.1f | %.1f |" % (
    day, src / M, pu["snapshots"], s / M, u["snapshots"], d / M,
    u["unused_in_partly_used_packs"] / M, u["partly_used_packs"],
    u["unused_in_unused_packs"] / M, u["unused_packs"], u["live_bytes"] / M,
    (pu["unused_in_partly_used_packs"] + pu["unused_in_unused_packs"]) / M))
PY
)
	rows+=("$row")
	echo "$row"
}
header='| day | source MiB | spool snapshots | spool MiB | usb snapshots | usb MiB | usb: unreached in partly used packs MiB | usb: in wholly unused packs MiB | usb: reached MiB | spool: unreached MiB |'
echo "retention-60d: $scale shop, $days days from $d0, work $work, coffre $coffre"
t0=$SECONDS
nice -n 19 "$shop" "$src" --scale "$scale" >"$work/make-shop.log"
"$coffre" init -q >/dev/null
echo "$header"
for ((day = 1; day <= days; day++)); do
	[ "$day" = 1 ] || nice -n 19 "$shop" --mutate "$src" --day "$((day - 1))" >>"$work/make-shop.log"
	at "$day" 20:00 "$coffre" backup "$src" -q
	at "$day" 20:10 "$coffre" forget --keep-daily 7 --keep-weekly 4 --keep-monthly 0 \
		--keep-within 0 --prune -q
	at "$day" 20:20 "$coffre" push --config "$work/coffre.conf" -q
	case $day in
	14 | 30 | "$days") report "$day" ;;
	esac
done
echo
echo "retention-60d: done in $((SECONDS - t0)) s"
echo "$header"
echo '|---|---|---|---|---|---|---|---|---|---|'
printf '%s\n' "${rows[@]}"
