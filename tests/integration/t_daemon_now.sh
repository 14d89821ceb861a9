#!/usr/bin/env bash
# t_daemon_now.sh: `coffre backup --now` asks coffred (schedule daily, so nothing runs on its
# own during the test) to back up at once, waits for the run and maps its result:
#  - ok: exit 0, the summary names the snapshot, which matches the tree; --json gives the run;
#  - a second --now after changes: exit 0, only the changed folders read, snapshot matches;
#  - a protected folder missing: exit 3 (partial), the reason is shown;
#  - the repository gone: exit 1 with the daemon's error; back: exit 0;
#  - --now while a run is going: a further run follows and includes later changes;
#  - no daemon: exit 13.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

COFFRED=${COFFRED:-$(dirname "$COFFRE")/../agent/daemon/coffred}
[ -x "$COFFRED" ] || skip "no coffred binary next to $COFFRE (set COFFRED=)"
SRC=$TESTDIR/src
SRC2=$TESTDIR/src2
STATE=$TESTDIR/state
SOCK=$TESTDIR/run/coffred.sock
CONF=$TESTDIR/coffre.conf
chmod 600 "$COFFRE_PASSWORD_FILE"

expect_exit 0 cf init
gen_data "$SRC" --seed 11 --size tiny
mkdir -p "$SRC2/a/b"
echo two >"$SRC2/a/b/two.txt"
cat >"$CONF" <<CONF
[backup]
path = $SRC
path = $SRC2
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
schedule = daily 03:00
[daemon]
socket = $SOCK
state-dir = $STATE
CONF

log "no daemon: exit 13"
expect_exit 13 cf backup --now --socket "$SOCK"

"$COFFRED" --config "$CONF" 2>"$LOGDIR/coffred.log" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred's control socket" test -S "$SOCK"

# dirty: the watcher has seen a change since the last run (a folder waits for the next one).
dirty() {
	cf status --json --socket "$SOCK" >"$LOGDIR/dirty.json" 2>/dev/null &&
		[ "$(json_try "$LOGDIR/dirty.json" pending.dirty_folders)" -gt 0 ] 2>/dev/null
}

# matches DIR: `coffre ls latest` holds exactly the entries of DIR.
matches() {
	cf --json ls latest >"$LOGDIR/ls.json" || fail "coffre ls latest failed"
	python3 - "$1" "$LOGDIR/ls.json" <<'PY' || fail "snapshot listing differs from $1"
import json, os, sys
src = os.fsencode(sys.argv[1])
tree = {src}
for dp, dns, fns in os.walk(src):
    for n in dns + fns:
        tree.add(os.path.join(dp, n))
snap = set()
for e in json.load(open(sys.argv[2])):
    p = bytes.fromhex(e["path_hex"]) if "path_hex" in e else e["path"].encode()
    p = p.rstrip(b"/") or b"/"
    if p == src or p.startswith(src + b"/"):
        snap.add(p)
if tree != snap:
    print("only in the tree:", sorted(tree - snap)[:10], file=sys.stderr)
    print("only in the snapshot:", sorted(snap - tree)[:10], file=sys.stderr)
    sys.exit(1)
print("   ls latest: %d entries under %s, same as the tree" % (len(tree), sys.argv[1]))
PY
}

log "backup --now: ok, exit 0"
expect_exit 0 cf backup --now --config "$CONF"
cat "$OUT"
grep -q "^backup #1 ok: snapshot [0-9a-f]\{8\}, .*full scan" "$OUT" || fail "no summary of run #1"
grep -q "backup #1 started" "$ERR" || fail "no start message"
matches "$SRC"
matches "$SRC2"

log "changes, then backup --now --json: exit 0, incremental"
echo more >>"$SRC2/a/b/two.txt"
echo new >"$SRC2/a/new.txt"
wait_for 30 "the changes seen by coffred" dirty
expect_exit 0 cf --json backup --now --socket "$SOCK"
[ "$(json_get "$OUT" run)" = 2 ] || fail "--json does not give run 2"
[ "$(json_get "$OUT" result)" = ok ] || fail "run 2 not ok"
[ "$(json_get "$OUT" full_scan)" = false ] || fail "run 2 was a full scan"
[ "$(json_get "$OUT" dirs_reused)" -gt 0 ] || fail "run 2 reused no folder"
matches "$SRC2"

log "a protected folder missing: exit 3 (partial), and said"
mv "$SRC2" "$TESTDIR/src2.away"
wait_for 30 "the folder's move seen by coffred" dirty
expect_exit 3 cf backup --now --socket "$SOCK"
cat "$OUT"
grep -q "backup #3 partial" "$OUT" || fail "run 3 not reported partial"
grep -q "src2' is missing" "$OUT" || fail "the missing folder is not named"
matches "$SRC"
mv "$TESTDIR/src2.away" "$SRC2"

log "the repository gone: exit 1 with the reason; back: exit 0"
mv "$COFFRE_REPOSITORY" "$TESTDIR/repo.away"
expect_exit 1 cf backup --now --socket "$SOCK"
cat "$ERR"
grep -q "backup #4 failed: " "$ERR" || fail "the failure is not reported"
expect_exit 1 cf status --socket "$SOCK"
grep -q "retry of the failed one" "$OUT" || { cat "$OUT"; fail "status does not announce the retry"; }
mv "$TESTDIR/repo.away" "$COFFRE_REPOSITORY"
expect_exit 0 cf backup --now --socket "$SOCK"
grep -q "backup #5 ok" "$OUT" || fail "run 5 not ok"
matches "$SRC"
matches "$SRC2"

log "--now while a run is going: one more run follows, with the later changes"
# Long enough (a few seconds) for the second --now to find it running on a loaded machine.
head -c 500M /dev/urandom >"$SRC/big.bin"
cf backup --now --socket "$SOCK" >"$LOGDIR/first.out" 2>&1 &
FIRST=$!
# grep, not python: the window is the run's few seconds, even on a loaded machine.
running() {
	cf status --json --socket "$SOCK" >"$LOGDIR/st.json" &&
		grep -q '^  "state": "running"' "$LOGDIR/st.json"
}
WAIT_POLL=0.02 wait_until 30 running || fail "run 6 never seen running"
echo late >"$SRC2/late.txt"
expect_exit 0 cf backup --now --socket "$SOCK"
cat "$ERR" "$OUT"
wait "$FIRST" || fail "the first --now failed: $(cat "$LOGDIR/first.out")"
grep -q "will start when the running one ends" "$ERR" || fail "no follow-up announced"
grep -q "backup #7 ok" "$OUT" || fail "run 7 (the follow-up) not ok"
matches "$SRC2"
grep -q late.txt "$LOGDIR/ls.json" || fail "the later change is not in the snapshot"
rm "$SRC/big.bin"

kill -TERM "$DPID"
wait "$DPID" || fail "coffred exited with $?"
pass
