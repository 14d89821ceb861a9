#!/usr/bin/env bash
# bench/detect-cost.sh: what the ransomware watch costs coffred. The same shop (a copy of a
# make-shop-data tree) is watched twice, with `[detect] enabled = yes` and `= no`; each time:
#   - after the start-up backup, coffred idles DAYS x 10 s: its wake-ups (voluntary context
#     switches) and resident size;
#   - DAYS business days of changes (make-shop-data --mutate, the same in both runs), each
#     backed up before the next: the daemon's own CPU time (the watch, the checks of files as
#     they close, the decision) and its runs' (the backups, which compare each changed file
#     with its previous version), and the daemon's peak resident size.
# Prints a Markdown table: the figures with the watch on and off, and their difference.
#
#   bench/detect-cost.sh [--scale small|medium] [--days N] [--data DIR] [--work DIR]
#
# --data is a pristine tree of that scale to copy (default: generate one). Needs the build
# (build/cli/coffre, build/agent/daemon/coffred) and ../shared/bench/make-shop-data.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
scale=medium days=3 data="" work=${TMPDIR:-/tmp}/coffre-detect-cost
while [ $# -gt 0 ]; do
	case $1 in
	--scale) scale=$2; shift 2 ;;
	--days) days=$2; shift 2 ;;
	--data) data=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	*) echo "usage: $0 [--scale small|medium] [--days N] [--data DIR] [--work DIR]" >&2; exit 2 ;;
	esac
done
coffre=$top/build/cli/coffre coffred=$top/build/agent/daemon/coffred
gen=$top/../shared/bench/make-shop-data
for f in "$coffre" "$coffred" "$gen"; do
	[ -x "$f" ] || { echo "detect-cost: no $f (build first)" >&2; exit 1; }
done
[ ! -e "$work" ] || { echo "detect-cost: $work exists: remove it or give --work" >&2; exit 1; }
mkdir -p "$work"
DPID=
trap '[ -z "$DPID" ] || kill "$DPID" 2>/dev/null || true' EXIT
if [ -z "$data" ]; then
	data=$work/pristine
	python3 "$gen" --scale "$scale" --seed 3 "$data" >"$work/gen.log"
fi
tck=$(getconf CLK_TCK)

# field PID KEY: a line of /proc/PID/status.
field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# cpu PID: its own CPU seconds, and its reaped children's (utime+stime, cutime+cstime).
cpu() { awk -v t="$tck" '{ sub(/^.*\) /, ""); printf "%.2f %.2f\n", ($12 + $13) / t, ($14 + $15) / t }' "/proc/$1/stat"; }
# settled SOCK RUN: coffred idle, nothing pending, a run after RUN ended ok.
settled() {
	"$coffre" status --json --socket "$1" >"$work/st.json" 2>/dev/null || return 1
	python3 - "$work/st.json" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
lb = s.get("last_backup") or {}
ok = (s.get("state") == "idle" and (s.get("pending") or {}).get("dirty_folders") == 0
      and lb.get("result") == "ok" and (lb.get("run") or 0) > int(sys.argv[2]))
sys.exit(0 if ok else 1)
PY
}
run_no() { python3 -c 'import json,sys; print((json.load(open(sys.argv[1])).get("last_backup") or {}).get("run") or 0)' "$work/st.json"; }
wait_settled() {
	local i
	for i in $(seq 1200); do
		settled "$1" "$2" && return 0
		sleep 0.5
	done
	echo "detect-cost: coffred did not settle" >&2
	exit 1
}

measure() {	# measure on|off
	local mode=$1 d=$work/$1
	mkdir -p "$d/state" "$d/run"
	# The watched folder holds the shop: control files go in it and in shop/, not in the
	# shop's own folders (make-shop-data --mutate takes every entry of paie/ for a year).
	mkdir -p "$d/top"
	cp -a "$data" "$d/top/shop"
	echo pw >"$d/pw"
	chmod 600 "$d/pw"
	COFFRE_REPOSITORY=$d/repo COFFRE_PASSWORD_FILE=$d/pw XDG_CACHE_HOME=$d/cache \
		"$coffre" init -q >/dev/null
	cat >"$d/coffre.conf" <<EOF
[backup]
path = $d/top
repository = $d/repo
password-file = $d/pw
schedule = after-change 2s
[daemon]
socket = $d/run/coffred.sock
state-dir = $d/state
[detect]
enabled = $([ "$mode" = on ] && echo yes || echo no)
EOF
	XDG_CACHE_HOME=$d/cache "$coffred" --config "$d/coffre.conf" 2>"$d/coffred.log" &
	DPID=$!
	wait_settled "$d/run/coffred.sock" 0
	local run v0 v1 idle_wake=0 rss_idle
	read -r c0 k0 < <(cpu "$DPID")
	for day in $(seq "$days"); do
		run=$(run_no)
		v0=$(field "$DPID" voluntary_ctxt_switches)
		sleep 10	# not a wait: the idle time observed
		v1=$(field "$DPID" voluntary_ctxt_switches)
		idle_wake=$((idle_wake + v1 - v0))
		python3 "$gen" --mutate --day "$day" --seed 3 "$d/top/shop" >>"$work/gen.log"
		wait_settled "$d/run/coffred.sock" "$run"
	done
	read -r c1 k1 < <(cpu "$DPID")
	rss_idle=$(field "$DPID" VmRSS)
	echo "$mode $(python3 -c "print(round($c1 - $c0, 2), round($k1 - $k0, 2))") $(field "$DPID" VmHWM) $rss_idle $idle_wake $(run_no)" >>"$work/results"
	kill -TERM "$DPID"
	wait "$DPID" || true
	DPID=
}

measure on
measure off
python3 - "$work/results" "$scale" "$days" <<'PY'
import sys
rows = {l.split()[0]: l.split()[1:] for l in open(sys.argv[1])}
on, off = rows["on"], rows["off"]
names = ["coffred's own CPU over the days (s)", "its runs' CPU (backups, s)",
         "coffred's peak RSS (KiB)", "coffred's RSS idle after (KiB)",
         "wake-ups while idle (%s × 10 s)" % sys.argv[3], "runs"]
print("Shop: make-shop-data --scale %s; %s business days of changes (--mutate)\n" % (sys.argv[2], sys.argv[3]))
print("| figure | watch on | watch off | difference |")
print("|---|---|---|---|")
for i, n in enumerate(names):
    a, b = float(on[i]), float(off[i])
    print("| %s | %s | %s | %+g |" % (n, on[i], off[i], round(a - b, 2)))
PY
