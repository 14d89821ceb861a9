#!/usr/bin/env bash
# t_dst_retention: 60 simulated days (faketime, dates in the past of the real clock, since
# destinations record the real time) of one daily backup of a small shop tree that changes
# every day. Each day: backup, the spool's own retention (forget with the [backup] policy,
# --prune), then `coffre push --config` to three destinations, each with its own policy
# (S3 on the real clock: see the loop):
#   spool  [backup]  keep-daily 7,  keep-weekly 4, keep-monthly 0, keep-within 0
#   fat    usb:      keep-daily 14, keep-weekly 8 (the rest inherited)
#   s3     s3rver    inherits [backup]
#   sftp   sshd      keep-daily 3,  keep-weekly 0
# Checked: every day, each destination's snapshots (and the spool's) are exactly what its
# policy keeps, computed here from the simulated dates (newest per day of the last N days,
# newest per ISO week of the last W weeks); check --read-data clean on each at days 14, 30
# and 59; at the end, the oldest snapshot of each destination restores bit-exact against the
# tree backed up that day (on a fresh cache); sizes stay flat (what each place stores beyond
# what its snapshots reach, day 30 to day 59; S3 against the spool). Also: day 17's
# snapshot pinned until day 45 stays everywhere meanwhile; a snapshot dated in the future
# stays everywhere, flagged, in no rule's slot; a push to S3 from a clock a day off fails
# saying so.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
export TZ=UTC	# days and ISO weeks, here and in coffre, are UTC ones
SERVERS=$COFFRE_TESTS/servers
DAYS=${COFFRE_RETENTION_DAYS:-60}
command -v faketime >/dev/null || skip "faketime is not installed (simulated days)"
[ -x "$SERVERS/node_modules/.bin/s3rver" ] || skip "s3rver is not installed (npm install --prefix tests/servers)"
[ -x /usr/sbin/sshd ] || skip "openssh-server is not installed (SFTP destination)"
usb_test_setup
cleanup_hook() {
	"$SERVERS/s3rver.sh" stop "$TESTDIR/s3" 2>/dev/null || true
	"$SERVERS/sshd.sh" stop "$TESTDIR/ssh" 2>/dev/null || true
	usb_release
}

# Day 0 is a Monday about 100 days before today: every simulated day is in the past.
D0=$(python3 -c 'import datetime as d; t=d.date.today()-d.timedelta(days=100); print(t-d.timedelta(days=t.weekday()))')
day_date() { date -u -d "$D0 +$1 days" +%F; }
# at DAY HH:MM CMD...: run CMD with the clock starting at that moment of simulated day DAY.
at() {
	local when
	when="$(day_date "$1") $2:00"
	shift 2
	faketime -f "@$when" "$@" </dev/null
}
if [ "${COFFRE_SANITIZE:-0}" = 1 ]; then
	# gcc's ASan refuses to start after libfaketime unless told not to check (RECIPES 6).
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
fi
probe=$(timeout 60 faketime -f "@$(day_date 0) 20:00:00" "$COFFRE" --help 2>&1 >/dev/null </dev/null) ||
	skip "coffre does not run under libfaketime in this build (a clang ASan binary hangs there): ${probe:0:200}"

log "servers: s3rver, sshd; a FAT32 drive image"
printf 'S3RVER\nS3RVER\n' >"$TESTDIR/s3keys"
chmod 600 "$TESTDIR/s3keys" "$COFFRE_PASSWORD_FILE"
export COFFRE_S3_KEYS_FILE=$TESTDIR/s3keys
PORT=$("$SERVERS/s3rver.sh" start "$TESTDIR/s3" coffre) || fail "s3rver did not start"
read -r SPORT SUSER SFP < <("$SERVERS/sshd.sh" start "$TESTDIR/ssh") || fail "sshd did not start"
LABEL=RET$SUF
truncate -s 128M "$TESTDIR/fat.img"
mkfs.vfat -F 32 -n "$LABEL" "$TESTDIR/fat.img" >/dev/null || fail "mkfs.vfat failed"
DEV=$(losetup -f --show "$TESTDIR/fat.img") || skip "losetup cannot attach an image here"
LOOPS+=("$DEV")
MNT=$TESTDIR/mnt-$SUF
mkdir -p "$MNT" "$TESTDIR/sftp-repo"
# coffre mounts the drive for each run. It is mounted here only to measure it, between runs:
# coffre does not see a fusefat mount as the drive's (its /proc/self/mounts source is
# "fusefat") and would mount it a second time, and two FAT drivers writing one device
# corrupt it.
fat_mount() { fusefat -o rw+ "$DEV" "$MNT" >/dev/null 2>&1 || fail "cannot mount the FAT32 image"; }
fusefat_gone() { ! pgrep -f "fusefat -o rw\+ $DEV $MNT" >/dev/null; }
fat_umount() { umount "$MNT" || fail "cannot unmount the FAT32 image"; wait_for 30 "fusefat exits" fusefat_gone; }

