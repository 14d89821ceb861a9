#!/usr/bin/env bash
# t_backup_sealed.sh: the packer's second opinion on changed files. Once a push with
# --clear-spool removed the spool's data packs, a backup cannot read any previous version to
# profile it; it still sees, from the index, that those versions compressed. After a day of
# shop activity it marks nothing (exit 0); after the test attacker encrypted the shop in place,
# the new chunks did not compress and share nothing with the old ones: exit 5, the files
# counted as turned random and as turned incompressible.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
ATTACKER=$COFFRE_TOOLS/attacker
[ -x "$ATTACKER" ] || fail "no attacker tool at $ATTACKER"
SHOP_GEN=$COFFRE_TESTS/../../shared/bench/make-shop-data
[ -x "$SHOP_GEN" ] || skip "no make-shop-data beside the repository (../shared/bench)"
SRC=$TESTDIR/shop
DEST=$TESTDIR/usb
expect_exit 0 cf init -q
python3 "$SHOP_GEN" --scale small --seed 7 "$SRC" >"$LOGDIR/gen.out" 2>&1 ||
	{ cat "$LOGDIR/gen.out"; fail "make-shop-data failed"; }
expect_exit 0 cf backup -q "$SRC"
expect_exit 0 cf push -q --to "$DEST" --clear-spool
packs=$(find "$COFFRE_REPOSITORY/data" -type f | wc -l)
info "data packs left in the spool after --clear-spool: $packs"

log "a day of shop activity, nothing to profile against: no mark"
python3 "$SHOP_GEN" --mutate --day 1 --seed 7 "$SRC" >>"$LOGDIR/gen.out" 2>&1
expect_exit 0 cf --json backup "$SRC"
[ "$(json_get "$OUT" suspect.turned_incompressible)" = 0 ] ||
	{ cat "$OUT"; fail "a day of shop activity turned incompressible"; }
[ "$(json_get "$OUT" suspect.turned_random)" = 0 ] ||
	{ cat "$OUT"; fail "a day of shop activity turned random"; }
expect_exit 0 cf push -q --to "$DEST" --clear-spool

log "after the attack: exit 5, the files told by the packer"
"$ATTACKER" --in-place --log "$LOGDIR/attack.log" "$SRC" >"$LOGDIR/attacker.out" 2>&1
n=$(wc -l <"$LOGDIR/attack.log")
expect_exit 5 cf --json backup "$SRC"
S=$(json_get "$OUT" suspect.turned_incompressible)
R=$(json_get "$OUT" suspect.turned_random)
info "of $n files encrypted: $S turned incompressible, $R turned random"
[ "$S" -ge 3 ] || { cat "$OUT"; fail "too few files turned incompressible: $S"; }
[ "$R" -ge "$S" ] || { cat "$OUT"; fail "turned random ($R) does not count them ($S)"; }
grep -q "ransomware" "$ERR" || { cat "$ERR"; fail "no warning on stderr"; }
pass
