#!/usr/bin/env bash
# t_daemon_faults.sh: coffred (schedule after-change 1s) through faults; after each, the next
# snapshot must match the tree exactly (`coffre ls latest` against os.walk):
#  a. a protected folder renamed away then back, and removed then recreated: the daemon keeps
#     running, status says "missing" while it is, the runs meanwhile are partial and name it,
#     and its return is noticed without any other change (full scan);
#  d. the repository moved away: the run fails with a clear status, is retried without any
#     new change (COFFRED_RETRY_DELAY=2), status says so; put back: the retry succeeds;
#  e. a burst of 10,000 new files in 100 new folders: no change lost;
#  f. an inotify queue overflow, forced with fs.inotify.max_queued_events=16 (as root; the
#     old value is restored at once and in the exit trap): the overflow is counted and logged,
#     and the full scan that follows catches everything.
# (The invalid configuration on SIGHUP is in t_daemon.sh; an unreadable folder in
# t_daemon_unreadable.sh; SIGTERM mid-backup in t_daemon_sigterm.sh.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

COFFRED=${COFFRED:-$(dirname "$COFFRE")/../agent/daemon/coffred}
[ -x "$COFFRED" ] || skip "no coffred binary next to $COFFRE (set COFFRED=)"
SRC=$TESTDIR/src
SHARE=$TESTDIR/mnt/share
STATE=$TESTDIR/state
SOCK=$TESTDIR/run/coffred.sock
CONF=$TESTDIR/coffre.conf
ST=$LOGDIR/status.json
DLOG=$LOGDIR/coffred.log
chmod 600 "$COFFRE_PASSWORD_FILE"

QE=/proc/sys/fs/inotify/max_queued_events
OLD_QE=$(cat "$QE")
cleanup_hook() { [ "$(cat "$QE")" = "$OLD_QE" ] || echo "$OLD_QE" >"$QE" 2>/dev/null || true; }

expect_exit 0 cf init
gen_data "$SRC" --seed 5 --size tiny
mkdir -p "$SHARE/invoices/2024"
for i in 1 2 3; do echo "invoice $i" >"$SHARE/invoices/2024/$i.txt"; done
cat >"$CONF" <<CONF
[backup]
path = $SRC
path = $SHARE
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
schedule = after-change 1s
[daemon]
socket = $SOCK
state-dir = $STATE
# Changes in bulk to existing files while the kernel's queue overflows (section f) is what
# an attack that floods the watcher does: this test is about the watcher, not the alarm.
[detect]
enabled = no
CONF

COFFRED_RETRY_DELAY=2 "$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")

# status: the status JSON into $ST (exit 1 only says the last run failed).
status() {
	local rc=0
	cf status --json --socket "$SOCK" >"$ST" 2>/dev/null || rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 1 ]
}
alive() { kill -0 "$DPID" 2>/dev/null || { tail -n 30 "$DLOG" >&2; fail "coffred died"; }; }
lastrun() { json_try "$ST" last_backup.run; }

# wait_run N [SECONDS]: wait (60 s unless told) until run #N or a later one has ended; $ST
# then holds the status.
wait_run() {
	local want=$1 t=${2:-60}
	wait_until "$t" ran "$want" || { tail -n 30 "$DLOG" >&2; fail "run #$want did not end within $t s"; }
}
ran() {
	local r
	alive
	status || return 1
	r=$(lastrun)
	[ "$r" != "?" ] && [ "$r" != null ] && [ "$r" -ge "$1" ]
}

# settle [SECONDS]: wait (80 s unless told) until idle with nothing pending (no dirty folder,
# no full scan due, no backup due) and the last run ok; $ST then holds the status.
settle() {
	local t=${1:-80}
	wait_until "$t" settled || {
		tail -n 30 "$DLOG" >&2
		fail "coffred did not settle within $t s (state $(json_try "$ST" state), last $(json_try "$ST" last_backup.result))"
	}
}
settled() {
	alive
	status && [ "$(json_try "$ST" state)" = idle ] &&
		[ "$(json_try "$ST" pending.dirty_folders)" = 0 ] &&
		[ "$(json_try "$ST" pending.full_scan)" = false ] &&
		[ "$(json_try "$ST" next_backup)" = null ] &&
		[ "$(json_try "$ST" last_backup.result)" = ok ]
}

