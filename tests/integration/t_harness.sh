#!/usr/bin/env bash
# t_harness.sh: checks the test harness itself (lib.sh, gen-data.py), without running coffre:
# compare_trees must accept an exact copy (cp -a) and catch each kind of deliberate
# difference (mode, mtime, content byte, symlink target, missing empty dir, broken or merged
# hard links, names with newline or non-UTF-8 bytes, owner as root); is_sparse must tell a
# sparse copy from a dense one; gen-data.py must be deterministic.
# Runs without a coffre binary:  bash tests/integration/t_harness.sh
set -euo pipefail
[ -x "${COFFRE:-}" ] || COFFRE=/bin/true
. "$(dirname "$0")/lib.sh"
setup

A=$TESTDIR/a
log "generate a tiny tree"
gen_data "$A" --seed 5 --size tiny
j=$TESTDIR/junk
mkdir -p "$A/extra/empty dir"
ln -s "$(printf 'cible\nbizarre\xff')" "$A/extra/odd link"
touch -h -d @1600000000 "$A/extra/odd link"
touch -d @1600000000 "$A/extra/empty dir" "$A/extra"
if [ "$(id -u)" = 0 ]; then
	printf 'owned\n' >"$A/extra/owned.txt"
	chown 4242:4343 "$A/extra/owned.txt"
	touch -d @1600000000 "$A/extra/owned.txt" "$A/extra"
fi
touch -d @1600000000 "$A"

is_sparse "$A/compta/archive-2019.img" || skip "the filesystem of $TESTDIR does not keep sparse files"

fresh() { rm -rf "$TESTDIR/b"; cp -a --sparse=always "$A" "$TESTDIR/b"; B=$TESTDIR/b; }

log "an exact copy compares equal"
fresh
compare_trees "$A" "$B"
is_sparse "$B/compta/archive-2019.img" || fail "cp --sparse=always copy is not sparse"

log "gen-data.py is deterministic"
gen_data "$TESTDIR/a2" --seed 5 --size tiny
mkdir -p "$TESTDIR/a2/extra"
touch -d @1600000000 "$TESTDIR/a2"
manifest "$TESTDIR/a2" --exclude extra >"$TESTDIR/m2"
manifest "$A" --exclude extra >"$TESTDIR/m1"
diff "$TESTDIR/m1" "$TESTDIR/m2" >/dev/null || fail "same seed gave different trees"
gen_data "$TESTDIR/a3" --seed 6 --size tiny
manifest "$TESTDIR/a3" >"$TESTDIR/m3"
! diff -q "$TESTDIR/m1" "$TESTDIR/m3" >/dev/null || fail "different seeds gave the same tree"
for d in 1 2; do
	gen_data --mutate "$TESTDIR/a2" --day $d
	gen_data --mutate "$TESTDIR/a3" --day $d
done
rm -rf "$TESTDIR/a3"
gen_data "$TESTDIR/a3" --seed 5 --size tiny
mkdir -p "$TESTDIR/a3/extra"
gen_data --mutate "$TESTDIR/a3" --day 1
gen_data --mutate "$TESTDIR/a3" --day 2
touch -d @1600000000 "$TESTDIR/a2" "$TESTDIR/a3"
compare_trees "$TESTDIR/a2" "$TESTDIR/a3" --exclude extra
rm -rf "$TESTDIR/a2" "$TESTDIR/a3"

# must_differ WHAT [LINES]: compare_trees A B must fail (in a subshell: fail exits), with
# LINES (default 2: one entry changed) differing manifest lines, so only the intended
# difference was made.
must_differ() {
	if (compare_trees "$A" "$B" >"$j" 2>&1); then
		fail "compare_trees did not catch: $1"
	fi
	local n
	n=$(grep -c '^[-+][^-+]' "$j" || true)
	[ "$n" = "${2:-2}" ] || { cat "$j" >&2; fail "case '$1': $n differing lines, expected ${2:-2}"; }
	info "caught: $1"
}
# same_time REF PATH...: give PATHs the mtime of REF (lstat: works on dangling symlinks).
same_time() {
	python3 - "$@" <<'PY'
import os, sys
st = os.lstat(sys.argv[1])
for p in sys.argv[2:]:
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
PY
}

