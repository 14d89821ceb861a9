#!/usr/bin/env bash
# crash-loop.sh N: kill -9 backup, prune and push at random moments, N times, and check that
# nothing committed is ever lost. On demand, not part of ctest (see README.md here).
#
# The source is a small shop (/work/shared/bench/make-shop-data --scale small, ~72 MB) that
# gets one business day of changes (--mutate --day K) before each backup. The operations come
# in rotation: backup; forget --keep-last 3 + prune; push --to a local folder; push --to a
# FAT32 drive image (usb:LABEL, needs root and fusefat); push --to s3rver (needs node). Each
# kind's normal run time T is measured once at the start; in the loop the run is killed with
# SIGKILL at a random moment in [0, 1.2 T]. Then:
#   - `coffre check` on the spool exits 0;
#   - the next run succeeds (backup again, prune again, push again to the same destination);
#   - after a push, `coffre --repo DEST check` exits 0;
#   - every 10 iterations and at the end, every listed snapshot of the spool restores
#     identical to the copy of the source it was made from.
# Environment: COFFRE_CRASH_SEED (default 1) seeds the delays; COFFRE_CRASH_BUDGET (seconds,
# default none) stops the loop cleanly once used; KEEP=1 keeps the test dir (it is always kept
# on a failure). Exits 0 when all is well, 1 on the first failure, 77 if it cannot run.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
TEST_NAME=crash-loop

RUNS=${1:-200}
[[ $RUNS =~ ^[0-9]+$ ]] || { echo "usage: $0 N" >&2; exit 2; }
BUDGET=${COFFRE_CRASH_BUDGET:-0}
SEED=${COFFRE_CRASH_SEED:-1}
RANDOM=$SEED
SHOP=${COFFRE_SHOP_DATA:-/work/shared/bench/make-shop-data}
[ -x "$SHOP" ] || { echo "SKIP: $TEST_NAME: no $SHOP (set COFFRE_SHOP_DATA)"; exit 77; }
SERVERS=$COFFRE_TESTS/servers
setup

T0=$SECONDS
LANDED=0
EARLY=0
FAILURES=0
DONE=0
summary() {
	printf 'crash-loop: seed %s, %d iterations: %d kills landed mid-run, %d finished before the kill, %d failures, %d s\n' \
		"$SEED" "$DONE" "$LANDED" "$EARLY" "$FAILURES" $((SECONDS - T0))
}
# A failure stops the loop (the repository is then suspect): summary, and the dir is kept.
fail() {
	FAILURES=$((FAILURES + 1))
	printf 'FAIL: %s: %s\n' "$TEST_NAME" "$*" >&2
	summary
	KEEP=1
	exit 1
}

SRC=$TESTDIR/data/shop
COPIES=$TESTDIR/copies
NAS=$TESTDIR/nas
mkdir -p "$TESTDIR/data" "$COPIES"

# Destinations that cannot be set up here are left out of the rotation, with a message.
KINDS=(backup prune push-dir)
SUF=$(od -An -N2 -tx2 /dev/urandom | tr -d ' ' | tr a-f A-F)
USB=CRASH$SUF
LOOPS=()
S3=
cleanup_hook() {
	# rc is the exit code in _cleanup (lib.sh), the caller: keep the dir after a failure.
	[ "${rc:-0}" = 0 ] || [ "$rc" = 77 ] || KEEP=1
	[ ! -f "$TESTDIR/s3/s3rver.pid" ] || "$SERVERS/s3rver.sh" stop "$TESTDIR/s3" 2>/dev/null || true
	usb_release
}
if [ "$(id -u)" != 0 ]; then
	info "push-usb left out: needs root (loop device for the FAT32 image)"
elif ! [ -c /dev/fuse ] || ! command -v fusefat >/dev/null || ! command -v mkfs.vfat >/dev/null; then
	info "push-usb left out: needs /dev/fuse, fusefat and dosfstools"
else
	truncate -s 2G "$TESTDIR/usb.img"
	mkfs.vfat -F 32 -n "$USB" "$TESTDIR/usb.img" >/dev/null || fail "mkfs.vfat failed"
	if dev=$(losetup -f --show "$TESTDIR/usb.img" 2>/dev/null); then
		LOOPS+=("$dev")
		KINDS+=(push-usb)
	else
		info "push-usb left out: losetup cannot attach an image here"
	fi
