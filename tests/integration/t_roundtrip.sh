#!/usr/bin/env bash
# t_roundtrip.sh: init, back up a generated shop tree, then three days of changes each followed
# by a backup; every snapshot must restore identical to a copy of the source taken right after
# its backup (names, types, modes, mtimes, content, symlinks, hard links, owners as root), the
# sparse file must stay sparse; restore --verify, ls, dump (tar, zip), find and diff must agree
# with the data. COFFRE_DATA_SIZE=tiny|small (default small).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

SIZE=${COFFRE_DATA_SIZE:-small}
SRC=$TESTDIR/data/src
COPIES=$TESTDIR/copies
SPARSE=compta/archive-2019.img
DB=compta/grand-livre.db
SENTINEL=facture-2021-0001.txt
mkdir -p "$TESTDIR/data" "$COPIES"

log "init"
expect_exit 0 cf --json init
[ -n "$(json_get "$OUT" recovery_key)" ] || fail "init --json gave no recovery_key"
[ -n "$(json_get "$OUT" id)" ] || fail "init --json gave no id"

log "generate a $SIZE tree"
gen_data "$SRC" --seed 7 --size "$SIZE"
is_sparse "$SRC/$SPARSE" || skip "the filesystem of $TESTDIR does not keep sparse files"

declare -A COPY=()      # snapshot id -> copy of the source taken right after its backup
ORDER=()                # snapshot ids in backup order
backup_day() {
	local day=$1 id
	expect_exit 0 cf --json backup "$SRC"
	id=$(json_get "$OUT" snapshot)
	check_hex64 "$id" "backup --json snapshot"
	[ -z "${COPY[$id]:-}" ] || fail "backup of day $day returned an existing snapshot id $id"
	cp -a --sparse=always "$SRC" "$COPIES/$day"
	COPY[$id]=$COPIES/$day
	ORDER+=("$id")
	info "day $day: snapshot ${id:0:12}, files new/changed/unchanged" \
		"$(json_try "$OUT" files_new)/$(json_try "$OUT" files_changed)/$(json_try "$OUT" files_unchanged)," \
		"bytes_added $(json_try "$OUT" bytes_added)"
}

log "backup day 0"
backup_day 0
[ "$(json_get "$OUT" parent)" = null ] || fail "first backup has a parent"
for day in 1 2 3; do
	log "mutate day $day, backup"
	gen_data --mutate "$SRC" --day "$day" --seed 7
	backup_day "$day"
	[ "$(json_get "$OUT" parent)" = "${ORDER[$((day - 1))]}" ] ||
		fail "backup of day $day: parent is not the previous snapshot"
	[ "$(json_get "$OUT" files_changed)" -ge 1 ] || fail "day $day: no file counted as changed"
done

log "snapshots --json lists the 4 snapshots"
snapshot_ids >"$LOGDIR/ids"
mapfile -t IDS <"$LOGDIR/ids"
[ "${#IDS[@]}" = 4 ] || fail "expected 4 snapshots, got ${#IDS[@]}"
for id in "${IDS[@]}"; do
	[ -n "${COPY[$id]:-}" ] || fail "snapshots lists an unknown snapshot $id"
done

log "restore every snapshot by id and compare with its copy"
i=0
for id in "${IDS[@]}"; do
	i=$((i + 1))
	name=$id
	[ $i != 2 ] || name=${id:0:8}          # one by unique prefix
	T=$TESTDIR/restore/$i
	expect_exit 0 cf restore "$name" --target "$T"
	grep -q '^restored ' <<<"$(tail -n 1 "$OUT")" || fail "restore: last stdout line does not start with 'restored '"
	compare_trees "${COPY[$id]}" "$T$SRC"
	is_sparse "$T$SRC/$SPARSE" || fail "restored $SPARSE is not sparse ($(du -k "$T$SRC/$SPARSE" | cut -f1) KiB allocated)"
	rm -rf "$T"
done
LAST=${ORDER[3]}
LASTCOPY=${COPY[$LAST]}

log "restore latest --verify"
expect_exit 0 cf restore latest --target "$TESTDIR/restore/v" --verify
compare_trees "$LASTCOPY" "$TESTDIR/restore/v$SRC"
rm -rf "$TESTDIR/restore/v"

