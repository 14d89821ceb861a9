#!/usr/bin/env bash
# t_attack.sh: a scripted ransomware attack (tests/tools/attacker, AES-256-CTR, no live
# malware) on a generated shop (make-shop-data) that coffred watches:
#  - benign days first (make-shop-data --mutate): no alarm;
#  - the attack (ATTACK, default "--in-place"; the attacker's own flags): the alarm is raised,
#    the time from the first encrypted file to the alarm and the files encrypted before it
#    are said; `coffre status` and `coffre alarm` exit 5 and name the way back; the files
#    the alarm says were touched are the attack's, not the benign days';
#  - the last snapshot before the attack is pinned in the repository; the attacker, holding
#    the shop's password, runs `forget --keep-last 1 --prune`: the pin keeps it;
#  - `coffre restore --before-attack` gives the pre-attack tree back bit-exact (the control
#    files left out), from the repository alone, after coffred is gone;
#  - the "attack" alert reaches a webhook sink, and its end once `coffre alarm clear` ends
#    the alarm.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
daemon_setup
ATTACKER=$COFFRE_TOOLS/attacker
[ -x "$ATTACKER" ] || fail "no attacker tool at $ATTACKER"
SHOP_GEN=$COFFRE_TESTS/../../shared/bench/make-shop-data
[ -x "$SHOP_GEN" ] || SHOP_GEN=$(cd "$COFFRE_TESTS/../.." && pwd)/shared/bench/make-shop-data
[ -x "$SHOP_GEN" ] || skip "no make-shop-data beside the repository (../shared/bench)"
ATTACK=${ATTACK:---in-place}
chmod 600 "$COFFRE_PASSWORD_FILE"
# The protected folder holds the shop's: control files go in it and in shop/, not in shop's
# own folders (make-shop-data takes every entry of paie/ for a year's folder).
TOP=$TESTDIR/data
SRC=$TOP/shop
mkdir -p "$TOP"
expect_exit 0 cf init -q
python3 "$SHOP_GEN" --scale small --seed 7 "$SRC" >"$LOGDIR/gen.out" 2>&1 ||
	{ cat "$LOGDIR/gen.out"; fail "make-shop-data failed"; }
# The alert goes to a webhook sink.
hook_sink_start
hook() { [ "$(hook_count attack "$1")" -ge 1 ]; }
daemon_conf "$CONF" "after-change 1 s" "$SOCK" "$STATE" "[alert]" \
	"webhook-url = http://127.0.0.1:$HP/hook" "language = fr" "shop-name = Boutique test" \
	-- "$TOP"
"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred's control socket" test -S "$SOCK"
daemon_wait_run 1
NCAN=$(find "$TOP" -name '*coffre-canary*' | wc -l)
[ "$NCAN" -ge 2 ] || fail "only $NCAN control files placed"
info "$NCAN control files placed"

# alarm: the status holds an alarm.
alarm() {
	cf status --json --socket "$SOCK" >"$LOGDIR/al.json" 2>/dev/null || [ $? = 5 ]
	[ "$(json_try "$LOGDIR/al.json" alarm)" != null ] && [ "$(json_try "$LOGDIR/al.json" alarm)" != "?" ]
}
# run_after N: a run after #N has ended (whatever its result).
runs() { json_try "$ST" last_backup.run; }

log "benign days: a day of shop activity each, no alarm"
for day in 1 2 3; do
	python3 "$SHOP_GEN" --mutate --day "$day" --seed 7 "$SRC" >>"$LOGDIR/gen.out" 2>&1 ||
		fail "mutate day $day failed"
	daemon_wait_run $((day + 1))
	! alarm || { cat "$LOGDIR/al.json"; fail "an alarm on benign day $day"; }
done
# In-place edits of existing files (a note appended to 20 invoices): the alarm's count of
# files touched must leave them out, as every change the shop made before the attack.
mapfile -t PDFS < <(find "$SRC" -name '*.pdf' ! -name '*coffre-canary*' | sort)
for f in "${PDFS[@]:0:20}"; do
	printf '%% annotated\n' >>"$f"
done
# quiet: coffred idle with every change backed up (a day's changes may span two runs).
quiet() {
	cf status --json --socket "$SOCK" >"$ST" 2>/dev/null &&
		[ "$(json_try "$ST" state)" = idle ] &&
		[ "$(json_try "$ST" pending.dirty_folders)" = 0 ] &&
		[ "$(json_try "$ST" last_backup.result)" = ok ]
}
wait_for 60 "coffred quiet after the benign days" quiet
CLEAN=$(snapshot_ids | tail -n 1)
mkdir -p "$TESTDIR/before"
cp -a "$TOP" "$TESTDIR/before/"
find "$TESTDIR/before" -name '*coffre-canary*' -delete
# The copy's folders as they were (removing the control files changed their times).
python3 - "$TOP" "$TESTDIR/before/data" <<'PY'
import os, sys
a, b = sys.argv[1:]
for d, _, _ in os.walk(a):
    st = os.stat(d)
    os.utime(os.path.join(b, os.path.relpath(d, a)), ns=(st.st_atime_ns, st.st_mtime_ns))
PY
info "benign days: no alarm; last clean snapshot ${CLEAN:0:8}"