fi
if ! command -v node >/dev/null; then
	info "push-s3 left out: node is not installed"
else
	if [ ! -x "$SERVERS/node_modules/.bin/s3rver" ]; then
		log "npm ci --prefix tests/servers"
		npm ci --prefix "$SERVERS" >"$LOGDIR/npm.log" 2>&1 || { tail -n 20 "$LOGDIR/npm.log" >&2; fail "npm ci failed"; }
	fi
	export COFFRE_S3_KEYS_FILE=$TESTDIR/s3keys
	printf 'S3RVER\nS3RVER\n' >"$COFFRE_S3_KEYS_FILE"
	chmod 600 "$COFFRE_S3_KEYS_FILE"
	PORT=$("$SERVERS/s3rver.sh" start "$TESTDIR/s3" coffre) || fail "s3rver did not start"
	S3=s3://127.0.0.1:$PORT/coffre/shop
	KINDS+=(push-s3)
fi
info "rotation: ${KINDS[*]}"

dest() { # KIND: the --to of a push kind
	case $1 in
	push-dir) echo "$NAS" ;;
	push-usb) echo "usb:$USB" ;;
	push-s3) echo "$S3" ;;
	esac
}

declare -A COPY=()	# snapshot id -> copy of the source it was made from
KNOWN=$LOGDIR/known	# ids listed after the previous adopt_new
DAY=0

# new_day: one business day of changes to the source, and a copy of it ($COPIES/$DAY).
new_day() {
	DAY=$((DAY + 1))
	"$SHOP" --mutate --day "$DAY" --seed "$SEED" "$SRC" >"$LOGDIR/mutate.out" 2>&1 ||
		{ cat "$LOGDIR/mutate.out" >&2; fail "make-shop-data --mutate --day $DAY failed"; }
	cp -a --reflink=auto "$SRC" "$COPIES/$DAY"
}

