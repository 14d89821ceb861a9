# hook_sink.py PORT OUTFILE [CERT KEY]: a webhook receiver for the alert tests, on 127.0.0.1
# (HTTPS with CERT KEY). Appends one JSON line per POST to OUTFILE:
# {"path": ..., "headers": {...}, "body": "<the body as text>", "received": UNIX_TIME}.
# Answers 200.
import json, signal, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
lock = threading.Lock()
class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        rec = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body.decode("utf-8", "replace"), "received": time.time()}
        with lock, open(sys.argv[2], "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(200); self.send_header("Content-Length", "3"); self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *args): pass
srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Hook)
if len(sys.argv) > 4:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("ready", flush=True); srv.serve_forever()
