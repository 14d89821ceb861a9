#!/usr/bin/env bash
# t_push_kill_retention.sh: kill -9 of a push that carries retention to a folder destination
# never leaves that destination broken.
#  - COFFRE_PUSH_KILL_SNAPSHOTS backups (default 24; each adds a file of its own and drops
#    an older one, so old snapshots need packs the newest do not); all pushed to a
#    destination whose policy keeps them all; then the spool forgets down to its 10 newest
#    and prunes, and one more backup is made;
#  - the destination's policy becomes keep-last 10: the next push sends the new objects and
#    must delete snapshots, the index objects the spool no longer has and packs there;
#  - such a full push is measured (the shortest of three); then COFFRE_PUSH_KILL_RUNS times
#    (default 20) the destination is put back as it was before that push, the push starts
#    and is killed -9 after a random delay, run k in the k-th slice of the measured time
#    (lowered when a push ends before its kill); after each kill
#    `check --read-data` on the destination exits 0, every snapshot it lists restores
#    identical to the manifest made at its backup, and the next push completes with the
#    destination's list equal to the policy's (the 10 newest);
#  - it counts the kills that landed mid-run (fails when none did). COFFRE_PUSH_KILL_SEED
#    (default 1) seeds the delays.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
# python3 behind a version manager's shim can cost seconds a call: resolve it once, since
# manifests are made for every snapshot and every restore.
PY3=$(python3 -c 'import sys; print(sys.executable)') || fail "python3 does not run"
python3() { "$PY3" "$@"; }

# 20 kills in the plain build; fewer under ASan, where each restore takes several times longer.
if [ "${COFFRE_SANITIZE:-0}" = 1 ]; then RUNS=${COFFRE_PUSH_KILL_RUNS:-6}; else RUNS=${COFFRE_PUSH_KILL_RUNS:-20}; fi
NSNAP=${COFFRE_PUSH_KILL_SNAPSHOTS:-24}
RANDOM=${COFFRE_PUSH_KILL_SEED:-1}
SRC=$TESTDIR/data/src
DST=$TESTDIR/dst
TEMPLATE=$TESTDIR/dst-before
CONF=$TESTDIR/coffre.conf
MAN=$TESTDIR/manifests
mkdir -p "$SRC" "$MAN"
chmod 600 "$COFFRE_PASSWORD_FILE"

# conf KEEP_LAST: the configuration, with the destination's policy.
conf() {
	cat >"$CONF" <<CONF
[backup]
path = $SRC
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
keep-last = 100
keep-within = 0

[destination nas]
url = $DST
keep-last = $1
CONF
	expect_exit 0 cf config check --config "$CONF"
}

# backup_one I: change the source (a file of its own, one older file dropped), back up, and
# keep the manifest of what the snapshot holds.
backup_one() {
	local i=$1 id
	head -c $((96 << 10)) /dev/urandom >"$SRC/day-$i.bin"
	printf 'day %d\n' "$i" >>"$SRC/journal.txt"
	[ "$i" -le 3 ] || rm -f "$SRC/day-$((i - 3)).bin"
	expect_exit 0 cf --json backup "$SRC"
	id=$(json_get "$OUT" snapshot)
	manifest "$SRC" >"$MAN/$id"
}

# on_dst ARGS...: coffre on the destination, with a cache of its own (a fresh machine).
on_dst() { XDG_CACHE_HOME=$TESTDIR/cache-dst "$COFFRE" --repo "$DST" "$@" </dev/null; }

dst_ids() {
	on_dst --json snapshots >"$LOGDIR/dst.json" || fail "snapshots on the destination failed"
	python3 -c '
import json, sys
for s in json.load(open(sys.argv[1])):
    print(s["id"])' "$LOGDIR/dst.json"
}

# verify_dst WHAT: check --read-data on the destination, and every snapshot it lists restores
# identical to its manifest.
verify_dst() {
	local id n=0
	rm -rf "$TESTDIR/cache-dst"
	expect_exit 0 on_dst check --read-data
	while read -r id; do
		[ -f "$MAN/$id" ] || fail "$1: the destination lists $id, made by no backup"
		rm -rf "$TESTDIR/r"
		expect_exit 0 on_dst restore "$id" --target "$TESTDIR/r"
		manifest "$TESTDIR/r$SRC" >"$LOGDIR/restored"
		diff -u "$MAN/$id" "$LOGDIR/restored" >"$LOGDIR/restored.diff" ||
			{ head -40 "$LOGDIR/restored.diff" >&2; fail "$1: snapshot $id restores different"; }
		n=$((n + 1))
	done < <(dst_ids)
	rm -rf "$TESTDIR/r"
	VERIFIED=$n
}