FAT=usb:$LABEL
S3=s3://127.0.0.1:$PORT/coffre/shop
SFTP=sftp://$SUSER@127.0.0.1:$SPORT$TESTDIR/sftp-repo
SRC=$TESTDIR/src
CONF=$TESTDIR/coffre.conf
gen_data "$SRC" --size tiny --seed 5
cat >"$CONF" <<EOF
[backup]
path = $SRC
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
keep-daily = 7
keep-weekly = 4
keep-monthly = 0
keep-within = 0
[destination fat]
url = $FAT
keep-daily = 14
keep-weekly = 8
[destination s3]
url = $S3
s3-keys-file = $TESTDIR/s3keys
[destination sftp]
url = $SFTP
sftp-key-file = $TESTDIR/ssh/client_key
sftp-host-key = $SFP
keep-daily = 3
keep-weekly = 0
EOF
SFTP_OPTS=(--sftp-key-file "$TESTDIR/ssh/client_key" --sftp-host-key "$SFP")
cf init -q >/dev/null || fail "init failed"
log "a push to S3 from a clock a day off is refused, and the message says it is the clock"
rc=0
at 0 20:00 "$COFFRE" push --config "$CONF" --to s3 >"$LOGDIR/skew.out" 2>"$LOGDIR/skew.err" || rc=$?
[ "$rc" != 0 ] || fail "s3rver took requests signed a day off"
grep -q "clock" "$LOGDIR/skew.err" || { cat "$LOGDIR/skew.err" >&2; fail "the message does not name the clock"; }
info "exit $rc: $(head -n 1 "$LOGDIR/skew.err")"

# The four places, their policies (daily weekly) and how to reach them.
NAMES=(spool fat s3 sftp)
declare -A URL=([spool]=$COFFRE_REPOSITORY [fat]=$FAT [s3]=$S3 [sftp]=$SFTP)
declare -A POLICY=([spool]="7 4" [fat]="14 8" [s3]="7 4" [sftp]="3 0")
repo_opts() { [ "$1" = sftp ] && printf '%s\n' "${SFTP_OPTS[@]}"; true; }
on() { # NAME coffre-args...: coffre on that place
	local n=$1 o
	shift
	mapfile -t o < <(repo_opts "$n")
	cf --repo "${URL[$n]}" ${o[@]+"${o[@]}"} "$@"
}
bytes() { # NAME: bytes of the objects stored at that place
	case $1 in
	spool) find "$COFFRE_REPOSITORY" -type f ! -path '*/locks/*' -printf '%s\n' ;;
	fat) find "$MNT/coffre" -type f -printf '%s\n' ;;
	s3) find "$TESTDIR/s3/data" -type f -name '*._S3rver_object' -printf '%s\n' ;;
	sftp) find "$TESTDIR/sftp-repo" -type f -printf '%s\n' ;;
	esac | awk '{s += $1} END {print s + 0}'
}