log "deliberate differences are caught"
fresh; chmod 0600 "$B/clients/notes.txt"; must_differ "changed file mode"
fresh; chmod 0700 "$B/divers"; must_differ "changed directory mode"
fresh; touch -d @1500000000 "$B/paie/bulletin-2021-01.txt"; must_differ "changed file mtime"
fresh; touch -d @1500000000 "$B/factures"; must_differ "changed directory mtime"
fresh; touch -h -d @1500000000 "$B/clients/dernier contrat"; must_differ "changed symlink mtime"
fresh
python3 - "$B/compta/grand-livre.db" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(os.path.getsize(sys.argv[1]) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 1]))
PY
touch -r "$A/compta/grand-livre.db" "$B/compta/grand-livre.db"
must_differ "one content byte flipped (same size and mtime)"
fresh; rm "$B/clients/dernier contrat"; ln -s ../compta/autre.txt "$B/clients/dernier contrat"
same_time "$A/clients/dernier contrat" "$B/clients/dernier contrat"
same_time "$A/clients" "$B/clients"
must_differ "changed symlink target"
fresh; rmdir "$B/corbeille"; touch -r "$A" "$B"; must_differ "missing empty directory" 1
fresh; rmdir "$B/extra/empty dir"; touch -r "$A/extra" "$B/extra"; must_differ "missing empty directory (nested)" 1
fresh
cp -p "$B/paie/contrat-cadre.txt" "$j.copy"
rm "$B/paie/contrat-cadre.txt"
mv "$j.copy" "$B/paie/contrat-cadre.txt"
touch -r "$A/paie" "$B/paie"
must_differ "one name of a 3-link group made a separate copy (same content, mode, mtime)"
fresh
for f in "clients/contrat-cadre (lien).txt" paie/contrat-cadre.txt; do
	cp -p "$B/$f" "$j.copy"; rm "$B/$f"; mv "$j.copy" "$B/$f"
done
same_time "$A/clients" "$B/clients"; same_time "$A/paie" "$B/paie"
must_differ "all hard links broken into copies" 6
fresh
rm "$B/paie/bulletin-2021-02.txt"; cp -p "$B/paie/bulletin-2021-01.txt" "$B/paie/bulletin-2021-02.txt"
touch -r "$A/paie" "$B/paie"
manifest "$B" >"$j.m1"
rm "$B/paie/bulletin-2021-02.txt"; ln "$B/paie/bulletin-2021-01.txt" "$B/paie/bulletin-2021-02.txt"
touch -r "$A/paie" "$B/paie"
manifest "$B" >"$j.m2"
[ "$(diff "$j.m1" "$j.m2" | grep -c '^[<>]')" = 4 ] || fail "two equal files hard-linked together not caught"
info "caught: two equal separate files made hard links"
fresh; : >"$B/vide-2.txt"; touch -r "$A" "$B"; must_differ "extra empty file" 1
fresh; rm "$B/vide.txt"; touch -r "$A" "$B"; must_differ "missing empty file" 1
fresh
mv "$B/divers/note"$'\n'"ligne 2.txt" "$B/divers/note ligne 2.txt"
touch -r "$A/divers" "$B/divers"
must_differ "newline in a name replaced by a space"
fresh
python3 - "$B/divers" <<'PY'
import os, sys
d = os.fsencode(sys.argv[1])
os.rename(os.path.join(d, b"r\xe9sum\xe9 latin1.txt"), os.path.join(d, "résumé latin1.txt".encode()))
PY
touch -r "$A/divers" "$B/divers"
must_differ "non-UTF-8 name re-encoded as UTF-8"
fresh; rm "$B/extra/odd link"; ln -s "$(printf 'cible\nbizarre?')" "$B/extra/odd link"
touch -h -d @1600000000 "$B/extra/odd link"; touch -d @1600000000 "$B/extra"
must_differ "non-UTF-8 byte in a symlink target"
fresh; rm "$B/clients/lien casse"; : >"$B/clients/lien casse"
same_time "$A/clients/lien casse" "$B/clients/lien casse"
same_time "$A/clients" "$B/clients"
must_differ "dangling symlink replaced by an empty file"
fresh; truncate -s +1 "$B/vide.txt"; touch -r "$A/vide.txt" "$B/vide.txt"; must_differ "size change"
if [ "$(id -u)" = 0 ]; then
	fresh; chown 0:0 "$B/extra/owned.txt"; must_differ "changed owner (root only)"
else
	info "not root: owner is not compared (skipped that case)"
fi

log "lost sparseness is is_sparse's job, not compare_trees'"
rm -rf "$TESTDIR/b"
cp -a --sparse=never "$A" "$TESTDIR/b"
compare_trees "$A" "$TESTDIR/b"
! is_sparse "$TESTDIR/b/compta/archive-2019.img" || fail "is_sparse says a dense copy is sparse"
is_sparse "$A/compta/archive-2019.img" || fail "is_sparse says the sparse original is dense"

log "expect_exit and json_get"
expect_exit 3 bash -c 'echo out; echo err >&2; exit 3'
[ "$(cat "$OUT")" = out ] && [ "$(cat "$ERR")" = err ] && [ "$RC" = 3 ] || fail "expect_exit capture"
expect_exit "0|3" bash -c 'exit 0'
if (expect_exit 0 bash -c 'exit 4' >/dev/null 2>&1); then fail "expect_exit accepted a wrong code"; fi
printf '{"a": {"b": [1, {"c": "x y"}]}, "t": true, "n": null}' >"$j"
[ "$(json_get "$j" a.b.1.c)" = "x y" ] && [ "$(json_get "$j" t)" = true ] &&
	[ "$(json_get "$j" n)" = null ] && [ "$(json_get "$j" a.b.0)" = 1 ] || fail "json_get"
if (json_get "$j" a.zz >/dev/null 2>&1); then fail "json_get accepted a missing key"; fi

pass
