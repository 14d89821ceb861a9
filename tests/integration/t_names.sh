#!/usr/bin/env bash
# t_names.sh: awkward names and shapes survive backup and restore.
# Tree: spaces (leading, trailing, double), newline, tab, ':', '\', '*?[', a leading '-',
# non-UTF-8 names (file, dir, symlink target), NFC and NFD forms of one name side by side,
# 255-byte names (ASCII and multibyte, file and dir), a ~3000-byte path, empty files, an empty
# dir, hard links, symlinks (relative, absolute, dangling, to a dir), a 5 GiB sparse file with
# bytes written at 0, 4 GiB + 1 and the last byte, and (as root) owners other than root.
# Checks: restore is identical (compare_trees), the big file is sparse after restore with the
# same content, the restore used little space (du), restore --include of one awkward subtree.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

SRC=$TESTDIR/data/src
BIGF=sparse/cinq-gigas.img
mkdir -p "$TESTDIR/data"

log "build the tree"
python3 - "$SRC" <<'PY'
import os, sys
root = os.fsencode(sys.argv[1])
os.makedirs(root)
def j(*a):
    return os.path.join(root, *[x if isinstance(x, bytes) else x.encode() for x in a])
def w(path, data=b"", mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
os.mkdir(j("noms"))
names = ["avec espace.txt", " espace devant.txt", "espace derriere.txt ", "deux  espaces.txt",
         "ligne1\nligne2.txt", "tab\there.txt", "heure 10:30:00.txt", "c:\\windows\\chemin.txt",
         "etoile*question?crochet[1].txt", "-rf", "--help", "...", ".cache", "#commentaire",
         "'apostrophe'", '"guillemets"', "$(echo non)", "emoji \U0001F4BE.txt", "Ünïcödé ñ.txt",
         "\u00e9t\u00e9 NFC.txt", "e\u0301te\u0301 NFD.txt"]
for i, n in enumerate(names):
    w(j("noms", n), ("%d %s\n" % (i, n)).encode("utf-8"))
for n in (b"latin1 \xe9t\xe9.txt", b"\xff\xfe invalid.bin", b"ctrl \x01\x1b[31m.txt"):
    w(j("noms", n), n + b"\n")
os.mkdir(j("noms", b"dossier \xe0 latin1"))
w(j("noms", b"dossier \xe0 latin1", "dedans.txt"), b"inside a non-UTF-8 dir\n")
# 255-byte names
os.mkdir(j("longs"))
w(j("longs", "a" * 255), b"255 ASCII bytes\n")
w(j("longs", "\u00e9" * 127 + "x"), b"255 bytes of UTF-8\n")
os.mkdir(j("longs", "D" * 255))
w(j("longs", "D" * 255, "f" * 255), b"255/255\n")
# a ~3000-byte path: 11 directories of 250 bytes
p = j("chemin-long")
for i in range(11):
    p = os.path.join(p, ("%02d" % i).encode() + b"d" * 248)
os.makedirs(p)
w(os.path.join(p, b"fin.txt"), b"end of a long path\n")
# empty files and dir
os.mkdir(j("vides"))
w(j("vides", "vide-1"))
w(j("vides", "vide 2.txt"), b"", 0o600)
os.mkdir(j("vides", "dossier vide"))
# hard links: a group of 3 (one in another dir) and a pair with an awkward name
os.mkdir(j("liens"))
w(j("liens", "original.txt"), b"hard-linked content\n" * 100, 0o640)
os.link(j("liens", "original.txt"), j("liens", "lien 1.txt"))
os.link(j("liens", "original.txt"), j("noms", "lien dur\nnewline.txt"))
w(j("liens", "paire a"), b"pair\n")
os.link(j("liens", "paire a"), j("liens", "paire b"))
# symlinks
os.symlink("original.txt", j("liens", "relatif"))
os.symlink("/etc/hostname", j("liens", "absolu"))
os.symlink("../nulle/part", j("liens", "casse"))
os.symlink("../noms", j("liens", "vers dossier"))
os.symlink(b"cible \xe9\ncassee", j("liens", "cible bizarre"))
# modes
os.mkdir(j("modes"))
for m in (0o600, 0o640, 0o644, 0o700, 0o750, 0o755, 0o444, 0o4755, 0o2755, 0o1777):
    w(j("modes", "mode-%04o" % m), b"m\n", m)
os.mkdir(j("modes", "dir-0700"))
os.chmod(j("modes", "dir-0700"), 0o700)
os.mkdir(j("modes", "dir-1777"))
os.chmod(j("modes", "dir-1777"), 0o1777)
# owners (only root can set them)
if os.geteuid() == 0:
    w(j("modes", "owned-4242"), b"owner 4242:4343\n")
    os.chown(j("modes", "owned-4242"), 4242, 4343)
    os.lchown(j("liens", "relatif"), 4242, 4343)
    os.chown(j("modes", "dir-0700"), 1234, 1234)
# 5 GiB sparse file
os.mkdir(j("sparse"))
size = 5 << 30
with open(j("sparse", "cinq-gigas.img"), "wb") as f:
    f.truncate(size)
    for off, data in ((0, b"debut"), ((4 << 30) + 1, b"milieu"), (size - 1, b"Z")):
        f.seek(off)
        f.write(data)
# fixed mtimes, bottom-up (symlinks too)
t = 1500000000
for dp, dns, fns in os.walk(root, topdown=False):
    for n in fns + dns:
        t += 7
        os.utime(os.path.join(dp, n), (t, t), follow_symlinks=False)
os.utime(root, (t + 1, t + 1))
PY
is_sparse "$SRC/$BIGF" || skip "the filesystem of $TESTDIR does not keep a 5 GiB file sparse"
info "source: $(du -sk "$SRC" | cut -f1) KiB on disk, $(find "$SRC" -printf . | wc -c) entries"

log "init, backup"
expect_exit 0 cf init
t0=$SECONDS
expect_exit 0 cf --json backup "$SRC"
info "backup took $((SECONDS - t0)) s, bytes_read $(json_try "$OUT" bytes_read), bytes_stored $(json_try "$OUT" bytes_stored)"

log "restore, compare"
t0=$SECONDS
# Bit-exact, setuid and setgid modes included (left out by default: see t_privileges).
expect_exit 0 cf restore latest --target "$TESTDIR/r" --keep-privileges
info "restore took $((SECONDS - t0)) s"
R=$TESTDIR/r$SRC
compare_trees "$SRC" "$R"
is_sparse "$R/$BIGF" || fail "the 5 GiB file is not sparse after restore ($(du -k "$R/$BIGF" | cut -f1) KiB allocated)"
python3 - "$R/$BIGF" <<'PY' || fail "the restored 5 GiB file has wrong bytes"
import os, sys
size = 5 << 30
with open(sys.argv[1], "rb") as f:
    assert os.fstat(f.fileno()).st_size == size, "size"
    for off, data in ((0, b"debut"), ((4 << 30) + 1, b"milieu"), (size - 1, b"Z"), (1 << 30, b"\0" * 16)):
        f.seek(off)
        got = f.read(len(data))
        assert got == data, "at %d: %r != %r" % (off, got, data)
PY
used=$(du -sk "$TESTDIR/r" | cut -f1)
info "restore uses $used KiB on disk"
[ "$used" -lt $((64 * 1024)) ] || fail "the restore uses $used KiB on disk (5 GiB written out?)"

log "restore --include of one awkward subtree"
INC=$SRC/noms/$'dossier \xe0 latin1'
expect_exit 0 cf restore latest --target "$TESTDIR/ri" --include "$INC"
[ -f "$TESTDIR/ri$INC/dedans.txt" ] || fail "--include did not restore $INC/dedans.txt"
cmp "$INC/dedans.txt" "$TESTDIR/ri$INC/dedans.txt" || fail "--include restored wrong content"
[ ! -e "$TESTDIR/ri$SRC/$BIGF" ] || fail "--include restored files outside the included path"
[ ! -e "$TESTDIR/ri$SRC/longs" ] || fail "--include restored a directory outside the included path"

pass