# expected NAME...: for each place, "NAME day:id..." with the snapshots its policy keeps of
# every one made so far ($DAYLOG: "day id" lines), computed from the simulated dates alone:
# pinned ones ($PINS.spool for the spool, $PINS.dst for the destinations) and future-dated
# ones ($FUTURE) are kept and take no rule's slot; those in $MAYBE may be there or not.
# With NAME=JSON (its snapshots --json), compares instead, flags too, and says what differs.
DAYLOG=$TESTDIR/days PINS=$TESTDIR/pins FUTURE=$TESTDIR/future MAYBE=$TESTDIR/maybe
: >"$DAYLOG"
: >"$PINS.spool"
: >"$PINS.dst"
: >"$FUTURE"
: >"$MAYBE"
policy_args() { local n; for n in "$@"; do printf '%s\n' "$n:${POLICY[${n%%=*}]// /:}"; done; }
expected() {
	python3 - "$TESTDIR" "$D0" $(policy_args "$@") <<'PY'
import datetime, json, sys
top, d0 = sys.argv[1], datetime.date.fromisoformat(sys.argv[2])
ids = lambda f: set(open(top + "/" + f).read().split())
future, maybe = ids("future"), ids("maybe")
day_of, snaps = {i: "F" for i in future}, []
for line in open(top + "/days"):
    day, sid = line.split()
    day_of[sid] = int(day)
    snaps.append((d0 + datetime.timedelta(days=int(day)), sid))
snaps.sort(reverse=True)               # newest first (one snapshot a day)
def keep(daily, weekly, pinned):
    days, weeks, kept = [], [], pinned | future
    for date, sid in snaps:
        if sid in kept:
            continue                   # kept anyway: takes no rule's slot
        if date not in days and len(days) < daily:
            days.append(date)
            kept.add(sid)
        wk = date.isocalendar()[:2]
        if wk not in weeks and len(weeks) < weekly:
            weeks.append(wk)
            kept.add(sid)
    return kept
order = lambda i: (isinstance(day_of.get(i), str), day_of.get(i, -1) if isinstance(day_of.get(i), int) else 0)
show = lambda v: " ".join(str(day_of.get(i, "?" + i[:8])) for i in sorted(v, key=order))
bad = 0
for arg in sys.argv[3:]:
    what, daily, weekly = arg.split(":")
    name = what.split("=")[0]
    pinned = ids("pins.spool" if name == "spool" else "pins.dst")
    want = keep(int(daily), int(weekly), pinned)
    if "=" not in what:
        print(name, " ".join("%s:%s" % (day_of[i], i) for i in sorted(want, key=order)))
        continue
    listed = json.load(open(what.split("=", 1)[1]))
    got = {s["id"] for s in listed}
    if got - maybe != want - maybe:
        bad = 1
        print("%s (keep-daily %s, keep-weekly %s): expected %d snapshots, holds %d\n"
              "   expected days: %s\n   held days:     %s" % (name, daily, weekly, len(want),
              len(got), show(want), show(got)), file=sys.stderr)
    for s in listed:
        if s["id"] in maybe:
            continue
        if s["pinned"] != (s["id"] in pinned) or s["future"] != (s["id"] in future):
            bad = 1
            print("%s: day %s is listed pinned=%s future=%s" % (name, day_of.get(s["id"], "?"),
                  s["pinned"], s["future"]), file=sys.stderr)
sys.exit(bad)
PY
}
check_lists() { # DAY
	local n args=()
	for n in "${NAMES[@]}"; do
		on "$n" snapshots --json >"$LOGDIR/snaps.$n.json" 2>"$LOGDIR/snaps.$n.err" ||
			{ cat "$LOGDIR/snaps.$n.err" >&2; fail "day $1: $n: snapshots failed"; }
		args+=("$n=$LOGDIR/snaps.$n.json")
	done
	expected "${args[@]}" || fail "day $1 ($(day_date "$1")): a place does not hold what its policy keeps"
}
check_data() { # DAY
	local n
	for n in fat s3 sftp; do
		on "$n" check --read-data -q >"$LOGDIR/check.$n.out" 2>&1 ||
			{ cat "$LOGDIR/check.$n.out" >&2; fail "day $1: $n: check --read-data finds errors"; }
	done
	info "day $1: check --read-data clean on fat, s3 and sftp"
}
declare -A SIZE
src_bytes() { find "$SRC" -type f -printf '%b\n' | awk '{s += $1 * 512} END {print s + 0}'; }
sizes() { # DAY
	local n line="day $1 ($(day_date "$1")) bytes:"
	fat_mount
	for n in "${NAMES[@]}"; do
		SIZE[$n.$1]=$(bytes "$n")
		line+=" $n $(numfmt --to=iec "${SIZE[$n.$1]}")"
	done
	SIZE[src.$1]=$(src_bytes)
	info "$line; source $(numfmt --to=iec "${SIZE[src.$1]}") on disk"
	# The bytes its own snapshots reach, for the folders (tests/tools/pack_usage).
	line="day $1 reached by the snapshots:"
	for n in spool fat sftp; do
		"$PACK_USAGE" "${DIR[$n]}" "$COFFRE_PASSWORD_FILE" >"$LOGDIR/usage.$n.$1" ||
			fail "pack_usage $n failed"
		LIVE[$n.$1]=$(json_get "$LOGDIR/usage.$n.$1" live_bytes)
		line+=" $n $(numfmt --to=iec "${LIVE[$n.$1]}")"
	done
	fat_umount
	info "$line"
}
declare -A LIVE DIR=([spool]=$COFFRE_REPOSITORY [fat]=$MNT/coffre [sftp]=$TESTDIR/sftp-repo)
PACK_USAGE=${COFFRE_TOOLS:-$COFFRE_TESTS/../build/tests}/pack_usage
[ -x "$PACK_USAGE" ] || skip "pack_usage not built ($PACK_USAGE)"

