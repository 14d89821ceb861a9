"""httpcount.py - a counting HTTP/1.1 proxy on 127.0.0.1 for bench/run's cloud workload.

coffre talks to the proxy, the proxy to the S3 server.  Bytes are passed through untouched
in both directions (one thread each way); a passive parser on each direction pairs every
request (method, path, Range) with its response (status, body bytes as received, framing
excluded), so what a restore fetched can be counted object by object.  Python 3 stdlib only.
"""
import socket
import threading
import time
import urllib.parse


class _Stream:
    """Incremental parser of one direction of an HTTP/1.1 connection."""

    def __init__(self, on_head, body_len):
        self.buf = b""
        self.state = "head"      # head | body | chunk_size | chunk_data | chunk_end | trailer | rest
        self.left = 0
        self.on_head = on_head   # (first line, headers dict) -> None
        self.body_len = body_len  # (first line, headers) -> int | "chunked" | None (until close)
        self.on_body = None      # n -> None, set by the owner for the current message
        self.on_end = None       # () -> None

    def feed(self, data):
        self.buf += data
        while self.buf:
            if self.state == "head":
                i = self.buf.find(b"\r\n\r\n")
                if i < 0:
                    if len(self.buf) > 1 << 20:
                        self.buf = b""   # not HTTP: stop parsing, keep forwarding
                        self.state = "rest"
                    return
                head, self.buf = self.buf[:i].decode("latin-1"), self.buf[i + 4:]
                lines = head.split("\r\n")
                hdr = {}
                for l in lines[1:]:
                    k, _, v = l.partition(":")
                    hdr[k.strip().lower()] = v.strip()
                self.on_head(lines[0], hdr)
                n = self.body_len(lines[0], hdr)
                if n == "chunked":
                    self.state = "chunk_size"
                elif n is None:
                    self.state = "rest"
                elif n == 0:
                    self._end()
                else:
                    self.state, self.left = "body", n
            elif self.state in ("body", "chunk_data"):
                take = min(self.left, len(self.buf))
                self.buf = self.buf[take:]
                self.left -= take
                if self.on_body:
                    self.on_body(take)
                if self.left == 0:
                    if self.state == "body":
                        self._end()
                    else:
                        self.state = "chunk_end"
            elif self.state == "chunk_end":
                if len(self.buf) < 2:
                    return
                self.buf = self.buf[2:]
                self.state = "chunk_size"
            elif self.state == "chunk_size":
                i = self.buf.find(b"\r\n")
                if i < 0:
                    return
                size = int(self.buf[:i].split(b";")[0], 16)
                self.buf = self.buf[i + 2:]
                if size == 0:
                    self.state = "trailer"
                else:
                    self.state, self.left = "chunk_data", size
            elif self.state == "trailer":
                i = self.buf.find(b"\r\n")
                if i < 0:
                    return
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                if not line:
                    self._end()
            else:   # rest: body until the connection closes
                if self.on_body:
                    self.on_body(len(self.buf))
                self.buf = b""

    def _end(self):
        self.state = "head"
        if self.on_end:
            self.on_end()


