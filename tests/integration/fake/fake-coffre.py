#!/usr/bin/env python3
"""fake-coffre.py: a slow, unencrypted stand-in for coffre that follows /tmp/cli-contract.md
closely enough to run the integration scripts against it (COFFRE=.../fake-coffre.py bash
t_x.sh). It exists to prove the test scripts' own logic before (or besides) the real
binary; it is not a reference implementation. Blobs are fixed 64 KiB chunks stored one per
"pack" file data/xx/<sha256>; snapshots hold their whole node list; no encryption (the
password is only compared with a stored hash); no locks."""

import fnmatch, hashlib, json, os, secrets, socket, stat, sys, tarfile, time, zipfile, io, errno

CHUNK = 64 * 1024
# FAKE_BUG=name[,name...] injects a known bug, to prove that the test scripts catch it.
BUGS = set(filter(None, os.environ.get("FAKE_BUG", "").split(",")))
E_OK, E_ERR, E_USAGE, E_PARTIAL, E_INTEGRITY, E_NOREPO, E_LOCKED, E_KEY = 0, 1, 2, 3, 4, 10, 11, 12


class Die(Exception):
    def __init__(self, code, msg):
        self.code, self.msg = code, msg


def err(msg):
    sys.stderr.buffer.write(b"coffre: " + (msg if isinstance(msg, bytes) else msg.encode(
        "utf-8", "surrogateescape")) + b"\n")
    sys.stderr.flush()


def out(b):
    sys.stdout.buffer.write(b if isinstance(b, bytes) else b.encode("utf-8", "surrogateescape"))


def hx(b):
    return b.hex()


def unhx(s):
    return bytes.fromhex(s)


def H(b):
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------- argument parsing
GLOBAL_VAL = {"--repo", "--password-file", "--recovery-key-file"}
GLOBAL_FLAG = {"--json", "-q", "--quiet"}


def parse(argv):
    g = {"json": False}
    rest = []
    i = 0
    while i < len(argv):
        a = argv[i]
        name, eq, val = a.partition("=")
        if name in GLOBAL_VAL:
            if not eq:
                i += 1
                if i >= len(argv):
                    raise Die(E_USAGE, "%s needs a value" % a)
                val = argv[i]
            g[name[2:].replace("-", "_")] = val
        elif a in GLOBAL_FLAG:
            g["json" if a == "--json" else "quiet"] = True
        else:
            rest.append(a)
        i += 1
    return g, rest


def opts(args, spec):
    """spec: {"--name": "val"|"flag"|"multi"}; returns (dict, positionals)."""
    o, pos = {}, []
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and a != "-":
            name, eq, val = a.partition("=")
            if name not in spec:
                raise Die(E_USAGE, "unknown option %s" % name)
            kind = spec[name]
            if kind == "flag":
                o[name] = True
            else:
                if not eq:
                    i += 1
                    if i >= len(args):
                        raise Die(E_USAGE, "%s needs a value" % name)
                    val = args[i]
                if kind == "multi":
                    o.setdefault(name, []).append(val)
                else:
                    o[name] = val
        else:
            pos.append(a)
        i += 1
    return o, pos