mkdir -p "$TESTDIR/manifest"
PIN_DAY=17 UNPIN_DAY=45
log "$DAYS simulated days from $(day_date 0): backup, forget --prune, push --config"
for ((d = 0; d < DAYS; d++)); do
	[ "$d" = 0 ] || gen_data --mutate "$SRC" --day "$d" --seed 5
	at "$d" 20:00 "$COFFRE" backup "$SRC" --json >"$LOGDIR/backup.json" 2>"$LOGDIR/backup.err" ||
		{ cat "$LOGDIR/backup.err" >&2; fail "day $d: backup failed"; }
	id=$(json_get "$LOGDIR/backup.json" snapshot)
	echo "$d $id" >>"$DAYLOG"
	manifest "$SRC" >"$TESTDIR/manifest/$d" || fail "day $d: manifest failed"
	# Day 17's snapshot is pinned on the spool (the pin is pushed with it) until day 45:
	# kept everywhere meanwhile, in no rule's slot. On day 45 a destination may still hold
	# it (its own copy of the pin goes last in that push); from day 46 it must be gone.
	if [ "$d" = "$PIN_DAY" ]; then
		at "$d" 20:05 "$COFFRE" pin "$id" --reason "audit" -q || fail "pin failed"
		echo "$id" >"$PINS.spool"
		echo "$id" >"$PINS.dst"
	elif [ "$d" = "$UNPIN_DAY" ]; then
		at "$d" 20:05 "$COFFRE" unpin "$(cat "$PINS.spool")" -q || fail "unpin failed"
		# Pushed while the spool still holds the snapshot: a pin follows the spool's unpin
		# only then (one unpinned and forgotten before any push stays pinned there).
		at "$d" 20:06 "$COFFRE" push --config "$CONF" --to fat --to sftp -q ||
			fail "day $d: push after unpin failed"
		cf push --config "$CONF" --to s3 -q || fail "day $d: push to s3 after unpin failed"
		mv "$PINS.dst" "$MAYBE"
		: >"$PINS.spool"
		: >"$PINS.dst"
	elif [ "$d" = "$((UNPIN_DAY + 1))" ]; then
		: >"$MAYBE"
	fi
	at "$d" 20:10 "$COFFRE" forget --keep-daily 7 --keep-weekly 4 --keep-monthly 0 --keep-within 0 \
		--prune -q >"$LOGDIR/forget.out" 2>&1 || { cat "$LOGDIR/forget.out" >&2; fail "day $d: forget --prune failed"; }
	# S3 signs each request with the clock (SigV4) and refuses one more than 15 min off: the
	# push there runs on the real clock, naming the configured destination (so with its
	# policy); the others on the simulated one. Snapshot times are those of the simulated
	# days either way, and no policy here has a keep-within that would read the clock.
	at "$d" 20:20 "$COFFRE" push --config "$CONF" --to fat --to sftp --json >"$LOGDIR/push.json" \
		2>"$LOGDIR/push.err" || { cat "$LOGDIR/push.err" "$LOGDIR/push.json" >&2; fail "day $d: push failed"; }
	cf push --config "$CONF" --to s3 --json >"$LOGDIR/push-s3.json" 2>"$LOGDIR/push-s3.err" ||
		{ cat "$LOGDIR/push-s3.err" "$LOGDIR/push-s3.json" >&2; fail "day $d: push to s3 failed"; }
	check_lists "$d"
	case $d in
	14 | 30) sizes "$d"; check_data "$d" ;;
	esac
done
last=$((DAYS - 1))
sizes "$last"
check_data "$last"
log "a snapshot dated in the future (a wrong clock) is kept everywhere, flagged, in no rule's slot"
faketime -f "@$(date -u -d '+400 days' +%F) 12:00:00" "$COFFRE" backup "$SRC" --json \
	>"$LOGDIR/backup.json" </dev/null || fail "future-dated backup failed"
