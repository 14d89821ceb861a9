"""cloud.py - bench/run --cloud: a full restore and a one-invoice restore from S3 (s3rver on
127.0.0.1) through a capped download, coffre only (see bench/README.md, "cloud restore").

A copy of the repository bench/run built for the main tree, reduced to its latest snapshot
(`forget --keep-last 1 --keep-within 0 --prune`, so that every pack left is that snapshot's),
is pushed (untimed) to s3rver.  A counting proxy (httpcount.py) stands between coffre and
s3rver and records every request with the body bytes of its answer: that is "bytes fetched",
split by kind of object.  The snapshot's stored size comes from an uncapped drill of the same
destination with a budget that takes every file (`coffre drill --budget 1T`, untimed): the
sealed frames its files need (bytes_selected) plus the index, trees, keys and snapshot it
read (bytes_metadata).  (`drill --full` reports no bytes_selected.)  The packs' total size
(du -sb data/) is reported beside it.
"""
import json
import os
import shutil
import subprocess
import time

import httpcount

LINK_MBIT = 20
LINK_BPS = LINK_MBIT * 1000 * 1000 // 8          # 2,500,000 bytes/s
LIMIT = "%d/s" % LINK_BPS                        # coffre's --download-limit: bytes per second
BUCKET, PREFIX = "coffre", "shop"