log "ls"
expect_exit 0 cf ls latest
for p in "$SRC/$DB" "$SRC/$SPARSE" "$SRC/factures/2021/01/$SENTINEL" "$SRC/vide.txt" "$SRC/corbeille" \
	"$SRC/clients/dernier contrat"; do
	grep -qxF -- "$p" "$OUT" || fail "ls latest does not list $p"
done
expect_exit 0 cf ls latest "$SRC/compta"
grep -qxF -- "$SRC/$DB" "$OUT" || fail "ls latest $SRC/compta does not list the db"
! grep -qF -- "$SRC/paie/" "$OUT" || fail "ls latest $SRC/compta lists files outside it"
expect_exit 0 cf --json ls latest
python3 - "$OUT" "$LASTCOPY" "$SRC" <<'PY' || fail "ls --json does not match the source"
import json, os, stat, sys
try:
    listing = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
except ValueError as e:
    sys.exit("ls --json output is not valid UTF-8 JSON (the tree has a non-UTF-8 name): %s" % e)
copy, src = sys.argv[2], sys.argv[3]
got = {e["path"]: e for e in listing}
under = [p for p in got if p.startswith(src + "/")]
want = {}
for dp, dns, fns in os.walk(os.fsencode(copy)):
    for n in dns + fns:
        p = os.path.join(dp, n)
        want[os.path.relpath(p, os.fsencode(copy))] = os.lstat(p)
if len(under) != len(want):
    sys.exit("ls --json: %d entries under %s, the source has %d" % (len(under), src, len(want)))
types = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink"}
bad = 0
for rel, st in want.items():
    try:
        name = rel.decode("utf-8")
    except UnicodeDecodeError:
        continue                        # JSON encoding of non-UTF-8 names is not specified
    e = got.get(src + "/" + name)
    if e is None:
        print("missing from ls --json:", repr(name)); bad += 1; continue
    if e["type"] != types.get(stat.S_IFMT(st.st_mode), "other"):
        print("wrong type:", repr(name), e["type"]); bad += 1
    if e["type"] == "file" and e["size"] != st.st_size:
        print("wrong size:", repr(name), e["size"], st.st_size); bad += 1
    if e["type"] != "symlink" and int(str(e["mode"]), 8) & 0o7777 != stat.S_IMODE(st.st_mode):
        print("wrong mode:", repr(name), e["mode"], oct(stat.S_IMODE(st.st_mode))); bad += 1
    mt = e.get("mtime")              # a number of seconds is checked; other forms are not
    if isinstance(mt, (int, float)) and int(mt) != st.st_mtime_ns // 10**9:
        print("wrong mtime:", repr(name), mt, st.st_mtime); bad += 1
sys.exit(1 if bad else 0)
PY

log "dump / --format tar"
if ! cf dump latest / --format tar | tar -tf - >"$LOGDIR/tar.list"; then
	fail "dump latest / --format tar | tar -tf - failed"
fi
for p in "$DB" "$SPARSE" "factures/2021/01/$SENTINEL" "vide.txt"; do
	grep -qxF -- "${SRC#/}/$p" "$LOGDIR/tar.list" || fail "tar listing lacks ${SRC#/}/$p"
done
! grep -q '^/' "$LOGDIR/tar.list" || fail "tar member names start with '/'"
cf dump latest / --format tar >"$TESTDIR/all.tar" || fail "dump --format tar to a file failed"
for p in "$DB" "factures/2021/01/$SENTINEL"; do
	a=$(tar -xOf "$TESTDIR/all.tar" "${SRC#/}/$p" | sha256sum | cut -d' ' -f1)
	b=$(sha256sum <"$LASTCOPY/$p" | cut -d' ' -f1)
	[ "$a" = "$b" ] || fail "content of $p in the tar dump differs from the source"
done
rm -f "$TESTDIR/all.tar"
if ! cf dump latest "$SRC/compta" --format tar | tar -tf - >"$LOGDIR/tar2.list"; then
	fail "dump latest $SRC/compta --format tar failed"
fi
grep -qxF -- "${SRC#/}/$DB" "$LOGDIR/tar2.list" || fail "tar of $SRC/compta lacks the db"
! grep -qF "/factures/" "$LOGDIR/tar2.list" || fail "tar of $SRC/compta holds files outside it"

