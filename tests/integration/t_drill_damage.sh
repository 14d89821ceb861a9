#!/usr/bin/env bash
# t_drill_damage.sh: damage on a folder destination only, each case on a fresh copy of it,
# makes the drill fail (exit 6), naming the destination and the file(s) and what was wrong,
# while the spool is untouched (coffre check --read-data on it passes):
#  (a) one byte flipped in the largest data pack: damaged_pack (or content) on files;
#  (b) that pack gone: missing_pack on files;
#  (c) the first backup's index objects truncated (the second's, which locates the latest
#      snapshot's changed folders, left): index on index/<id>, and on the files of those
#      folders whose content it located;
#  (d) the latest snapshot's tree pack gone (a backup where only a time changed adds no
#      data pack, only the trees): tree on the snapshot's root;
#  (e) a snapshot object damaged: snapshot, on snapshots/.
# The budget (8M) is above what the shop stores, so every file is in the drill's selection.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/drill.sh"
drill_setup
PRISTINE=$TESTDIR/pristine
drill_nas 53 "drill-budget = 8M"
log "a second backup, where only a time changed, pushed"
(cd "$NAS" && find data index -type f | sort) >"$LOGDIR/objects.1"
touch -d '2024-03-01 12:00' "$SRC/clients/notes.txt"
expect_exit 0 cf backup "$SRC" -q
expect_exit 0 cf push --config "$CONF"
(cd "$NAS" && find data index -type f | sort) >"$LOGDIR/objects.2"
TREEPACK=$(comm -13 "$LOGDIR/objects.1" "$LOGDIR/objects.2" | grep '^data/')
[ "$(grep -c '' <<<"$TREEPACK")" = 1 ] || fail "the second push added packs other than one tree pack"
OLDINDEX=$(grep '^index/' "$LOGDIR/objects.1")
DATAPACK=$(cd "$NAS" && find data -type f -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-)
[ "$DATAPACK" != "$TREEPACK" ] || fail "the largest pack is the tree pack"
info "largest data pack $DATAPACK, the latest snapshot's tree pack $TREEPACK"
cp -a "$NAS" "$PRISTINE"
expect_exit 0 cf --json drill --config "$CONF"
drill_passed "$OUT" nas
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]; c=r["chosen"]
sys.exit(c["databases"] + c["changed"] + c["rotation"] != r["snapshot_files"])' "$OUT" ||
	fail "the budget does not cover every file of the latest snapshot"

fresh() {
	rm -rf "$NAS"
	cp -a "$PRISTINE" "$NAS"
}

# damaged CASE KIND PATH_PATTERN: the drill exits 6; its report and its stderr name the
# destination and a failure of KIND whose path matches PATH_PATTERN (both regular
# expressions); the
# state records the failure; the spool still checks.
damaged() {
	local case=$1 kind=$2 pat=$3
	expect_exit 6 cf --json drill --config "$CONF"
	cp "$OUT" "$LOGDIR/drill.$case.json"
	python3 - "$OUT" "$kind" "$pat" <<'PY' || fail "($case) no '$kind' failure on a path like '$pat'"
import json, re, sys
r = json.load(open(sys.argv[1]))[0]
assert r["destination"] == "nas" and r["result"] == "failed", r["result"]
hits = [f for f in r["failures"]
        if re.fullmatch(sys.argv[2], f["kind"]) and re.search(sys.argv[3], f["path"])]
print("   %d failures, %d %s: %s" % (r["failure_count"], len(hits), sys.argv[2],
      "; ".join("%s: %s" % (f["path"], f["message"][:90]) for f in hits[:2])))
sys.exit(0 if hits else 1)
PY
	expect_exit 6 cf drill --config "$CONF"
	grep -Eq "^coffre: drill nas: .*: ($kind): " "$ERR" || { cat "$ERR" >&2; fail "($case) stderr names no $kind failure of nas"; }
	[ "$(json_get "$(ls "$STATE"/drill/*.json)" result)" = failed ] || fail "($case) the state does not say failed"
	no_scratch "$STATE/drill"
	expect_exit 0 cf check --read-data
}

log "(a) one byte flipped in the middle of $DATAPACK"
fresh
flip_byte "$NAS/$DATAPACK"
damaged a 'damaged_pack|content' "^$SRC/"

log "(b) $DATAPACK gone"
fresh
rm "$NAS/$DATAPACK"
damaged b missing_pack "^$SRC/"

log "(c) the first backup's index truncated: $OLDINDEX"
fresh
for i in $OLDINDEX; do truncate -s $(($(stat -c %s "$NAS/$i") / 2)) "$NAS/$i"; done
damaged c index '^index/[0-9a-f]{64}$'
damaged c index "^$SRC/clients/"

log "(d) the latest snapshot's tree pack $TREEPACK gone"
fresh
rm "$NAS/$TREEPACK"
damaged d tree '^/$'

log "(e) a snapshot object damaged (the other still drills)"
fresh
first=$(ls "$NAS/snapshots" | head -n 1)
flip_byte "$NAS/snapshots/$first"
damaged e snapshot '^snapshots/$'

log "repaired: the pristine copy drills again"
fresh
expect_exit 0 cf --json drill --config "$CONF"
drill_passed "$OUT" nas
pass