json_get "$LOGDIR/backup.json" snapshot >>"$FUTURE"
at "$last" 20:40 "$COFFRE" forget --keep-daily 7 --keep-weekly 4 --keep-monthly 0 --keep-within 0 \
	--prune -q >"$LOGDIR/forget.out" 2>&1 || { cat "$LOGDIR/forget.out" >&2; fail "forget --prune failed"; }
at "$last" 20:50 "$COFFRE" push --config "$CONF" --to fat --to sftp -q || fail "push failed"
cf push --config "$CONF" --to s3 -q || fail "push to s3 failed"
check_lists "$last"
expected "${NAMES[@]}" >"$LOGDIR/final" || fail "expected lists failed"
while read -r n ids; do
	set -- $ids
	info "$n: $# snapshots, days $(sed 's/:[0-9a-f]*//g' <<<"$ids")"
done <"$LOGDIR/final"

log "the oldest snapshot of each destination restores bit-exact, on a fresh cache"
for n in fat s3 sftp; do
	export XDG_CACHE_HOME=$TESTDIR/cache-restore-$n
	read -r _ oldest _ <<<"$(grep "^$n " "$LOGDIR/final")"
	od=${oldest%%:*} oid=${oldest#*:}
	on "$n" restore "$oid" --target "$TESTDIR/r-$n" -q >"$LOGDIR/restore.$n" 2>&1 ||
		{ cat "$LOGDIR/restore.$n" >&2; fail "$n: restore of day $od failed"; }
	manifest "$TESTDIR/r-$n$SRC" >"$LOGDIR/restored.$n" || fail "manifest of the restored tree failed"
	diff -u "$TESTDIR/manifest/$od" "$LOGDIR/restored.$n" >"$LOGDIR/restored.$n.diff" ||
		{ head -n 40 "$LOGDIR/restored.$n.diff" >&2; fail "$n: day $od ($(day_date "$od")) does not restore as backed up"; }
	info "$n: day $od ($(day_date "$od")) identical ($(wc -l <"$TESTDIR/manifest/$od") entries)"
	rm -rf "$TESTDIR/r-$n"
done
export XDG_CACHE_HOME=$TESTDIR/cache

log "each place's size stays flat once its policy is full"
# The shop grows (new invoices, appended pages), so flat means: what a place stores beyond
# what its own snapshots reach does not grow (x1.3 at most from day 30 to day 59) where its
# policy is full by day 30 (spool: 7 days and 4 weeks; sftp: 3 days), and S3, with the
# spool's policy, stores what the spool stores (x1.3 at most). The drive's policy (14 days
# and 8 weeks) fills only near day 56, and it keeps snapshots the spool no longer has: it
# must not hold the spool's repacked packs beside the old ones its older snapshots need
# (push_select.c): at most x1.3 what its snapshots reach at day 59 (x1.75 when every
# repacked pack was sent).
if [ "$DAYS" -ge 60 ]; then
	python3 - fat "${SIZE[fat.30]}" "${LIVE[fat.30]}" "${SIZE[fat.$last]}" "${LIVE[fat.$last]}" <<'PY' ||
import sys
n, a, la, b, lb = sys.argv[1], *map(int, sys.argv[2:])
print("   %s: day 30 %d bytes for %d reached (x%.2f), day 59 %d for %d (x%.2f)" % (n, a, la, a / la, b, lb, b / lb))
sys.exit(0 if b / lb <= 1.3 else 1)
PY
		fail "the drive stores the spool's repacked packs beside its old ones"
	for n in spool sftp; do
		python3 - "$n" "${SIZE[$n.30]}" "${LIVE[$n.30]}" "${SIZE[$n.$last]}" "${LIVE[$n.$last]}" <<'PY' ||
import sys
n, a, la, b, lb = sys.argv[1], *map(int, sys.argv[2:])
print("   %s: day 30 %d bytes for %d reached (x%.2f), day 59 %d for %d (x%.2f)" % (n, a, la, a / la, b, lb, b / lb))
sys.exit(0 if b / lb <= 1.3 * (a / la) else 1)
PY
			fail "$n stores more and more beyond what its snapshots reach"
	done
	info "s3: day 59 ${SIZE[s3.$last]} bytes, the spool ${SIZE[spool.$last]}"
	[ "${SIZE[s3.$last]}" -le $((SIZE[spool.$last] * 13 / 10)) ] || fail "s3 stores more than the spool"
fi
pass