log "dump / --format zip"
cf dump latest / --format zip >"$TESTDIR/all.zip" || fail "dump --format zip failed"
python3 -m zipfile -l "$TESTDIR/all.zip" >"$LOGDIR/zip.list" || fail "python3 -m zipfile -l cannot read the zip"
grep -qF "${SRC#/}/$DB" "$LOGDIR/zip.list" || fail "zip listing lacks the db"
python3 - "$TESTDIR/all.zip" "${SRC#/}/$DB" "$LASTCOPY/$DB" <<'PY' || fail "zip content check failed"
import hashlib, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
if bad:
    sys.exit("bad CRC in zip member %s" % bad)
if hashlib.sha256(z.read(sys.argv[2])).digest() != hashlib.sha256(open(sys.argv[3], "rb").read()).digest():
    sys.exit("db content in the zip differs")
PY
rm -f "$TESTDIR/all.zip"

log "find $SENTINEL in all snapshots"
expect_exit 0 cf find "$SENTINEL"
python3 - "$OUT" "${IDS[@]}" <<'PY' || fail "find does not find $SENTINEL in every snapshot"
import sys
shorts = [l.split(b" ", 1)[0].decode() for l in open(sys.argv[1], "rb").read().splitlines() if l.strip()]
missing = [i for i in sys.argv[2:] if not any(s and i.startswith(s) for s in shorts)]
if missing:
    sys.exit("not found in: %s (output short ids: %s)" % (missing, shorts))
for l in open(sys.argv[1], "rb").read().splitlines():
    if l.strip() and not l.endswith(b"/facture-2021-0001.txt"):
        sys.exit("unexpected line %r" % l)
PY
expect_exit 0 cf --json find "$SENTINEL"
python3 - "$OUT" "${IDS[@]}" <<'PY' || fail "find --json does not find $SENTINEL in every snapshot"
import json, sys
res = json.load(open(sys.argv[1]))
snaps = [r["snapshot"] for r in res]
missing = [i for i in sys.argv[2:] if not any(s and i.startswith(s) for s in snaps)]
if missing or len(res) != len(sys.argv) - 2:
    sys.exit("results %s, missing %s" % (snaps, missing))
PY

log "diff day 0 -> day 1"
expect_exit 0 cf diff "${ORDER[0]}" "${ORDER[1]}"
grep -qxF -- "M $SRC/$DB" "$OUT" || fail "diff does not show 'M $SRC/$DB'"
python3 - "$OUT" "${COPY[${ORDER[0]}]}" "${COPY[${ORDER[1]}]}" "$SRC" <<'PY' || fail "diff output does not match the changes"
import os, stat, sys, hashlib
lines = set(open(sys.argv[1], "rb").read().splitlines())
a, b, src = (os.fsencode(x) for x in sys.argv[2:5])
def tree(root):
    res = {}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            st = os.lstat(p)
            c = hashlib.sha256(open(p, "rb").read()).hexdigest() if stat.S_ISREG(st.st_mode) else \
                os.readlink(p) if stat.S_ISLNK(st.st_mode) else None
            res[os.path.relpath(p, root)] = (stat.S_IFMT(st.st_mode), st.st_mode, st.st_size if c else 0,
                                             st.st_mtime_ns // 10**9, c)
    return res
ta, tb = tree(a), tree(b)
bad = 0
def need(line):
    """line, or the same sign on an ancestor directory (a whole subtree added or removed)."""
    global bad
    sign, path = line[:2], line[2:]
    cands = [line]
    while True:
        path = os.path.dirname(path)
        if len(path) <= len(src):
            break
        cands += [sign + path, sign + path + b"/"]
    if not any(c in lines for c in cands):
        print("missing diff line: %r" % line); bad += 1
for p in ta.keys() | tb.keys():
    if b"\n" in p:
        continue
    full = src + b"/" + p
    isdir = (ta.get(p) or tb.get(p))[0] == stat.S_IFDIR
    if p not in tb:
        if not isdir: need(b"- " + full)
    elif p not in ta:
        if not isdir: need(b"+ " + full)
    elif ta[p] != tb[p]:
        if not isdir: need(b"M " + full)
    elif not isdir:
        for pre in (b"+ ", b"- ", b"M "):
            if pre + full in lines:
                print("unchanged entry in diff: %r" % (pre + full)); bad += 1
sys.exit(1 if bad else 0)
PY

pass