# adopt_new: map the snapshots that appeared since $KNOWN to the copy of day $DAY; drop the
# copies that no listed snapshot uses any more.
adopt_new() {
	local id d used
	snapshot_ids >"$LOGDIR/now"
	while read -r id; do
		if ! grep -qx "$id" "$KNOWN"; then
			[ -z "${COPY[$id]:-}" ] || fail "snapshot $id appeared twice"
			COPY[$id]=$COPIES/$DAY
		fi
	done <"$LOGDIR/now"
	mv "$LOGDIR/now" "$KNOWN"
	for d in "$COPIES"/*; do
		used=0
		while read -r id; do
			[ "${COPY[$id]:-}" != "$d" ] || { used=1; break; }
		done <"$KNOWN"
		[ $used = 1 ] || rm -rf "$d"
	done
}

# backup_ok: a backup that must succeed and whose snapshot is made from today's copy.
backup_ok() {
	local id
	expect_exit 0 cf --json backup "$SRC"
	id=$(json_get "$OUT" snapshot)
	adopt_new
	[ "${COPY[$id]:-}" = "$COPIES/$DAY" ] || fail "the new snapshot $id is not listed"
	BACKUP_ID=$id
}

# prepare KIND: what precedes the run that may be killed.
prepare() {
	case $1 in
	backup) new_day ;;
	prune) expect_exit 0 cf forget --keep-last 3 --keep-within 0 ;;
	push-*) new_day; backup_ok ;;
	esac
}

# start KIND: start the run in the background; its pid in PID.
start() {
	local out=$LOGDIR/run.out
	case $1 in
	backup) "$COFFRE" backup "$SRC" >"$out" 2>&1 </dev/null & ;;
	prune) "$COFFRE" prune >"$out" 2>&1 </dev/null & ;;
	push-*) "$COFFRE" push --to "$(dest "$1")" >"$out" 2>&1 </dev/null & ;;
	esac
	PID=$!
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# measure KIND: one normal run, timed; the kill window of the kind is 1.2 times that.
declare -A WINDOW=()
measure() {
	local t rc=0
	prepare "$1"
	t=$(now_ms)
	start "$1"
	wait "$PID" || rc=$?
	t=$(($(now_ms) - t))
	[ $rc = 0 ] || { cat "$LOGDIR/run.out" >&2; fail "$1 (measured run) exited $rc"; }
	[ "$1" != backup ] || adopt_new
	WINDOW[$1]=$((t * 12 / 10))
	info "$1: $t ms, kills in [0, ${WINDOW[$1]}] ms"
}

# restore_all: every listed snapshot of the spool restores identical to its copy.
restore_all() {
	local id ids n=0
	mapfile -t ids <"$KNOWN"
	[ "${#ids[@]}" -ge 1 ] || fail "no snapshot left"
	for id in "${ids[@]}"; do
		[ -n "${COPY[$id]:-}" ] || fail "unknown snapshot $id"
		rm -rf "$TESTDIR/r"
		expect_exit 0 cf restore "$id" --target "$TESTDIR/r"
		compare_trees "${COPY[$id]}" "$TESTDIR/r$SRC" >/dev/null
		n=$((n + 1))
	done
	rm -rf "$TESTDIR/r"
	RESTORED=$n
}

log "init, generate the shop (make-shop-data --scale small), first backup and pushes"
expect_exit 0 cf init
"$SHOP" --scale small --seed "$SEED" "$SRC" >"$LOGDIR/shop.out" 2>&1 ||
	{ cat "$LOGDIR/shop.out" >&2; fail "make-shop-data failed"; }
cp -a --reflink=auto "$SRC" "$COPIES/0"
snapshot_ids >"$KNOWN"
backup_ok
for k in "${KINDS[@]}"; do
	case $k in push-*) expect_exit 0 cf push --to "$(dest "$k")" ;; esac
done

log "normal run times (after one day of changes)"
# prune last, once the other runs have added the snapshots that forget then drops.
for k in "${KINDS[@]}"; do [ "$k" = prune ] || measure "$k"; done
measure prune

if [ "$BUDGET" -gt 0 ]; then log "$RUNS iterations (seed $SEED, budget $BUDGET s)"; else log "$RUNS iterations (seed $SEED)"; fi
LOOP0=$SECONDS
for it in $(seq 1 "$RUNS"); do
	if [ "$BUDGET" -gt 0 ] && [ $((SECONDS - LOOP0)) -ge "$BUDGET" ]; then
		info "time budget of ${BUDGET} s used: stopping after $DONE iterations"
		break
	fi
	kind=${KINDS[$(((it - 1) % ${#KINDS[@]}))]}
	prepare "$kind"
	win=${WINDOW[$kind]}
	ms=$(((RANDOM * 32768 + RANDOM) % (win + 1)))
	start "$kind"
	# Not a wait: the kill lands at a random moment of the run, on purpose.
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -9 "$PID" 2>/dev/null || true
	krc=0
	wait "$PID" 2>/dev/null || krc=$?
	case $krc in
	137) LANDED=$((LANDED + 1)); how="killed at $ms ms" ;;
	0) EARLY=$((EARLY + 1)); how="finished before the kill at $ms ms" ;;
	*) cat "$LOGDIR/run.out" >&2; fail "iteration $it: $kind exited $krc before the kill at $ms ms" ;;
	esac
	cp "$LOGDIR/run.out" "$LOGDIR/run.$it.out"
	expect_exit 0 cf check
	what="check ok"
	case $kind in
	backup)
		backup_ok
		what="$what, backup ${BACKUP_ID:0:8} ok"
		;;
	prune)
		expect_exit 0 cf prune
		adopt_new
		[ "$(wc -l <"$KNOWN")" -le 3 ] || fail "iteration $it: more than 3 snapshots after forget --keep-last 3 + prune"
		what="$what, prune ok"
		;;
	push-*)
		d=$(dest "$kind")
		expect_exit 0 cf push --to "$d"
		expect_exit 0 cf --repo "$d" check
		what="$what, push ok, check of the destination ok"
		;;
	esac
	if [ $((it % 10)) = 0 ]; then
		restore_all
		what="$what, $RESTORED snapshots restore identical"
	fi
	info "iteration $it: $kind $how (window ${win} ms), $what"
	DONE=$it
done

log "check --read-data, every snapshot restores identical to its copy"
expect_exit 0 cf check --read-data
restore_all
info "$RESTORED snapshots restore identical"
summary
[ "$DONE" -lt 10 ] || [ "$LANDED" -gt 0 ] || fail "no process was ever killed while running: the run proved nothing"
pass