# ---------------------------------------------------------------- repository
class Repo:
    def __init__(self, g, must_exist=True):
        self.path = g.get("repo") or os.environ.get("COFFRE_REPOSITORY")
        if not self.path:
            raise Die(E_USAGE, "no repository given (--repo or COFFRE_REPOSITORY)")
        self.g = g
        if must_exist:
            if not os.path.isfile(os.path.join(self.path, "config")):
                raise Die(E_NOREPO, "no repository at %s" % self.path)
            self.auth()

    def p(self, *a):
        return os.path.join(self.path, *a)

    def secret(self):
        g = self.g
        if g.get("recovery_key_file"):
            with open(g["recovery_key_file"]) as f:
                return "rk", f.read().strip()
        pf = g.get("password_file") or os.environ.get("COFFRE_PASSWORD_FILE")
        if pf:
            with open(pf, "rb") as f:
                pw = f.read()
            return "pw", pw.rstrip(b"\n").decode("utf-8", "surrogateescape")
        if "COFFRE_PASSWORD" in os.environ:
            return "pw", os.environ["COFFRE_PASSWORD"]
        raise Die(E_USAGE, "no password (use --password-file, COFFRE_PASSWORD_FILE or COFFRE_PASSWORD)")

    def auth(self):
        if "lockfirst" in BUGS:
            with open(self.p("lock"), "w") as f:
                f.write("x")
        kind, s = self.secret()
        with open(self.p("keys", kind)) as f:
            k = json.load(f)
        if H((k["salt"] + s).encode("utf-8", "surrogateescape")) != k["hash"]:
            raise Die(E_KEY, "wrong password" if kind == "pw" else "wrong recovery key")

    def write_atomic(self, rel, data):
        path = self.p(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = os.path.join(os.path.dirname(path), ".tmp-%s" % secrets.token_hex(6))
        if "torn" in BUGS and rel.startswith("data"):
            tmp = path
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            if tmp != path:
                os.rename(tmp, path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def set_key(self, kind, s):
        salt = secrets.token_hex(8)
        self.write_atomic(os.path.join("keys", kind), json.dumps(
            {"salt": salt, "hash": H((salt + s).encode("utf-8", "surrogateescape"))}).encode())

    def packs(self):
        res = {}
        d = self.p("data")
        for sub in sorted(os.listdir(d)):
            for n in sorted(os.listdir(os.path.join(d, sub))):
                if not n.startswith(".tmp"):
                    res[n] = os.path.join("data", sub, n)
        return res

    def index(self):
        ids = set()
        d = self.p("index")
        if os.path.isdir(d):
            for n in os.listdir(d):
                if not n.startswith(".tmp"):
                    with open(os.path.join(d, n)) as f:
                        ids.update(json.load(f))
        return ids

    def snapshots(self):
        res = []
        d = self.p("snapshots")
        for n in os.listdir(d):
            if n.startswith(".tmp"):
                continue
            with open(os.path.join(d, n), "rb") as f:
                s = json.load(f)
            s["id"] = n
            res.append(s)
        res.sort(key=lambda s: (s["time"], s["id"]))
        return res

    def find_snapshot(self, name):
        snaps = self.snapshots()
        if name == "latest":
            if not snaps:
                raise Die(E_ERR, "no snapshot")
            return snaps[-1]
        m = [s for s in snaps if s["id"].startswith(name)] if len(name) >= 4 else []
        if len(m) != 1:
            raise Die(E_ERR, "no unique snapshot %s" % name)
        return m[0]

    def blob_path(self, bid):
        return self.p("data", bid[:2], bid)

    def read_blob(self, bid):
        try:
            with open(self.blob_path(bid), "rb") as f:
                b = f.read()
        except FileNotFoundError:
            return None
        return b if H(b) == bid else None


def usage(cmd):
    out("usage: coffre %s ... (fake)\n" % cmd)
    return 0


# ---------------------------------------------------------------- commands
def cmd_init(g, args):
    o, pos = opts(args, {"--help": "flag"})
    if "--help" in o:
        return usage("init")
    r = Repo(g, must_exist=False)
    if os.path.exists(r.path) and (not os.path.isdir(r.path) or os.listdir(r.path)):
        raise Die(E_ERR, "%s exists and is not empty" % r.path)
    kind, pw = r.secret()
    for d in ("data", "index", "snapshots", "keys"):
        os.makedirs(r.p(d), exist_ok=True)
    rid = secrets.token_hex(32)
    rk = "-".join(secrets.token_hex(2).upper() for _ in range(8))
    r.set_key("pw", pw)
    r.set_key("rk", rk)
    r.write_atomic("config", json.dumps({"id": rid, "version": 1}).encode())
    if g["json"]:
        out(json.dumps({"id": rid, "recovery_key": rk}) + "\n")
    else:
        out("created repository %s at %s\nRecovery key: %s\n" % (rid[:8], r.path, rk))
    return 0


def node_for(path, st):
    m = st.st_mode
    t = "file" if stat.S_ISREG(m) else "dir" if stat.S_ISDIR(m) else "symlink" if stat.S_ISLNK(m) else "other"
    n = {"path": hx(path), "type": t, "mode": stat.S_IMODE(m), "fmt": stat.S_IFMT(m), "uid": st.st_uid,
         "gid": st.st_gid, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
         "ino": "%d:%d" % (st.st_dev, st.st_ino), "nlink": st.st_nlink, "size": st.st_size if t == "file" else 0}
    if t == "symlink":
        n["target"] = hx(os.readlink(path))
    return n


def cmd_backup(g, args):
    o, pos = opts(args, {"--help": "flag", "--exclude": "multi", "--tag": "multi"})
    if "--help" in o:
        return usage("backup")
    if not pos:
        raise Die(E_USAGE, "backup needs at least one path")
    r = Repo(g)
    t0 = time.time()
    paths = sorted(os.fsencode(os.path.abspath(p)) for p in pos)
    for p in paths:
        if not os.path.lexists(p):
            raise Die(E_ERR, "%s: no such file or directory" % os.fsdecode(p))
    snaps = [s for s in r.snapshots() if s["paths"] == [hx(p) for p in paths]]
    parent = snaps[-1] if snaps else None
    pnodes = {n["path"]: n for n in parent["nodes"]} if parent else {}
    known = r.index()
    on_disk = set(r.packs())        # left by an interrupted run: indexed again, not rewritten
    if "unindexed" in BUGS:         # trusts packs left by a killed run without indexing them
        known |= on_disk
    stats = dict(files_new=0, files_changed=0, files_unchanged=0, dirs=0, bytes_read=0, bytes_added=0,
                 bytes_stored=0, data_blobs_added=0, tree_blobs_added=0)
    warnings, nodes, seen, new_ids = [], {}, set(), []

    def add_blob(b):
        bid = H(b)
        if bid not in known:
            if bid not in on_disk or r.read_blob(bid) is None:
                r.write_atomic(os.path.join("data", bid[:2], bid), b)
            known.add(bid)
            new_ids.append(bid)
            stats["data_blobs_added"] += 1
            stats["bytes_added"] += len(b)
            stats["bytes_stored"] += len(b)
        return bid

    def warn(msg):
        warnings.append(msg)
        err(b"warning: " + msg.encode("utf-8", "surrogateescape"))

    def visit(path):
        if path in seen:
            return
        seen.add(path)
        if any(fnmatch.fnmatch(os.fsdecode(os.path.basename(path)), x) for x in o.get("--exclude", [])):
            return
        try:
            st = os.lstat(path)
        except OSError as e:
            warn("%s: %s" % (os.fsdecode(path), e.strerror))
            return
        n = node_for(path, st)
        if n["type"] == "file":
            pn = pnodes.get(n["path"])
            if "reread" not in BUGS and pn and pn["type"] == "file" and all(pn[k] == n[k] for k in ("size", "mtime_ns", "ctime_ns", "ino")):
                n["content"] = pn["content"]
                stats["files_unchanged"] += 1
            else:
                try:
                    f = open(path, "rb")
                except OSError as e:
                    warn("cannot read %s: %s" % (os.fsdecode(path), e.strerror))
                    return
                content, total = [], 0
                with f:
                    while True:
                        b = f.read(CHUNK)
                        if not b:
                            break
                        stats["bytes_read"] += len(b)
                        total += len(b)
                        content.append(add_blob(b))
                    st2 = os.fstat(f.fileno())
                n["content"] = content
                n["size"] = total
                if st2.st_size != st.st_size or st2.st_mtime_ns != st.st_mtime_ns:
                    warn("%s changed while read" % os.fsdecode(path))
                stats["files_changed" if pn else "files_new"] += 1
        nodes[n["path"]] = n
        if n["type"] == "dir":
            stats["dirs"] += 1
            try:
                names = sorted(os.listdir(path))
            except OSError as e:
                warn("cannot read directory %s: %s" % (os.fsdecode(path), e.strerror))
                names = []
            for name in names:
                visit(os.path.join(path, name))

    try:
        for p in paths:
            anc = os.path.dirname(p)
            chain = []
            while anc not in (b"/", b""):
                chain.append(anc)
                anc = os.path.dirname(anc)
            for a in reversed(chain):
                if hx(a) not in nodes:
                    nodes[hx(a)] = node_for(a, os.lstat(a))
            visit(p)
        body = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime()) + ".%06dZ" % (time.time() % 1 * 1e6),
                "hostname": socket.gethostname(), "paths": [hx(p) for p in paths], "tags": o.get("--tag", []),
                "nodes": sorted(nodes.values(), key=lambda n: unhx(n["path"]))}
        data = json.dumps(body, sort_keys=True).encode()
        body["tree"] = H(data)
        data = json.dumps(body, sort_keys=True).encode()
        r.write_atomic(os.path.join("index", secrets.token_hex(16)), json.dumps(new_ids).encode())
        sid = H(data)
        r.write_atomic(os.path.join("snapshots", sid), data)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise Die(E_ERR, "write failed" if "nospacemsg" in BUGS else "no space left on device")
        raise
    stats["bytes_stored"] += len(data)
    res = dict(snapshot=sid, parent=parent["id"] if parent else None, **stats,
               duration=time.time() - t0, warnings=warnings, partial=bool(warnings))
    if g["json"]:
        out(json.dumps(res) + "\n")
    else:
        out("snapshot %s saved\n" % sid[:8])
    return E_PARTIAL if warnings and "partial0" not in BUGS else 0