class CountingProxy:
    """proxy = CountingProxy(upstream_port); proxy.port; proxy.take() -> list of requests."""

    def __init__(self, upstream_port, upstream_host="127.0.0.1"):
        self.up = (upstream_host, upstream_port)
        self.lock = threading.Lock()
        self.done = []
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.closing = False
        self.t0 = time.monotonic()
        threading.Thread(target=self._accept, daemon=True).start()

    def take(self):
        """The requests answered since the last call: dicts with method, path, query, range,
        status, body (response body bytes), sent (request body bytes), t (seconds from the
        proxy's start to the request) and dt (from the request to the end of the answer)."""
        with self.lock:
            d, self.done = self.done, []
        return d

    def close(self):
        self.closing = True
        try:
            self.ls.close()
        except OSError:
            pass

    def _accept(self):
        while not self.closing:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(self.up)
            except OSError:
                c.close()
                continue
            self._serve(c, u)

    def _serve(self, c, u):
        pending = []      # requests sent, not answered yet (in order)
        plock = threading.Lock()

        def req_head(line, hdr):
            method, _, rest = line.partition(" ")
            target = rest.rsplit(" ", 1)[0]
            p = urllib.parse.urlsplit(target)
            r = {"method": method, "path": urllib.parse.unquote(p.path), "query": p.query,
                 "range": hdr.get("range"), "status": None, "body": 0, "sent": 0,
                 "t": round(time.monotonic() - self.t0, 3), "dt": None}
            with plock:
                pending.append(r)
            cs.cur = r

        def req_len(line, hdr):
            if "chunked" in hdr.get("transfer-encoding", "").lower():
                return "chunked"
            return int(hdr.get("content-length", "0") or 0)

        def req_body(n):
            cs.cur["sent"] += n

        cs = _Stream(req_head, req_len)
        cs.cur = None
        cs.on_body = req_body

        def resp_head(line, hdr):
            parts = line.split(" ", 2)
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            ss.status = status
            with plock:
                r = pending[0] if pending else None
            ss.cur = r
            if r is not None and status >= 200:
                r["status"] = status

        def resp_len(line, hdr):
            st = ss.status
            r = ss.cur
            if 100 <= st < 200 or st in (204, 304) or (r is not None and r["method"] == "HEAD"):
                return 0
            if "chunked" in hdr.get("transfer-encoding", "").lower():
                return "chunked"
            if "content-length" in hdr:
                return int(hdr["content-length"] or 0)
            return None

        def resp_body(n):
            if ss.cur is not None:
                ss.cur["body"] += n

        def resp_end():
            if ss.status >= 200:   # an interim 1xx answers nothing yet
                with plock:
                    r = pending.pop(0) if pending else None
                if r is not None:
                    r["dt"] = round(time.monotonic() - self.t0 - r["t"], 3)
                    with self.lock:
                        self.done.append(r)

        ss = _Stream(resp_head, resp_len)
        ss.cur, ss.status = None, 0
        ss.on_body, ss.on_end = resp_body, resp_end

        def pump(src, dst, parser):
            try:
                while True:
                    data = src.recv(1 << 16)
                    if not data:
                        break
                    try:
                        parser.feed(data)
                    except (ValueError, IndexError):
                        parser.state, parser.buf = "rest", b""
                    dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        def both():
            t = threading.Thread(target=pump, args=(u, c, ss), daemon=True)
            t.start()
            pump(c, u, cs)
            t.join()
            if ss.state == "rest" and ss.cur is not None:   # a body read until close
                with plock:
                    if pending and pending[0] is ss.cur:
                        pending.pop(0)
                with self.lock:
                    self.done.append(ss.cur)
            c.close()
            u.close()
        threading.Thread(target=both, daemon=True).start()


def classify(reqs, prefix, tree_packs=()):
    """Sum response body bytes of GET requests by kind of object under prefix
    ('coffre/shop/'): data (packs not in tree_packs), tree (packs in tree_packs), index,
    snapshots, keys, config, locks, list (bucket listings), other.  Returns (sums, counts)."""
    sums, counts = {}, {}
    for r in reqs:
        if r["method"] != "GET":
            continue
        p = r["path"].lstrip("/")
        if r["query"] and ("list-type" in r["query"] or "prefix=" in r["query"]):
            kind = "list"
        elif p.startswith(prefix):
            rel = p[len(prefix):]
            top = rel.split("/", 1)[0]
            if top == "data":
                kind = "tree" if rel.rsplit("/", 1)[-1] in tree_packs else "data"
            elif top in ("index", "snapshots", "keys", "config", "locks"):
                kind = top
            else:
                kind = "other"
        else:
            kind = "other"
        sums[kind] = sums.get(kind, 0) + r["body"]
        counts[kind] = counts.get(kind, 0) + 1
    return sums, counts


def packs_read(reqs, prefix):
    """Names of the packs (data/xx/NAME) that GET requests read."""
    out = set()
    for r in reqs:
        p = r["path"].lstrip("/")
        if r["method"] == "GET" and p.startswith(prefix + "data/"):
            out.add(p.rsplit("/", 1)[-1])
    return out