log "the attack: attacker $ATTACK"
T0=$(date +%s.%N)
"$ATTACKER" $ATTACK --log "$LOGDIR/attack.log" "$SRC" >"$LOGDIR/attacker.out" 2>&1 &
APID=$!
BG_PIDS+=("$APID")
wait_for 120 "the alarm" alarm
T_READ=$(date +%s.%N)
# When the events coffred saw decided the alarm, to the millisecond.
RAISED_MS=$(json_get "$LOGDIR/al.json" alarm.raised_ms)
kill "$APID" 2>/dev/null || true	# a slow attacker is still at work
wait "$APID" || true
FIRST=$(head -n 1 "$LOGDIR/attack.log" | awk '{print $1}')
BEFORE=$(awk -v r="$RAISED_MS" '$1 * 1000 < r { n++ } END { print n + 0 }' "$LOGDIR/attack.log")
TOTAL=$(wc -l <"$LOGDIR/attack.log")
info "alarm $(python3 -c "print(round($RAISED_MS / 1000 - $FIRST, 3))") s after the first encrypted" \
	"file; $BEFORE of $TOTAL files encrypted before it; signals:" \
	"$(json_get "$LOGDIR/al.json" alarm.signals)"
# The files the attack touched, not every file the shop changed since coffred started.
# The attacker logs a file once done with it: two more may be under way at the read.
TOUCHED=$(json_get "$LOGDIR/al.json" alarm.touched)
ENC=$(awk -v t="$T_READ" '$1 < t { n++ } END { print n + 0 }' "$LOGDIR/attack.log")
info "the alarm counts $TOUCHED files touched ($ENC encrypted when it was read, $NCAN" \
	"control files)"
[ "$TOUCHED" -ge 1 ] && [ "$TOUCHED" -le $((ENC + NCAN + 2)) ] ||
	fail "the alarm counts $TOUCHED files touched, for $ENC encrypted when it was read"
expect_exit 5 cf status --socket "$SOCK"
grep -q 'restore --before-attack' "$OUT" || { cat "$OUT"; fail "status does not say the way back"; }
expect_exit 5 cf alarm --socket "$SOCK"
wait_for 60 "the attack alert at the webhook sink" hook start
info "the attack alert reached the webhook sink"

log "the clean snapshot is pinned, and outlives the attacker's forget --prune"
pinned() {
	cf status --json --socket "$SOCK" >"$LOGDIR/al.json" 2>/dev/null || [ $? = 5 ]
	PINNED=$(json_try "$LOGDIR/al.json" alarm.clean_snapshot)
	[ "$PINNED" != null ] && [ "$PINNED" != "?" ]
}
wait_for 120 "the clean snapshot pinned" pinned
# The last snapshot before the first encrypted file: the one after the benign days, or one
# made later still before the attack (nothing of the shop's changed meanwhile).
PTIME=$(json_get "$LOGDIR/al.json" alarm.clean_time)
python3 -c "import sys; sys.exit(0 if $PTIME < $FIRST else 1)" ||
	fail "the pinned snapshot ${PINNED:0:8} is dated $PTIME, after the first encrypted file ($FIRST)"
LATER=$(snapshot_ids | sed -n "/^$CLEAN\$/,\$p")
grep -qx "$PINNED" <<<"$LATER" ||
	fail "the pinned snapshot ${PINNED:0:8} is older than the last one of the benign days"
kill -TERM "$DPID"
wait "$DPID" || true
expect_exit 0 cf forget --keep-last 1 --keep-within 0 --prune
LEFT=$(snapshot_ids)
grep -qx "$PINNED" <<<"$LEFT" || fail "the pinned snapshot did not survive forget --prune"
info "after forget --keep-last 1 --prune: $(snapshot_ids | wc -l) snapshots, ${PINNED:0:8} kept"

log "restore --before-attack, from the repository alone"
expect_exit 2 cf restore --before-attack </dev/null
expect_exit 0 cf restore --before-attack --target "$TESTDIR/back" --yes
grep -q "${PINNED:0:8}" "$OUT" || { cat "$OUT"; fail "not the pinned snapshot"; }
# A flood's scratch folder (the attacker's, made before its first encrypted file) may be in
# the pinned snapshot, when a backup ran during the flood: every file of the shop must still
# come back as it was; that folder, and the time of the folder that held it, are left out.
EXCL=()
if [[ "$ATTACK" == *--flood* ]]; then
	for f in "$TESTDIR/back$TOP"/*/.flood-*; do
		[ -e "$f" ] || continue
		EXCL+=(--exclude "${f#"$TESTDIR/back$TOP/"}")
		d=$(dirname "$f")
		touch -r "$TESTDIR/before/data/${d#"$TESTDIR/back$TOP/"}" "$d"
		info "the flood's scratch folder ${f##*/} is in the pinned snapshot: left out"
	done
fi
compare_trees "$TESTDIR/before/data" "$TESTDIR/back$TOP" "${EXCL[@]}"
info "$(cat "$OUT")"

log "alarm clear"
"$COFFRED" --config "$CONF" 2>>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred's control socket" test -S "$SOCK"
expect_exit 5 cf alarm --socket "$SOCK"
expect_exit 0 cf alarm clear --socket "$SOCK"
expect_exit 0 cf alarm --socket "$SOCK"
wait_for 60 "the end of the attack alert at the webhook sink" hook end
expect_exit 1 cf alarm clear --socket "$SOCK"
pass