def cmd_snapshots(g, args):
    o, pos = opts(args, {"--help": "flag"})
    if "--help" in o:
        return usage("snapshots")
    r = Repo(g)
    res = [{"id": s["id"], "short_id": s["id"][:8], "time": s["time"], "hostname": s["hostname"],
            "paths": [os.fsdecode(unhx(p)) for p in s["paths"]], "tags": s["tags"], "tree": s["tree"]}
           for s in r.snapshots()]
    if g["json"]:
        out(json.dumps(res) + "\n")
    else:
        for s in res:
            out("%s %s %s %s\n" % (s["short_id"], s["time"], s["hostname"], " ".join(s["paths"])))
    return 0


def under(p, prefix):
    return p == prefix or p.startswith(prefix.rstrip(b"/") + b"/")


def cmd_ls(g, args):
    o, pos = opts(args, {"--help": "flag"})
    if "--help" in o:
        return usage("ls")
    r = Repo(g)
    s = r.find_snapshot(pos[0])
    pre = os.fsencode(pos[1]) if len(pos) > 1 else b"/"
    ns = [n for n in s["nodes"] if under(unhx(n["path"]), pre)]
    if g["json"]:
        out(json.dumps([{"path": os.fsdecode(unhx(n["path"])), "type": n["type"], "size": n["size"],
                         "mode": "%o" % n["mode"], "mtime": n["mtime_ns"] / 1e9} for n in ns]) + "\n")
    else:
        for n in ns:
            out(unhx(n["path"]) + b"\n")
    return 0


