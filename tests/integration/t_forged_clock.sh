#!/usr/bin/env bash
# t_forged_clock.sh: snapshots dated ahead of the clock (a forged or wrong clock) neither
# evict genuine ones nor pass for the newest.
#  - five genuine daily snapshots (faketime, five past days, one a day), then three made with
#    the clock 30 days ahead of the real one (faketime -f +30d);
#  - `snapshots` flags the three (text "DATED IN THE FUTURE", --json "future": true) and only
#    them;
#  - `forget --keep-daily 3 --keep-within 0` keeps the three newest genuine days and the three
#    forged ones (kept as evidence, counted by no rule), removes the two oldest genuine;
#  - `restore latest` restores the newest genuine snapshot; a backup after that names it as
#    its parent, not a forged one;
#  - pushed to a folder destination, the destination's `snapshots` flags the same three.
# Needs faketime (libfaketime); under the sanitizer build (COFFRE_SANITIZE=1, gcc ASan)
# faketime runs with ASAN_OPTIONS=verify_asan_link_order=0, and the test skips when that does
# not work (clang ASan hangs under faketime).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
# python3 behind a version manager's shim can cost seconds a call: resolve it once, since
# manifests are made for every snapshot and every restore.
PY3=$(python3 -c 'import sys; print(sys.executable)') || fail "python3 does not run"
python3() { "$PY3" "$@"; }
command -v faketime >/dev/null || skip "faketime is not installed (package faketime)"
if [ "${COFFRE_SANITIZE:-0}" = 1 ]; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
	timeout 20 faketime -f '+30d' "$COFFRE" --version >/dev/null 2>&1 ||
		skip "the sanitizer build does not run under faketime here (clang ASan hangs, RECIPES.md 6)"
fi

SRC=$TESTDIR/data/src
DST=$TESTDIR/dst
MAN=$TESTDIR/manifests
mkdir -p "$SRC" "$MAN"

# at WHEN ARGS...: coffre with the clock set by faketime -f WHEN.
at() { faketime -f "$1" "$COFFRE" "${@:2}" </dev/null; }

# snap_as WHEN TAG: change the source, back up with the clock at WHEN; the id in $SID.
snap_as() {
	head -c $((64 << 10)) /dev/urandom >"$SRC/$2.bin"
	printf '%s\n' "$2" >>"$SRC/journal.txt"
	expect_exit 0 at "$1" --json backup "$SRC"
	SID=$(json_get "$OUT" snapshot)
	manifest "$SRC" >"$MAN/$SID"
}

expect_exit 0 cf init
now=$(date +%s)
log "five genuine daily snapshots, 10 to 6 days ago"
G=()
for k in 1 2 3 4 5; do
	day=$(date -u -d "@$((now - (11 - k) * 86400))" '+%Y-%m-%d 12:00:00')
	snap_as "@$day" "genuine-$k"
	G+=("$SID")
	info "genuine $k: ${G[-1]:0:8} at $day"
done
log "three snapshots with the clock 30 days ahead"
F=()
for k in 1 2 3; do
	snap_as "+30d" "forged-$k"
	F+=("$SID")
	info "forged $k: ${F[-1]:0:8}"
done