# matches DIR...: `coffre ls latest` holds exactly the entries of each DIR.
matches() {
	cf --json ls latest >"$LOGDIR/ls.json" || fail "coffre ls latest failed"
	python3 - "$LOGDIR/ls.json" "$@" <<'PY' || fail "snapshot listing differs from the tree"
import json, os, sys
listing = json.load(open(sys.argv[1]))
for root in sys.argv[2:]:
    src = os.fsencode(root)
    tree = {src}
    for dp, dns, fns in os.walk(src):
        for n in dns + fns:
            tree.add(os.path.join(dp, n))
    snap = set()
    for e in listing:
        p = bytes.fromhex(e["path_hex"]) if "path_hex" in e else e["path"].encode()
        p = p.rstrip(b"/") or b"/"
        if p == src or p.startswith(src + b"/"):
            snap.add(p)
    if tree != snap:
        print("only in the tree:", sorted(tree - snap)[:10], file=sys.stderr)
        print("only in the snapshot:", sorted(snap - tree)[:10], file=sys.stderr)
        sys.exit(1)
    print("   ls latest: %d entries under %s, same as the tree" % (len(tree), root))
PY
}

# root_state PATH: the state status gives for a protected folder.
root_state() {
	python3 -c '
import json, sys
for e in json.load(open(sys.argv[1]))["watched"]:
    if e["path"] == sys.argv[2]:
        print(e["state"])' "$ST" "$1"
}

log "start-up backup"
settle
matches "$SRC" "$SHARE"

log "a. the share renamed away: missing, the run is partial and names it"
R=$(lastrun)
mv "$SHARE" "$TESTDIR/mnt/share.away"
wait_run $((R + 1))
[ "$(root_state "$SHARE")" = missing ] || fail "status says '$(root_state "$SHARE")' for the missing share"
[ "$(json_get "$ST" last_backup.result)" = partial ] || fail "the run without the share is not partial"
grep -q "share' is missing" <<<"$(json_get "$ST" last_backup.missing)" || fail "the run does not name the missing share"
expect_exit 0 cf status --socket "$SOCK"
grep -q "share: missing" "$OUT" || { cat "$OUT"; fail "status does not show the share missing"; }
matches "$SRC"
log "a. renamed back: noticed by itself, full scan, snapshot matches"
R=$(lastrun)
mv "$TESTDIR/mnt/share.away" "$SHARE"
wait_run $((R + 1))
settle
[ "$(root_state "$SHARE")" = watched ] || fail "the share is not watched again"
grep -q "share' is back" "$DLOG" || fail "no log line for the share's return"
echo "after return" >"$SHARE/invoices/2024/4.txt"
settle
matches "$SRC" "$SHARE"

log "a. removed, then recreated with other content"
R=$(lastrun)
rm -rf "$SHARE"
wait_run $((R + 1))
[ "$(root_state "$SHARE")" = missing ] || fail "status says '$(root_state "$SHARE")' for the removed share"
[ "$(json_get "$ST" last_backup.result)" = partial ] || fail "the run without the share is not partial"
mkdir -p "$SHARE/new/deeper"
echo recreated >"$SHARE/new/deeper/r.txt"
echo top >"$SHARE/top.txt"
settle
[ "$(root_state "$SHARE")" = watched ] || fail "the recreated share is not watched"
matches "$SRC" "$SHARE"
echo later >"$SHARE/new/deeper/later.txt"
settle
matches "$SRC" "$SHARE"