def cmd_find(g, args):
    o, pos = opts(args, {"--help": "flag"})
    if "--help" in o:
        return usage("find")
    r = Repo(g)
    pat = os.fsencode(pos[0])
    res = []
    for s in r.snapshots():
        for n in s["nodes"]:
            p = unhx(n["path"])
            if fnmatch.fnmatchcase(p if b"/" in pat else os.path.basename(p), pat):
                res.append((s, n, p))
    if g["json"]:
        out(json.dumps([{"snapshot": s["id"], "time": s["time"], "path": os.fsdecode(p), "size": n["size"],
                         "mtime": n["mtime_ns"] / 1e9} for s, n, p in res]) + "\n")
    else:
        for s, n, p in res:
            out(("%s %s %d " % (s["id"][:8], s["time"], n["size"])).encode() + p + b"\n")
    return 0


def meta(n):
    return {k: n.get(k) for k in ("type", "mode", "uid", "gid", "mtime_ns", "size", "target", "content")}


def cmd_diff(g, args):
    o, pos = opts(args, {"--help": "flag"})
    if "--help" in o:
        return usage("diff")
    r = Repo(g)
    a, b = (r.find_snapshot(x) for x in pos[:2])
    na = {n["path"]: n for n in a["nodes"]}
    nb = {n["path"]: n for n in b["nodes"]}
    for p in sorted(set(na) | set(nb), key=unhx):
        if p not in nb:
            out(b"- " + unhx(p) + b"\n")
        elif p not in na:
            if "diffplus" not in BUGS:
                out(b"+ " + unhx(p) + b"\n")
        elif meta(na[p]) != meta(nb[p]) and not ("diffdb" in BUGS and p.endswith(b"grand-livre.db".hex())):
            out(b"M " + unhx(p) + b"\n")
    return 0


