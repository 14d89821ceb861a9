#!/usr/bin/env bash
# t_escrow.sh: a repository whose master key is also sealed to a federation's escrow public
# key opens with the secret half alone, and refuses any other secret.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
T=$TESTDIR

log "escrow key pair, init with the public half"
cf key escrow-keygen >"$TESTDIR/kp" || fail "escrow-keygen failed"
pub=$(awk '/^public:/{print $2}' "$TESTDIR/kp")
awk '/^secret:/{print $2}' "$TESTDIR/kp" >"$TESTDIR/escrow.sec"
[ ${#pub} -eq 64 ] || fail "public key is not 64 hex digits: '$pub'"
cf init --escrow-key "$pub" >/dev/null || fail "init --escrow-key failed"
grep -qx 3 <<<"$(ls "$COFFRE_REPOSITORY/keys" | wc -l)" || fail "expected 3 key files (password, recovery, escrow)"

log "back up with the password, restore with the escrow secret only"
gen_data "$TESTDIR/src" --size tiny --seed 3
cf backup "$TESTDIR/src" -q || fail "backup failed"
unset COFFRE_PASSWORD_FILE
cf --escrow-key-file "$TESTDIR/escrow.sec" restore latest --target "$TESTDIR/r" -q ||
	fail "restore with the escrow key failed"
compare_trees "$TESTDIR/src" "$TESTDIR/r$T/src"

log "a wrong escrow secret is refused with exit 12"
printf '%064d\n' 0 >"$TESTDIR/wrong.sec"
expect_exit 12 cf --escrow-key-file "$TESTDIR/wrong.sec" snapshots
pass
