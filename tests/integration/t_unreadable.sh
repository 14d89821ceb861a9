#!/usr/bin/env bash
# t_unreadable.sh: files that cannot be read, or change while read, make a partial snapshot,
# never a crash.
#  - a file chmod 000: backup exits 3, stderr names the file, the snapshot exists (partial:
#    true) and restores everything else identical;
#  - a large file appended to during the backup: exit 0 or 3, and the snapshot restores; the
#    stored content of that file is a prefix of its final content (at least its size when the
#    backup started if the backup said nothing).
# Root reads any file, so as root the test reruns itself as user nobody (setpriv or runuser)
# from a staging copy of the scripts (and of the binary if nobody cannot reach it); it skips
# (77) when that is impossible.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

if [ "$(id -u)" = 0 ]; then
	[ -z "${COFFRE_AS_NOBODY:-}" ] || fail "still root after dropping privileges"
	_find_coffre
	if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
		DROP=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	elif command -v runuser >/dev/null && runuser -u nobody -- true 2>/dev/null; then
		DROP=(runuser -u nobody --)
	else
		skip "running as root (which reads any file) and cannot drop privileges to nobody"
	fi
	STAGE=$(mktemp -d /tmp/coffre-stage.XXXXXX)
	trap 'rm -rf "$STAGE"' EXIT
	mkdir -p "$STAGE/tests/integration" "$STAGE/tmp"
	cp "$HERE/lib.sh" "$HERE/wait.sh" "$HERE/$(basename "$0")" "$STAGE/tests/integration/"
	cp "$COFFRE_TESTS/gen-data.py" "$STAGE/tests/"
	chmod 755 "$STAGE"
	chmod -R a+rX "$STAGE/tests"
	chmod 1777 "$STAGE/tmp"
	BIN=$COFFRE
	if ! "${DROP[@]}" test -x "$BIN"; then
		BIN=$STAGE/coffre
		cp "$COFFRE" "$BIN"
		chmod 755 "$BIN"
	fi
	"${DROP[@]}" test -x "$BIN" || skip "user nobody cannot run $COFFRE"
	"${DROP[@]}" test -w "$STAGE/tmp" || skip "user nobody cannot write in $STAGE/tmp"
	echo "running as root: rerunning as user nobody (${DROP[*]})"
	rc=0
	# The system's programs first: a python3 under root's home (pyenv) is out of nobody's reach.
	"${DROP[@]}" env COFFRE_AS_NOBODY=1 COFFRE="$BIN" COFFRE_TESTS="$STAGE/tests" TMPDIR="$STAGE/tmp" \
		HOME="$STAGE/tmp" PATH="/usr/local/bin:/usr/bin:/bin:$PATH" bash "$STAGE/tests/integration/$(basename "$0")" </dev/null || rc=$?
	exit "$rc"
fi

setup
SRC=$TESTDIR/data/src
SECRET=paie/coffre-fort.txt
mkdir -p "$TESTDIR/data"

log "init, generate a tiny tree with an unreadable file ($SECRET, mode 000)"
expect_exit 0 cf init
gen_data "$SRC" --seed 4 --size tiny
printf 'combinaison: 12-34-56\n' >"$SRC/$SECRET"
chmod 000 "$SRC/$SECRET"
if cat "$SRC/$SECRET" >/dev/null 2>&1; then
	skip "a mode 000 file is still readable here (uid $(id -u) has CAP_DAC_OVERRIDE?)"
fi

log "backup: exit 3, stderr names the file"
expect_exit 3 cf --json backup "$SRC"
grep -qF "coffre-fort.txt" "$ERR" || { cat "$ERR" >&2; fail "stderr does not name the unreadable file"; }
info "stderr: $(grep -F coffre-fort.txt "$ERR" | head -n 1)"
[ "$(json_get "$OUT" partial)" = true ] || fail "backup --json: partial is not true"
[ "$(json_get "$OUT" warnings)" != "[]" ] || fail "backup --json: no warnings"
S1=$(json_get "$OUT" snapshot)
check_hex64 "$S1" "snapshot of the partial backup"
snapshot_ids >"$LOGDIR/ids"
grep -qx "$S1" "$LOGDIR/ids" || fail "the partial snapshot is not listed"

log "the partial snapshot restores everything else"
expect_exit 0 cf restore "$S1" --target "$TESTDIR/r1"
compare_trees "$SRC" "$TESTDIR/r1$SRC" --exclude "$SECRET"
chmod -R u+rwX "$TESTDIR/r1"
rm -rf "$TESTDIR/r1"

log "a 40 MiB file appended to during the backup"
GROW=$TESTDIR/data/grow
mkdir -p "$GROW/sub"
python3 - "$GROW" <<'PY'
import os, random, sys
rng = random.Random("grow")
with open(os.path.join(sys.argv[1], "growing.log"), "wb") as f:
    for _ in range(40):
        f.write(rng.randbytes(1 << 20))
with open(os.path.join(sys.argv[1], "sub", "stable.txt"), "wb") as f:
    f.write(b"stable\n" * 1000)
PY
(while :; do echo "ligne ajoutee pendant la sauvegarde" >>"$GROW/growing.log"; done) &
WRITER=$!
BG_PIDS+=("$WRITER")
grown() { [ "$(stat -c %s "$GROW/growing.log")" -gt $((40 << 20)) ]; }
wait_for 30 "the writer appends to growing.log" grown
START_SIZE=$(stat -c %s "$GROW/growing.log")
expect_exit "0|3" cf --json backup "$GROW"
BRC=$RC
kill "$WRITER"
wait "$WRITER" 2>/dev/null || true
info "backup exit $BRC; warnings: $(json_try "$OUT" warnings)"
S2=$(json_get "$OUT" snapshot)
check_hex64 "$S2" "snapshot of the growing-file backup"
expect_exit 0 cf restore "$S2" --target "$TESTDIR/r2"
compare_trees "$GROW" "$TESTDIR/r2$GROW" --exclude growing.log
R=$TESTDIR/r2$GROW/growing.log
if [ -e "$R" ]; then
	RSIZE=$(stat -c %s "$R")
	info "stored $RSIZE bytes (size at start $START_SIZE, final $(stat -c %s "$GROW/growing.log"))"
	cmp -n "$RSIZE" "$R" "$GROW/growing.log" || fail "the stored growing file is not a prefix of the file"
	[ "$BRC" = 3 ] || [ "$RSIZE" -ge "$START_SIZE" ] ||
		fail "backup exited 0 but stored only $RSIZE of the $START_SIZE bytes the file had"
else
	[ "$BRC" = 3 ] || fail "growing.log is missing from a snapshot made without warning (exit 0)"
	info "growing.log left out of the snapshot (exit 3)"
fi

pass