def cmd_restore(g, args):
    o, pos = opts(args, {"--help": "flag", "--target": "val", "--include": "multi", "--verify": "flag"})
    if "--help" in o:
        return usage("restore")
    if "--target" not in o or len(pos) != 1:
        raise Die(E_USAGE, "restore SNAPSHOT --target DIR")
    r = Repo(g)
    s = r.find_snapshot(pos[0])
    target = os.fsencode(o["--target"])
    inc = [os.fsencode(x) for x in o.get("--include", [])]
    nodes = []
    for n in s["nodes"]:
        p = unhx(n["path"])
        if not inc or any(under(p, i) or under(i, p) for i in inc):
            nodes.append((p, n))
    os.makedirs(target, exist_ok=True)
    damaged, linked, done = 0, {}, []
    is_root = os.geteuid() == 0
    for p, n in nodes:
        dst = target + p
        t = n["type"]
        if t == "dir":
            os.makedirs(dst, exist_ok=True)
            os.chmod(dst, 0o700)
        elif t == "symlink":
            os.symlink(unhx(n["target"]), dst)
        elif t == "file":
            if n["nlink"] > 1 and n["ino"] in linked and "hardlink" not in BUGS:
                os.link(linked[n["ino"]], dst)
                continue
            ok = True
            with open(dst, "wb") as f:
                for bid in n["content"]:
                    b = r.read_blob(bid)
                    if b is None:
                        ok = False
                        break
                    if b.count(0) == len(b) and "dense" not in BUGS:
                        f.seek(len(b), 1)
                    else:
                        f.write(b)
                f.truncate(n["size"])
            if not ok:
                os.unlink(dst)
                err(b"cannot restore " + p + b": damaged data")
                damaged += 1
                if "abort" in BUGS:
                    return E_INTEGRITY
                continue
            linked[n["ino"]] = dst
            if "--verify" in o:
                with open(dst, "rb") as f:
                    for bid in n["content"]:
                        if H(f.read(CHUNK)) != bid:
                            err(b"verify failed: " + p)
                            damaged += 1
        else:
            continue
        done.append((dst, n))
    for dst, n in sorted(done, key=lambda x: (x[1]["type"] == "dir", -x[0].count(b"/"))):
        if is_root and "owner" not in BUGS:
            os.lchown(dst, n["uid"], n["gid"])
        if n["type"] != "symlink":
            os.chmod(dst, n["mode"] & (0o777 if "suid" in BUGS else 0o7777))
        if n["type"] == "dir" and "dirmtime" in BUGS or n["type"] == "symlink" and "linkmtime" in BUGS:
            continue
        os.utime(dst, ns=(n["mtime_ns"], n["mtime_ns"]), follow_symlinks=False)
    out("restored %d entries to %s\n" % (len(done), o["--target"]))
    return E_INTEGRITY if damaged else 0


def cmd_dump(g, args):
    o, pos = opts(args, {"--help": "flag", "--format": "val"})
    if "--help" in o:
        return usage("dump")
    r = Repo(g)
    s = r.find_snapshot(pos[0])
    pre = os.fsencode(pos[1])
    fmt = o.get("--format", "tar")
    ns = [n for n in s["nodes"] if under(unhx(n["path"]), pre)]
    buf = io.BytesIO()
    if fmt == "tar":
        tf = tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT)
    else:
        zf = zipfile.ZipFile(buf, "w")
    for n in ns:
        name = os.fsdecode(unhx(n["path"]).lstrip(b"/"))
        data = b"".join(r.read_blob(b) or b"" for b in n.get("content", []))
        if fmt == "tar":
            ti = tarfile.TarInfo(name)
            ti.mode, ti.mtime = n["mode"], n["mtime_ns"] // 10**9
            if n["type"] == "dir":
                ti.type = tarfile.DIRTYPE
            elif n["type"] == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, os.fsdecode(unhx(n["target"]))
            elif n["type"] == "file":
                ti.size = len(data)
            else:
                continue
            tf.addfile(ti, io.BytesIO(data) if n["type"] == "file" else None)
        elif n["type"] in ("file", "dir"):
            name = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            zf.writestr(name + ("/" if n["type"] == "dir" else ""), data)
    if fmt == "tar":
        tf.close()
    else:
        zf.close()
        out(buf.getvalue())
    return 0


