#!/usr/bin/env bash
# t_escrow.sh: a repository whose master key is also sealed to a federation's escrow public
# key opens with the secret half and the fingerprint recorded at enrollment, and refuses any
# other secret; a repository forged by someone holding only the public half (in keys/, in
# clear) is refused, since its fingerprint is not on the escrow holder's list.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
T=$TESTDIR

log "escrow key pair, init with the public half"
cf key escrow-keygen >"$TESTDIR/kp" || fail "escrow-keygen failed"
pub=$(awk '/^public:/{print $2}' "$TESTDIR/kp")
awk '/^secret:/{print $2}' "$TESTDIR/kp" >"$TESTDIR/escrow.sec"
[ ${#pub} -eq 64 ] || fail "public key is not 64 hex digits: '$pub'"
cf init --escrow-key "$pub" >"$TESTDIR/init.out" || fail "init --escrow-key failed"
fp=$(sed -n 's/^Escrow fingerprint (for the escrow holder.s list): //p' "$TESTDIR/init.out")
[[ $fp =~ ^[0-9a-f]{4}(-[0-9a-f]{4}){7}$ ]] || fail "init printed no escrow fingerprint: '$fp'"
[ "$(cf key escrow-fingerprint)" = "$fp" ] || fail "key escrow-fingerprint differs from init's"
printf '# enrolled shops\nboulangerie-martin %s\n' "$fp" >"$TESTDIR/enrolled"
grep -qx 3 <<<"$(ls "$COFFRE_REPOSITORY/keys" | wc -l)" || fail "expected 3 key files (password, recovery, escrow)"

log "back up with the password, restore with the escrow secret and the recorded list"
gen_data "$TESTDIR/src" --size tiny --seed 3
cf backup "$TESTDIR/src" -q || fail "backup failed"
unset COFFRE_PASSWORD_FILE
cf --escrow-key-file "$TESTDIR/escrow.sec" --escrow-fingerprints "$TESTDIR/enrolled" \
	restore latest --target "$TESTDIR/r" -q || fail "restore with the escrow key failed"
compare_trees "$TESTDIR/src" "$TESTDIR/r$T/src"

log "the escrow secret alone, without the list, is a usage error"
expect_exit 2 cf --escrow-key-file "$TESTDIR/escrow.sec" snapshots

log "a wrong escrow secret is refused with exit 12"
printf '%064d\n' 0 >"$TESTDIR/wrong.sec"
expect_exit 12 cf --escrow-key-file "$TESTDIR/wrong.sec" --escrow-fingerprints "$TESTDIR/enrolled" snapshots

log "a repository forged with the public half alone is refused, naming its fingerprint"
printf 'attacker\n' >"$TESTDIR/apw"
FORGED=$TESTDIR/forged
cf --repo "$FORGED" -p "$TESTDIR/apw" init --escrow-key "$pub" >/dev/null || fail "forged init failed"
mkdir -p "$TESTDIR/evil"
printf 'planted\n' >"$TESTDIR/evil/payload"
cf --repo "$FORGED" -p "$TESTDIR/apw" backup "$TESTDIR/evil" -q || fail "forged backup failed"
set +e
cf --repo "$FORGED" --escrow-key-file "$TESTDIR/escrow.sec" --escrow-fingerprints "$TESTDIR/enrolled" \
	restore latest --target "$TESTDIR/rf" >"$TESTDIR/forged.out" 2>"$TESTDIR/forged.err"
rc=$?
set -e
[ "$rc" = 12 ] || { cat "$TESTDIR/forged.err"; fail "forged repository: exit $rc, expected 12"; }
grep -q "not among those recorded at enrollment" "$TESTDIR/forged.err" ||
	{ cat "$TESTDIR/forged.err"; fail "the refusal does not say why"; }
[ ! -e "$TESTDIR/rf" ] || fail "something was restored from the forged repository"
pass