# flags_of ARGS...: "id future" lines of `snapshots --json` (ARGS: where), sorted; the text
# listing in $LOGDIR/list.txt.
flags_of() {
	"$COFFRE" "$@" --json snapshots >"$LOGDIR/list.json" </dev/null 2>"$LOGDIR/list.err" ||
		fail "snapshots --json $* failed"
	"$COFFRE" "$@" snapshots >"$LOGDIR/list.txt" </dev/null 2>"$LOGDIR/list.txt.err" ||
		fail "snapshots $* failed"
	python3 -c '
import json, sys
for s in json.load(open(sys.argv[1])):
    print(s["id"], "true" if s.get("future") is True else "false" if s.get("future") is False else "missing")
' "$LOGDIR/list.json" | sort
}
# want_flags ID... -- ID...: the expected lines for genuine IDs then forged IDs.
want_flags() {
	local id f=false
	for id in "$@"; do
		[ "$id" != -- ] || { f=true; continue; }
		echo "$id $f"
	done | sort
}
# check_listing WHAT WHERE...: the listing at WHERE flags exactly the forged ones.
check_listing() {
	local what=$1 id
	shift
	flags_of "$@" >"$LOGDIR/flags.got"
	diff -u "$LOGDIR/flags.want" "$LOGDIR/flags.got" >&2 ||
		fail "$what: snapshots --json does not say \"future\": true for exactly the forged ones"
	for id in "${F[@]}"; do
		grep -q "^${id:0:8} .*DATED IN THE FUTURE" "$LOGDIR/list.txt" ||
			{ cat "$LOGDIR/list.txt" >&2; fail "$what: the text listing does not flag ${id:0:8}"; }
	done
	[ "$(grep -c 'DATED IN THE FUTURE' "$LOGDIR/list.txt")" = "${#F[@]}" ] ||
		{ cat "$LOGDIR/list.txt" >&2; fail "$what: the text listing flags other snapshots"; }
	grep -q "${#F[@]} snapshots are dated more than 10 minutes in the future" \
		"$LOGDIR/list.txt.err" || { cat "$LOGDIR/list.txt.err" >&2; fail "$what: no warning on stderr"; }
	info "$what: the ${#F[@]} forged snapshots are flagged, the others not"
}

log "snapshots flags the forged ones"
want_flags "${G[@]}" -- "${F[@]}" >"$LOGDIR/flags.want"
check_listing "the spool"

log "forget --keep-daily 3 --keep-within 0: the three newest genuine and the forged ones stay"
expect_exit 0 cf forget --keep-daily 3 --keep-within 0
info "$(grep -c '' "$OUT") lines of report"
snapshot_ids | sort >"$LOGDIR/kept"
printf '%s\n' "${G[2]}" "${G[3]}" "${G[4]}" "${F[@]}" | sort >"$LOGDIR/kept.want"
diff -u "$LOGDIR/kept.want" "$LOGDIR/kept" >&2 ||
	fail "forget kept other snapshots than the three newest genuine and the three forged"
G=("${G[2]}" "${G[3]}" "${G[4]}")

log "restore latest: the newest genuine snapshot"
expect_exit 0 cf restore latest --target "$TESTDIR/r"
manifest "$TESTDIR/r$SRC" >"$LOGDIR/restored"
diff -u "$MAN/${G[2]}" "$LOGDIR/restored" >"$LOGDIR/restored.diff" ||
	{ head -20 "$LOGDIR/restored.diff" >&2; fail "restore latest is not the newest genuine snapshot ${G[2]:0:8}"; }
info "latest restored ${G[2]:0:8}, identical"

log "a backup now takes the newest genuine snapshot as its parent"
head -c 4096 /dev/urandom >"$SRC/today.bin"
expect_exit 0 cf --json backup "$SRC"
parent=$(json_get "$OUT" parent)
[ "$parent" = "${G[2]}" ] || fail "the backup's parent is ${parent:0:8}, not the newest genuine ${G[2]:0:8}"
N=$(json_get "$OUT" snapshot)
manifest "$SRC" >"$MAN/$N"
G+=("$N")
info "backup ${N:0:8}, parent ${parent:0:8}"

log "pushed to a folder destination: its listing flags the forged ones too"
expect_exit 0 cf push --to "$DST"
want_flags "${G[@]}" -- "${F[@]}" >"$LOGDIR/flags.want"
check_listing "the spool after the backup"
check_listing "the destination" --repo "$DST"
expect_exit 0 "$COFFRE" --repo "$DST" restore latest --target "$TESTDIR/r2"
manifest "$TESTDIR/r2$SRC" >"$LOGDIR/restored2"
diff -u "$MAN/$N" "$LOGDIR/restored2" >/dev/null ||
	fail "restore latest from the destination is not the newest genuine snapshot ${N:0:8}"
info "restore latest from the destination: ${N:0:8}"
pass