def cmd_check(g, args):
    o, pos = opts(args, {"--help": "flag", "--read-data": "flag"})
    if "--help" in o:
        return usage("check")
    r = Repo(g)
    packs, idx = r.packs(), r.index()
    bad = {}
    for bid in idx:
        if bid not in packs:
            bad[bid] = "missing"
    if "--read-data" in o:
        for bid, rel in packs.items():
            with open(r.p(rel), "rb") as f:
                if H(f.read()) != bid:
                    bad[bid] = "content does not match its id"
    unindexed = 0
    for s in r.snapshots():
        for n in s["nodes"]:
            for bid in n.get("content", []):
                if bid not in idx:
                    unindexed += 1
                    if bid not in packs:
                        bad[bid] = "missing"
    for bid, why in sorted(bad.items()):
        out("damaged pack data/%s/%s: %s\n" % (bid[:2], bid, why))
    for s in r.snapshots():
        for n in s["nodes"]:
            if any(b in bad for b in n.get("content", [])):
                out(("affected: %s " % s["id"][:8]).encode() + unhx(n["path"]) + b"\n")
    if unindexed:
        err("%d blobs are not in the index: run rebuild-index" % unindexed)
    if bad or unindexed:
        return E_INTEGRITY
    out("no errors were found\n")
    return 0


def cmd_rebuild_index(g, args):
    o, pos = opts(args, {"--help": "flag"})
    if "--help" in o:
        return usage("rebuild-index")
    r = Repo(g)
    ids = [bid for bid, rel in r.packs().items() if r.read_blob(bid) is not None]
    old = os.listdir(r.p("index"))
    r.write_atomic(os.path.join("index", secrets.token_hex(16)), json.dumps(ids).encode())
    for n in old:
        os.unlink(r.p("index", n))
    out("index rebuilt: %d blobs\n" % len(ids))
    return 0


def prune(r):
    used = set()
    for s in r.snapshots():
        for n in s["nodes"]:
            used.update(n.get("content", []))
    old = os.listdir(r.p("index"))
    r.write_atomic(os.path.join("index", secrets.token_hex(16)), json.dumps(sorted(used)).encode())
    for n in old:
        os.unlink(r.p("index", n))
    for bid, rel in r.packs().items():
        if bid not in used:
            os.unlink(r.p(rel))


def cmd_forget(g, args):
    o, pos = opts(args, {"--help": "flag", "--keep-last": "val", "--keep-daily": "val",
                         "--keep-weekly": "val", "--keep-monthly": "val", "--prune": "flag"})
    if "--help" in o:
        return usage("forget")
    r = Repo(g)
    keep = int(o.get("--keep-last", 0)) + int(o.get("--keep-daily", 0))
    snaps = r.snapshots()
    for s in snaps[:max(0, len(snaps) - keep)]:
        os.unlink(r.p("snapshots", s["id"]))
    if "--prune" in o:
        prune(r)
    return 0


def cmd_prune(g, args):
    o, pos = opts(args, {"--help": "flag"})
    if "--help" in o:
        return usage("prune")
    prune(Repo(g))
    return 0


def cmd_key(g, args):
    o, pos = opts(args, {"--help": "flag", "--new-password-file": "val"})
    if "--help" in o or not pos:
        return usage("key")
    r = Repo(g)
    if pos[0] == "passwd":
        with open(o["--new-password-file"], "rb") as f:
            r.set_key("pw", f.read().rstrip(b"\n").decode("utf-8", "surrogateescape"))
        out("password changed\n")
    elif pos[0] == "recovery-rotate":
        rk = "-".join(secrets.token_hex(2).upper() for _ in range(8))
        r.set_key("rk", rk)
        if g["json"]:
            out(json.dumps({"recovery_key": rk}) + "\n")
        else:
            out("Recovery key: %s\n" % rk)
    else:
        raise Die(E_USAGE, "unknown key command %s" % pos[0])
    return 0


CMDS = {"init": cmd_init, "backup": cmd_backup, "snapshots": cmd_snapshots, "ls": cmd_ls, "find": cmd_find,
        "diff": cmd_diff, "restore": cmd_restore, "dump": cmd_dump, "check": cmd_check,
        "rebuild-index": cmd_rebuild_index, "forget": cmd_forget, "prune": cmd_prune, "key": cmd_key}


def main():
    try:
        g, rest = parse(sys.argv[1:])
        if not rest or rest[0] in ("--help", "-h"):
            out("usage: coffre COMMAND ... (fake)\n")
            return 0 if rest else E_USAGE
        if rest[0] not in CMDS:
            raise Die(E_USAGE, "unknown command %s" % rest[0])
        return CMDS[rest[0]](g, rest[1:])
    except Die as d:
        err(d.msg)
        return d.code
    except OSError as e:
        err("%s: %s" % (e.filename, e.strerror))
        return E_ERR


if __name__ == "__main__":
    sys.exit(main())
