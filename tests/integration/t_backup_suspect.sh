#!/usr/bin/env bash
# t_backup_suspect.sh: `coffre backup` (no daemon) compares each changed file with its
# previous version: after a day of shop activity it exits 0 with no mark; after the test
# attacker encrypted the shop in place it still makes the snapshot, exits 5, names the first
# marked file on stderr and counts the marks in --json; a copy of the shop restored from the
# snapshot before is bit-exact.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
ATTACKER=$COFFRE_TOOLS/attacker
[ -x "$ATTACKER" ] || fail "no attacker tool at $ATTACKER"
SHOP_GEN=$COFFRE_TESTS/../../shared/bench/make-shop-data
[ -x "$SHOP_GEN" ] || skip "no make-shop-data beside the repository (../shared/bench)"
SRC=$TESTDIR/shop
expect_exit 0 cf init -q
python3 "$SHOP_GEN" --scale small --seed 5 "$SRC" >"$LOGDIR/gen.out" 2>&1 ||
	{ cat "$LOGDIR/gen.out"; fail "make-shop-data failed"; }
expect_exit 0 cf backup -q "$SRC"

log "a day of shop activity: no mark"
python3 "$SHOP_GEN" --mutate --day 1 --seed 5 "$SRC" >>"$LOGDIR/gen.out" 2>&1
expect_exit 0 cf --json backup "$SRC"
[ "$(json_get "$OUT" suspicious)" = False ] || [ "$(json_get "$OUT" suspicious)" = false ] ||
	{ cat "$OUT"; fail "a day of shop activity looks suspicious"; }
info "marks: format $(json_get "$OUT" suspect.format_broken), random $(json_get "$OUT" suspect.turned_random)"
CLEAN=$(snapshot_ids | tail -n 1)
cp -a "$SRC" "$TESTDIR/before"

log "after the attack: the snapshot is made, exit 5, the marks counted"
"$ATTACKER" --in-place --log "$LOGDIR/attack.log" "$SRC" >"$LOGDIR/attacker.out" 2>&1
expect_exit 5 cf --json backup "$SRC"
F=$(json_get "$OUT" suspect.format_broken)
R=$(json_get "$OUT" suspect.turned_random)
[ "$F" -ge 3 ] || [ "$R" -ge 3 ] || { cat "$OUT"; fail "too few marks: format $F, random $R"; }
grep -q "ransomware" "$ERR" || { cat "$ERR"; fail "no warning on stderr"; }
info "marks after the attack: format $F, random $R of $(wc -l <"$LOGDIR/attack.log") files encrypted"
[ "$(snapshot_ids | wc -l)" = 3 ] || fail "the suspicious snapshot was not made"
expect_exit 0 cf restore "$CLEAN" --target "$TESTDIR/back"
compare_trees "$TESTDIR/before" "$TESTDIR/back$SRC"
pass
