#!/usr/bin/env bash
# t_push_clear_readback.sh: --clear-spool removes a spool pack only once every destination's
# copy reads back with the key. A destination whose pack has the right name and size but
# wrong bytes (a damaged drive, or a server that lies in its listing) keeps the spool's copy,
# and the damaged pack is named; a healthy pack is cleared as before.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
NAS=$TESTDIR/nas
expect_exit 0 cf init
gen_data "$TESTDIR/src" --size tiny --seed 5
cf backup "$TESTDIR/src" -q || fail "backup failed"
cf push --to "$NAS" -q || fail "first push failed"

# The data packs are the ones clearing removes (tree packs stay for incremental backups):
# find them by clearing a copy of the spool against a copy of the destination.
cp -a "$COFFRE_REPOSITORY" "$TESTDIR/probe"
cf --repo "$TESTDIR/probe" push --to "$NAS" --clear-spool -q || fail "probe clear failed"
mapfile -t packs < <(cd "$COFFRE_REPOSITORY" && find data -type f ! -name '*.tmp' | sort)
bad=
for p in "${packs[@]}"; do [ -e "$TESTDIR/probe/$p" ] || { bad=$p; break; }; done
[ -n "$bad" ] || fail "clearing removes no pack here"
log "the destination's copy of $bad gets other bytes of the same size"
size=$(stat -c %s "$NAS/$bad")
head -c "$size" /dev/urandom >"$NAS/$bad.new"
mv "$NAS/$bad.new" "$NAS/$bad"

set +e
cf push --to "$NAS" --clear-spool >"$LOGDIR/out" 2>"$LOGDIR/err"
rc=$?
set -e
info "push --clear-spool exit $rc: $(cat "$LOGDIR/err")"
[ -f "$COFFRE_REPOSITORY/$bad" ] || fail "the spool's copy of the damaged pack was removed"
[ "$rc" != 0 ] || fail "clearing said nothing about the damaged pack"
grep -q "$bad does not read back" "$LOGDIR/err" || { cat "$LOGDIR/err"; fail "the damaged pack is not named"; }
cf restore latest --target "$TESTDIR/r" -q || fail "the spool no longer restores"
compare_trees "$TESTDIR/src" "$TESTDIR/r$TESTDIR/src"

log "once the destination's copy is sound again, clearing removes the spool's"
cp "$COFFRE_REPOSITORY/$bad" "$NAS/$bad"
cf push --to "$NAS" --clear-spool -q || fail "clearing a sound destination failed"
[ ! -e "$COFFRE_REPOSITORY/$bad" ] || fail "the pack was kept although the destination's copy is sound"
pass