log "d. the repository moved away: failed, retried, said; back: the retry succeeds"
R=$(lastrun)
mv "$COFFRE_REPOSITORY" "$TESTDIR/repo.away"
echo "while away" >"$SRC/while-away.txt"
wait_run $((R + 1))
[ "$(json_get "$ST" last_backup.result)" = failed ] || fail "the run without a repository did not fail"
grep -q "no repository" <<<"$(json_get "$ST" last_backup.error)" || fail "unclear error: $(json_get "$ST" last_backup.error)"
[ "$(json_get "$ST" retry)" = true ] || fail "status does not say a retry is due"
[ "$(json_get "$ST" next_backup)" != null ] || fail "no retry scheduled"
expect_exit 1 cf status --socket "$SOCK"
grep -q "failed (no repository" "$OUT" && grep -q "retry of the failed one" "$OUT" ||
	{ cat "$OUT"; fail "status for people does not say it failed and will retry"; }
wait_run $((R + 2)) 30
[ "$(json_get "$ST" last_backup.result)" = failed ] || fail "the retry should have failed too"
info "retried without any new change: run #$(lastrun) failed again"
mv "$TESTDIR/repo.away" "$COFFRE_REPOSITORY"
settle 40
matches "$SRC" "$SHARE"
grep -q "while-away.txt" "$LOGDIR/ls.json" || fail "the change made while the repository was away is lost"

log "e. a burst of 10,000 files in 100 new folders"
R=$(lastrun)
python3 - "$SRC/burst" <<'PY'
import os, sys
root = sys.argv[1]
os.mkdir(root)
for d in range(100):
    p = os.path.join(root, "d%03d" % d)
    os.mkdir(p)
    for f in range(100):
        with open(os.path.join(p, "f%03d" % f), "w") as fh:
            fh.write("%d/%d\n" % (d, f))
PY
settle 80
info "after the burst: runs $R -> $(lastrun), overflows $(json_get "$ST" overflows)"
matches "$SRC" "$SHARE"

log "f. inotify queue overflow (max_queued_events=16 for a fresh watcher)"
if ! echo 16 >"$QE" 2>/dev/null; then
	info "cannot set $QE (not root?): overflow part skipped"
else
	R=$(lastrun)
	reloads() { grep -c "configuration reloaded from" "$DLOG" || true; }
	reloaded() { [ "$(reloads)" -gt "$N" ]; }
	N=$(reloads)
	kill -HUP "$DPID"	# the reload builds a new inotify instance with the small queue
	wait_for 30 "coffred reloads its configuration on SIGHUP" reloaded
	echo "$OLD_QE" >"$QE"
	wait_run $((R + 1))
	settle
	OV0=$(json_get "$ST" overflows)
	R=$(lastrun)
	# One process writes as fast as it can: a shell loop forks nothing but is slow enough
	# that coffred, given a core, could keep up with a 16-event queue.
	python3 - "$SRC" <<'PY'
import os, sys
src = sys.argv[1]
os.mkdir(os.path.join(src, "overflow"))
for i in range(1, 3001):
    with open(os.path.join(src, "overflow", "o%d" % i), "w") as f:
        f.write("%d\n" % i)
for i in range(1, 101):
    with open(os.path.join(src, "burst", "d%03d" % (i % 100), "f%03d" % i), "a") as f:
        f.write("%d\n" % i)
PY
	settle
	status
	OV=$(json_get "$ST" overflows)
	[ "$OV" -gt "$OV0" ] || fail "no overflow counted ($OV)"
	grep -q "inotify queue overflow" "$DLOG" || fail "the overflow is not logged"
	cf log --json --state-dir "$STATE" >"$LOGDIR/log.json"
	python3 - "$LOGDIR/log.json" "$R" <<'PY' || fail "no full scan after the overflow"
import json, sys
runs = json.load(open(sys.argv[1]))[-20:]
# a run after the overflow read everything
assert any(r["full_scan"] and r["result"] == "ok" for r in runs[-3:]), runs[-3:]
PY
	grep -q "(full scan)" "$DLOG" || fail "log does not say a full scan ran"
	info "overflows counted: $OV; the run after it was a full scan"
	matches "$SRC" "$SHARE"
fi

kill -TERM "$DPID"
wait "$DPID" || fail "coffred exited with $?"
pass