log "init, $NSNAP backups, all pushed to a destination that keeps them all"
expect_exit 0 cf init
conf 100
for i in $(seq 1 "$NSNAP"); do backup_one "$i"; done
expect_exit 0 cf push --config "$CONF"
[ "$(dst_ids | wc -l)" = "$NSNAP" ] || fail "the destination does not hold the $NSNAP snapshots"

log "the spool keeps its 10 newest (forget, prune), one more backup"
expect_exit 0 cf forget --keep-last 10 --keep-within 0
expect_exit 0 cf prune
backup_one $((NSNAP + 1))
snapshot_ids >"$LOGDIR/spool.ids"
[ "$(grep -c '' "$LOGDIR/spool.ids")" = 11 ] || fail "the spool does not hold 11 snapshots"
# The policy's list: the 10 newest of the spool (the destination's own are all older).
tail -n 10 "$LOGDIR/spool.ids" | sort >"$LOGDIR/want"
cp -a "$DST" "$TEMPLATE"
nobj_before=$(find "$DST" -type f | wc -l)
npack_before=$(find "$DST/data" -type f | wc -l)
nidx_before=$(find "$DST/index" -type f | wc -l)

conf 10
# fresh_dst: the destination as it was before the deleting push.
fresh_dst() {
	rm -rf "$DST"
	cp -a "$TEMPLATE" "$DST"
}
# push_ok WHAT: a push completes and the destination holds the policy's list.
push_ok() {
	expect_exit 0 cf push --config "$CONF"
	dst_ids | sort >"$LOGDIR/got"
	diff -u "$LOGDIR/want" "$LOGDIR/got" >&2 || fail "$1: the destination's snapshots are not the policy's"
}

log "three full deleting pushes, measured (the shortest counts)"
full_ms=
for m in 1 2 3; do
	[ "$m" = 1 ] || fresh_dst
	t0=${EPOCHREALTIME/./}
	push_ok "measured push $m"
	t1=${EPOCHREALTIME/./}
	ms=$(((t1 - t0) / 1000))
	info "full push $m: ${ms} ms"
	[ -n "$full_ms" ] && [ "$full_ms" -le "$ms" ] || full_ms=$ms
done
info "on the destination: $nobj_before objects before ($npack_before packs, $nidx_before index objects), $(find "$DST" -type f | wc -l) after ($(find "$DST/data" -type f | wc -l) packs, $(find "$DST/index" -type f | wc -l) index objects)"
[ "$(find "$DST/data" -type f | wc -l)" -lt "$npack_before" ] || fail "the push deleted no pack"
[ "$(find "$DST/index" -type f | wc -l)" -le "$nidx_before" ] || fail "the push added index objects and deleted none"
verify_dst "after the measured push"
info "check --read-data clean, $VERIFIED snapshots restore identical"

log "$RUNS pushes killed -9 at random moments of their run (0 to ${full_ms} ms)"
kills=0
est_us=$((full_ms * 1000))
for it in $(seq 1 "$RUNS"); do
	fresh_dst
	# Spread over the run: run k of RUNS lands in the k-th slice of the estimated time. A
	# push that ends before its kill lowers the estimate (the machine's load varies).
	slice=$((est_us / RUNS))
	[ "$slice" -gt 0 ] || slice=1
	us=$(((it - 1) * slice + (RANDOM * 32768 + RANDOM) % slice))
	"$COFFRE" push --config "$CONF" >"$LOGDIR/killed.$it.out" 2>&1 </dev/null &
	pid=$!
	# Not a wait: the kill lands at a chosen moment of the run, on purpose.
	sleep "$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))"
	kill -9 "$pid" 2>/dev/null || true
	krc=0
	wait "$pid" 2>/dev/null || krc=$?
	left=$(dst_ids | wc -l)
	case $krc in
	137) kills=$((kills + 1)); how="killed after $((us / 1000)) ms with $left snapshots there" ;;
	0) how="finished before the kill at $((us / 1000)) ms"; est_us=$us ;;
	*) cat "$LOGDIR/killed.$it.out" >&2; fail "run $it: push exited $krc before the kill" ;;
	esac
	verify_dst "run $it, after the kill"
	push_ok "run $it, the push after the kill"
	info "run $it: $how; check --read-data clean, $VERIFIED restore identical; next push ok"
done
info "$RUNS runs, $kills pushes killed while running (full push ${full_ms} ms)"
[ "$kills" -gt 0 ] || fail "no push was ever killed while running: the test proved nothing"

log "at the end: check --read-data, every snapshot restores, the list is the policy's"
verify_dst "at the end"
dst_ids | sort >"$LOGDIR/got"
diff -u "$LOGDIR/want" "$LOGDIR/got" >&2 || fail "the destination's snapshots are not the policy's"
info "$VERIFIED snapshots on the destination, as the policy says"
pass
