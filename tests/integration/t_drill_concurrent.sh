#!/usr/bin/env bash
# t_drill_concurrent.sh: a drill of a destination caught in the middle of its restore
# (COFFRE_TEST_DRILL_STOP), its lock on the destination held, while the shop goes on:
#  - a backup of the spool runs and completes meanwhile, and a push to another destination;
#  - the spool forgets the drilled snapshot and prunes the pack only it used; a push to the
#    destination being drilled then breaks nothing: it either completes or says plainly that
#    the destination is busy (exit 11), and never deletes what the drill is reading;
#  - the drill, let go, passes on the snapshot it started from;
#  - afterwards: no lock on the spool or either destination, no scratch folder, and the next
#    push and drill pass and prove the newer snapshot.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/drill.sh"
drill_setup
STOP=$TESTDIR/stopped
USB=$TESTDIR/usb
mkdir -p "$USB"
drill_nas 61 "keep-last = 1" "keep-daily = 0" "keep-weekly = 0" "keep-monthly = 0" "keep-within = 0" "[destination usb]" "url = $USB"
log "a file only the drilled snapshot holds"
head -c 3000000 /dev/urandom >"$SRC/ancien.bin"
expect_exit 0 cf backup "$SRC" -q
expect_exit 0 cf push --config "$CONF"
# latest_id: the id of the spool's newest snapshot.
latest_id() {
	expect_exit 0 cf snapshots --json
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[-1]["id"])' "$OUT"
}
FIRST=$(latest_id)

stopped() { grep -q '^State:.*T' "/proc/$1/status" 2>/dev/null; }
no_lock() { [ -z "$(ls -A "$1/locks" 2>/dev/null)" ] || fail "a lock is left in $1: $(ls "$1/locks")"; }

log "a drill of nas, stopped in its restore"
COFFRE_TEST_DRILL_STOP=$STOP "$COFFRE" drill --config "$CONF" --to nas --full --json \
	>"$LOGDIR/drill.out" 2>"$LOGDIR/drill.err" </dev/null &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 60 "the drill stops in its restore" stopped "$DPID"
[ -n "$(ls -A "$NAS/locks")" ] || fail "no lock on nas during the drill"

log "meanwhile: a change, a backup, the drilled snapshot forgotten and pruned, pushes"
echo "facture du jour" >"$SRC/facture-pendant-exercice.txt"
rm "$SRC/ancien.bin"
expect_exit 0 cf backup "$SRC" -q
expect_exit 0 cf forget --keep-last 1 --keep-within 0 --prune
grep -q "^2 snapshots removed" "$OUT" || fail "the spool did not forget the drilled snapshot: $(cat "$OUT")"
expect_exit 0 cf push --config "$CONF" --to usb
expect_exit "0|11" cf push --config "$CONF" --to nas
rc=$RC
case $rc in
0) grep -q "nas: another process (a restore drill or a restore) is reading it: its retention waits for the next push" "$OUT" ||
	fail "the push does not say that the retention of nas waits: $(cat "$OUT")"
	info "the push to nas completed beside the drill; its retention waits" ;;
11) grep -q "nas" "$ERR" || fail "the refused push does not name the destination: $(cat "$ERR")"
	info "the push to nas was refused while the drill held it: $(head -c 200 "$ERR")" ;;
esac
PUSH_DURING=$rc
nsnap() { find "$NAS/snapshots" -type f | wc -l; }
[ "$(nsnap)" = 2 ] || fail "nas holds $(nsnap) snapshots while the drill reads it, not 2"

log "the drill, let go, passes on the snapshot it started from"
kill -CONT "$DPID"
rc=0
wait "$DPID" || rc=$?
[ "$rc" = 0 ] || { cat "$LOGDIR/drill.err"; fail "the drill exited $rc"; }
[ "$(drill_report "$LOGDIR/drill.out" nas result)" = ok ] || fail "the drill did not pass"
[ "$(drill_report "$LOGDIR/drill.out" nas bytes)" -ge 3000000 ] || fail "the drill did not restore ancien.bin"
drilled=$(drill_report "$LOGDIR/drill.out" nas snapshot)
case $FIRST in "$drilled"*) ;; *) fail "the drill proved $drilled, not the snapshot it started from ($FIRST)" ;; esac

log "nothing left behind; the next push and drill prove the newer snapshot"
no_lock "$COFFRE_REPOSITORY"
no_lock "$NAS"
no_lock "$USB"
no_scratch "$STATE/drill"
expect_exit 0 cf push --config "$CONF" --to nas
grep -q "nas: retention removed 1 snapshots" "$OUT" || fail "the next push did not carry the retention: $(cat "$OUT")"
[ "$(nsnap)" = 1 ] || fail "nas holds $(nsnap) snapshots after the next push, not 1"
expect_exit 0 cf drill --config "$CONF" --json
[ "$(drill_report "$OUT" nas result)" = ok ] || fail "the next drill of nas did not pass"
[ "$(drill_report "$OUT" usb result)" = ok ] || fail "the drill of usb did not pass"
cp "$OUT" "$LOGDIR/drill2.out"
LAST=$(latest_id)
case $LAST in "$(drill_report "$LOGDIR/drill2.out" nas snapshot)"*) ;; *) fail "the next drill of nas did not prove the newer snapshot" ;; esac
no_lock "$NAS"
no_scratch "$STATE/drill"
pass