def stored_estimate(path):
    """What one file costs in its frames when it has them to itself: zstd -1 size when that is
    under n - n/32 bytes (coffre's rule for keeping the compressed form), else the size; plus
    40 bytes (nonce and tag) per 64 KiB frame."""
    n = os.path.getsize(path)
    z = subprocess.run(["zstd", "-1", "-c", "-q", path], stdout=subprocess.PIPE,
                       check=True).stdout
    body = len(z) if len(z) < n - n // 32 else n
    return body + 40 * max(1, -(-n // 65536))


def keep_log(work, name, reqs):
    """Every request the proxy saw, for a closer look: WORK/logs/cloud-requests-NAME.json."""
    with open(os.path.join(work, "logs", "cloud-requests-%s.json" % name), "w") as f:
        json.dump(reqs, f, indent=0)


def skip_reason(top):
    if not shutil.which("node"):
        return "node is missing (apt-get install nodejs npm)"
    if not os.access(os.path.join(top, "tests", "servers", "node_modules", ".bin", "s3rver"),
                     os.X_OK):
        return "s3rver is missing (npm install --prefix tests/servers)"
    return None


def run(b, dataset, src, invoice, say, die):
    """b: the Bench.  Records workloads cloud_restore and cloud_restore_one, and res["cloud"]."""
    from importlib import import_module
    run_mod = import_module("__main__")
    top, work = run_mod.TOP, b.work
    why = skip_reason(top)
    if why:
        say("cloud restore: skipped: " + why)
        b.res["skipped"]["cloud"] = why
        return
    coffre = next(t for t in b.tools if t.name == "coffre")
    d = os.path.join(work, "cloud")
    run_mod.rmtree(d)
    os.makedirs(d)
    s3dir = os.path.join(d, "s3")
    script = os.path.join(top, "tests", "servers", "s3rver.sh")
    port = b.runner.run("s3rver-start", ["bash", script, "start", s3dir, BUCKET]).strip()
    proxy = None
    try:
        keys = os.path.join(d, "s3keys")
        with open(keys, "w") as f:
            f.write("S3RVER\nS3RVER\n")
        os.chmod(keys, 0o600)
        direct = "s3://127.0.0.1:%s/%s/%s" % (port, BUCKET, PREFIX)
        spool = os.path.join(d, "spool")
        say("== cloud restore: the latest snapshot of %s pushed to s3rver (untimed)" %
            b.repo(coffre, dataset))
        b.runner.run("cloud-copy", ["cp", "-a", b.repo(coffre, dataset), spool])
        with b.with_env({"XDG_CACHE_HOME": os.path.join(d, "cache-spool"),
                         "COFFRE_PASSWORD": run_mod.PASSWORD}):
            b.runner.run("cloud-forget", [coffre.bin, "--repo", spool, "forget", "--keep-last",
                                          "1", "--keep-within", "0", "--prune"])
            b.runner.run("cloud-push", [coffre.bin, "--repo", spool, "--s3-keys-file", keys,
                                        "push", "--to", direct])
        packs, index = run_mod.du_sb(os.path.join(spool, "data")), \
            run_mod.du_sb(os.path.join(spool, "index"))
        # The snapshot's stored size, from a drill of every file without a cap (untimed).
        with b.with_env({"XDG_CACHE_HOME": os.path.join(d, "cache-drill"),
                         "COFFRE_PASSWORD": run_mod.PASSWORD}):
            out = b.runner.run("cloud-drill", [
                coffre.bin, "--json", "--s3-keys-file", keys, "drill", "--to", direct,
                "--budget", "1T", "--state-dir", os.path.join(d, "drill-state"),
                "--scratch", os.path.join(d, "drill-scratch")])
        dr = json.loads(out)[0]
        if not dr.get("ok") or dr.get("files") != dr.get("snapshot_files"):
            die("cloud: the drill of every file of the pushed repository failed or left files "
                "out: %s" % out[:2000])
        proxy = httpcount.CountingProxy(int(port))
        url = "s3://127.0.0.1:%d/%s/%s" % (proxy.port, BUCKET, PREFIX)
        pfx = "%s/%s/" % (BUCKET, PREFIX)

        def cold_env(name):
            c = os.path.join(d, "cache-" + name)
            run_mod.rmtree(c)
            return {"XDG_CACHE_HOME": c, "COFFRE_PASSWORD": run_mod.PASSWORD}

        # The tree packs: those a cold `ls` of the snapshot reads (it reads trees only).
        with b.with_env(cold_env("ls")):
            b.runner.run("cloud-ls", [coffre.bin, "--repo", url, "--s3-keys-file", keys, "ls",
                                      "latest"])
        trees = httpcount.packs_read(proxy.take(), pfx)
        base = [coffre.bin, "--repo", url, "--s3-keys-file", keys, "--download-limit", LIMIT]

        # Full restore, capped, from a cold cache into a fresh folder.
        target = os.path.join(d, "restore-full")
        say("== cloud restore: full restore from S3 at %d Mbit/s (coffre; %.0f MB to fetch, "
            "about %.0f s)" % (LINK_MBIT, dr["bytes_selected"] / 1e6,
                               dr["bytes_selected"] / LINK_BPS))
        with b.with_env(cold_env("full")):
            r = b.runner.timed("coffre-cloud-restore",
                               base + ["restore", "latest", "--target", target])
        r.pop("stdout")
        want = run_mod.tree_stats(src)
        got = run_mod.tree_stats(target + src)
        if got != want:
            die("cloud restore gave %d files / %d bytes, the source has %d / %d" %
                (got[0], got[1], want[0], want[1]))
        reqs = proxy.take()
        keep_log(work, "full", reqs)
        sums, counts = httpcount.classify(reqs, pfx, trees)
        fetched = sum(sums.values())
        stored = dr["bytes_selected"] + dr["bytes_metadata"]
        r.update({"bytes_fetched": fetched, "fetched_by_kind": sums, "requests_by_kind": counts,
                  "requests": len(reqs), "floor_s": fetched / LINK_BPS,
                  "stored_bytes": stored, "stored_data": dr["bytes_selected"],
                  "stored_metadata": dr["bytes_metadata"], "pack_bytes": packs,
                  "index_bytes": index})
        b.record("cloud_restore", "cloud restore: full, S3 at %d Mbit/s" % LINK_MBIT, coffre, r)
        say("   coffre: %.1f s, fetched %.2f MB in %d requests (floor %.1f s); stored %.2f MB"
            % (r["wall"], fetched / 1e6, len(reqs), r["floor_s"], stored / 1e6))

        # One invoice, capped, cold cache.
        target1 = os.path.join(d, "restore-one")
        with b.with_env(cold_env("one")):
            r1 = b.runner.timed("coffre-cloud-restore1", base + [
                "restore", "latest", "--target", target1, "--include", invoice])
        r1.pop("stdout")
        if subprocess.call(["cmp", "-s", invoice, target1 + invoice]) != 0:
            die("cloud: the invoice restored from S3 differs from %s" % invoice)
        reqs = proxy.take()
        keep_log(work, "one", reqs)
        sums1, counts1 = httpcount.classify(reqs, pfx, trees)
        est = stored_estimate(invoice)
        r1.update({"bytes_fetched": sum(sums1.values()), "fetched_by_kind": sums1,
                   "requests_by_kind": counts1, "requests": len(reqs),
                   "invoice_bytes": os.path.getsize(invoice), "invoice_stored_estimate": est})
        b.record("cloud_restore_one", "cloud restore: one invoice", coffre, r1)
        say("   one invoice: %.2f s, fetched %d bytes: %s" % (
            r1["wall"], r1["bytes_fetched"], ", ".join("%s %d" % kv for kv in sorted(sums1.items()))))
        b.res["cloud"] = {"link_bytes_per_s": LINK_BPS, "download_limit": LIMIT,
                          "drill": {k: dr.get(k) for k in (
                              "seconds", "bytes_selected", "bytes_metadata", "bytes_fetched",
                              "snapshot_files", "snapshot_bytes")},
                          "tree_packs": len(trees), "invoice": invoice}
    finally:
        if proxy:
            proxy.close()
        subprocess.call(["bash", script, "stop", s3dir], stdout=subprocess.DEVNULL)
        run_mod.rmtree(os.path.join(d, "restore-full"))
        run_mod.rmtree(os.path.join(d, "restore-one"))
        run_mod.rmtree(os.path.join(d, "spool"))


def evaluate(b, add):
    """Targets of the cloud workloads (only when they ran)."""
    full = b.res["workloads"].get("cloud_restore", {}).get("tools", {}).get("coffre")
    if not full:
        return
    s = full["samples"][-1]
    k = s["fetched_by_kind"]
    add("cloud full restore wall ≤ 1.1× floor (bytes fetched / %d Mbit/s)" % LINK_MBIT,
        s["wall"] / s["floor_s"] if s["floor_s"] else None, 1.1,
        "%.1f s against %.1f s" % (s["wall"], s["floor_s"]))
    add("cloud full restore bytes fetched ≤ 1.05× the snapshot's stored size",
        s["bytes_fetched"] / s["stored_bytes"] if s["stored_bytes"] else None, 1.05,
        "fetched %d (packs: data %d, trees %d; index %d; other %d), stored %d (data frames %d, "
        "metadata %d; all packs %d, index %d)" % (
            s["bytes_fetched"], k.get("data", 0), k.get("tree", 0), k.get("index", 0),
            s["bytes_fetched"] - k.get("data", 0) - k.get("tree", 0) - k.get("index", 0),
            s["stored_bytes"], s["stored_data"], s["stored_metadata"], s["pack_bytes"],
            s["index_bytes"]))
    one = b.res["workloads"].get("cloud_restore_one", {}).get("tools", {}).get("coffre")
    if one:
        o = one["samples"][-1]
        k = o["fetched_by_kind"]
        add("cloud one-invoice restore: data bytes fetched ≤ 2× its stored size "
            "(index and trees apart)",
            k.get("data", 0) / o["invoice_stored_estimate"], 2.0,
            "data packs %d, stored about %d; besides: trees %d, index %d, snapshots+keys+config "
            "+lists %d, total %d" % (
                k.get("data", 0), o["invoice_stored_estimate"], k.get("tree", 0),
                k.get("index", 0), sum(v for kk, v in k.items()
                                       if kk in ("snapshots", "keys", "config", "list", "locks",
                                                 "other")), o["bytes_fetched"]))
