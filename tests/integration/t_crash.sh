#!/usr/bin/env bash
# t_crash.sh: kill -9 at random moments never breaks the repository.
# COFFRE_CRASH_RUNS iterations (default 30; the loop also stops after COFFRE_CRASH_BUDGET
# seconds, default 200), each: change the ~30 MB source a little and save a copy of it; start
# `backup` (or, every third iteration, `forget --keep-last 2` then `prune`) in the background
# and kill -9 it after a random 0-300 ms; then `check` must exit 0 and a new backup must
# succeed. Every snapshot that appears during an iteration (from the killed backup or the
# successful one) was made from that iteration's copy. At the end `check --read-data` exits 0
# and every listed snapshot restores identical to its copy. COFFRE_CRASH_SEED (default 1)
# seeds the delays.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

RUNS=${COFFRE_CRASH_RUNS:-30}
BUDGET=${COFFRE_CRASH_BUDGET:-200}
RANDOM=${COFFRE_CRASH_SEED:-1}
SRC=$TESTDIR/data/src
COPIES=$TESTDIR/copies
mkdir -p "$TESTDIR/data" "$COPIES"

log "init, generate ~30 MB (small tree + 10 MiB scan)"
expect_exit 0 cf init
gen_data "$SRC" --seed 31 --size small
head -c $((10 << 20)) /dev/urandom >"$SRC/scans/gros-scan.bin"

declare -A COPY=()      # snapshot id -> copy it was made from
KNOWN=$LOGDIR/known     # ids listed after the previous iteration

expect_exit 0 cf --json backup "$SRC"
cp -a --sparse=always "$SRC" "$COPIES/0"
COPY[$(json_get "$OUT" snapshot)]=$COPIES/0
snapshot_ids >"$KNOWN"

# adopt_new ITER: map the snapshots that appeared since $KNOWN to copy ITER; forget copies
# that no listed snapshot uses any more.
adopt_new() {
	local it=$1 id d
	snapshot_ids >"$LOGDIR/now"
	while read -r id; do
		if ! grep -qx "$id" "$KNOWN"; then
			[ -z "${COPY[$id]:-}" ] || fail "snapshot $id appeared twice"
			COPY[$id]=$COPIES/$it
		fi
	done <"$LOGDIR/now"
	mv "$LOGDIR/now" "$KNOWN"
	for d in "$COPIES"/*; do
		local used=0
		while read -r id; do
			[ "${COPY[$id]:-}" != "$d" ] || { used=1; break; }
		done <"$KNOWN"
		[ $used = 1 ] || rm -rf "$d"
	done
}

start=$SECONDS
kills=0
done_runs=0
for it in $(seq 1 "$RUNS"); do
	if [ $((SECONDS - start)) -ge "$BUDGET" ]; then
		info "time budget of ${BUDGET}s used: stopping after $done_runs iterations"
		break
	fi
	gen_data --mutate "$SRC" --day "$it" --seed 31
	dd if=/dev/urandom of="$SRC/scans/gros-scan.bin" bs=64k count=16 conv=notrunc status=none \
		seek=$((RANDOM % 144))
	cp -a --sparse=always "$SRC" "$COPIES/$it"
	ms=$((RANDOM % 301))
	if [ $((it % 3)) = 0 ]; then
		what=prune
		expect_exit 0 cf forget --keep-last 2 --keep-within 0
		"$COFFRE" prune >"$LOGDIR/killed.$it.out" 2>&1 </dev/null &
	else
		what=backup
		"$COFFRE" backup "$SRC" >"$LOGDIR/killed.$it.out" 2>&1 </dev/null &
	fi
	pid=$!
	# Not a wait: the kill lands at a random moment of the run, on purpose.
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -9 "$pid" 2>/dev/null || true
	krc=0
	wait "$pid" 2>/dev/null || krc=$?
	case $krc in
	137) kills=$((kills + 1)); how="killed after ${ms} ms" ;;
	0) how="finished before the kill at ${ms} ms" ;;
	*) cat "$LOGDIR/killed.$it.out" >&2; fail "iteration $it: $what exited $krc before the kill" ;;
	esac
	expect_exit 0 cf check
	expect_exit 0 cf --json backup "$SRC"
	id=$(json_get "$OUT" snapshot)
	adopt_new "$it"
	[ "${COPY[$id]:-}" = "$COPIES/$it" ] || fail "iteration $it: the new snapshot $id is not listed"
	info "iteration $it: $what $how, check ok, backup ${id:0:8} ok"
	done_runs=$it
done
info "$done_runs iterations, $kills processes killed while running"
[ "$done_runs" -lt 10 ] || [ "$kills" -gt 0 ] || fail "no process was ever killed while running: the test proved nothing"

log "check --read-data"
expect_exit 0 cf check --read-data

log "every snapshot restores identical to its copy"
mapfile -t IDS <"$KNOWN"
[ "${#IDS[@]}" -ge 1 ] || fail "no snapshot left"
for id in "${IDS[@]}"; do
	[ -n "${COPY[$id]:-}" ] || fail "unknown snapshot $id"
	rm -rf "$TESTDIR/r"
	expect_exit 0 cf restore "$id" --target "$TESTDIR/r"
	compare_trees "${COPY[$id]}" "$TESTDIR/r$SRC"
done
rm -rf "$TESTDIR/r"

pass
