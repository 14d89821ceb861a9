#!/usr/bin/env bash
# t_clear_spool_retention.sh: retention reaches a destination from a spool whose data packs
# push --clear-spool removed (the spool keeps the index and the packs of the trees). The spool keeps 3
# snapshots ([backup] keep-last = 3), the folder destination 2 ([destination nas]
# keep-last = 2). After five backups, each followed by the spool's forget --prune and a push
# --clear-spool:
#  - each place holds exactly the snapshots its policy keeps;
#  - the scans of the first two snapshots, in packs no remaining snapshot uses, are deleted
#    from the destination (its packs shrink by their size);
#  - the destination checks --read-data clean, and restores both its snapshots bit-exact on
#    a fresh cache.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
SRC=$TESTDIR/src
NAS=$TESTDIR/nas
CONF=$TESTDIR/coffre.conf
mkdir -p "$SRC" "$NAS"
chmod 600 "$COFFRE_PASSWORD_FILE"
cat >"$CONF" <<EOF2
[backup]
path = $SRC
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
schedule = daily 03:00
keep-last = 3
keep-within = 0
[destination nas]
url = $NAS
keep-last = 2
EOF2
expect_exit 0 cf init -q
snaps() { cf --repo "$1" --json snapshots >"$LOGDIR/snaps.json" && python3 -c 'import json,sys; print(" ".join(s["id"][:8] for s in json.load(open(sys.argv[1]))))' "$LOGDIR/snaps.json"; }
packs_bytes() { du -sb "$1/data" | cut -f1; }

ids=()
for day in 1 2 3 4 5; do
	log "day $day: a backup, the spool's retention, a push that clears the spool"
	rm -f "$SRC"/scan-*.bin
	# Each of the first two days holds a scan of its own (4 MiB, incompressible), gone the
	# next day, and the day's invoice: their pack is dead once that day's snapshot is
	# forgotten everywhere (a pack still partly used stays as it is).
	[ "$day" -gt 2 ] || head -c 4194304 /dev/urandom >"$SRC/scan-$day.bin"
	echo "FAC-0000$day total $((day * 12)).00" >"$SRC/facture-du-jour.txt"
	expect_exit 0 cf backup "$SRC" -q
	rm -rf "$TESTDIR/copy.$day"
	cp -a "$SRC" "$TESTDIR/copy.$day"
	expect_exit 0 cf --json snapshots
	ids+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[-1]["id"])' "$OUT")")
	expect_exit 0 cf forget --keep-last 3 --keep-within 0 --prune
	expect_exit 0 cf push --config "$CONF" --clear-spool
	[ "$day" != 2 ] || PEAK=$(packs_bytes "$NAS")
done
# What the spool keeps of its packs: those of the trees, not the scans'.
[ "$(packs_bytes "$COFFRE_REPOSITORY")" -lt 1048576 ] ||
	fail "the spool still holds file data: $(packs_bytes "$COFFRE_REPOSITORY") bytes of packs"

log "each place holds what its policy keeps"
want_spool="${ids[2]:0:8} ${ids[3]:0:8} ${ids[4]:0:8}"
want_nas="${ids[3]:0:8} ${ids[4]:0:8}"
[ "$(snaps "$COFFRE_REPOSITORY")" = "$want_spool" ] || fail "spool: $(snaps "$COFFRE_REPOSITORY"), not $want_spool"
[ "$(snaps "$NAS")" = "$want_nas" ] || fail "nas: $(snaps "$NAS"), not $want_nas"

log "the scans' packs are gone from the destination"
END=$(packs_bytes "$NAS")
info "the destination's packs: $PEAK bytes on day 2, $END on day 5"
[ $((PEAK - END)) -ge $((2 * 4194304)) ] || fail "the two scans' 8 MiB were not deleted ($PEAK then $END)"

log "the destination checks clean and restores its snapshots bit-exact"
export XDG_CACHE_HOME=$TESTDIR/cache2
expect_exit 0 cf --repo "$NAS" check --read-data
for day in 4 5; do
	expect_exit 0 cf --repo "$NAS" restore "${ids[$((day - 1))]}" --target "$TESTDIR/r$day"
	compare_trees "$TESTDIR/copy.$day" "$TESTDIR/r$day$SRC"
done
pass
