# alert_check.py mail FILE KEY=VALUE...: a mail the SMTP sink stored; checks its headers and
#   decoded subject and body (subject~TEXT, body~TEXT: contains; rcpt=ADDR; header=NAME).
# alert_check.py hook FILE INDEX KEY=VALUE...: the INDEX-th POST the webhook sink recorded;
#   checks its body against the schema coffre-alert/1 (docs/ALERTS.md), then field=VALUE,
#   message~TEXT and header:NAME=VALUE. Prints what is wrong and exits 1.
import email, email.policy, json, re, sys

def fail(msg):
    print("alert_check: " + msg, file=sys.stderr); sys.exit(1)

def check_mail(path, checks):
    with open(path, "rb") as f:
        raw = f.read()
    m = email.message_from_bytes(raw, policy=email.policy.default)
    for h in ("Date", "From", "To", "Subject", "Message-ID", "Content-Type"):
        if not m[h]: fail(f"mail without {h}")
    if m.get_content_type() != "text/plain" or m.get_content_charset() != "utf-8":
        fail("Content-Type is %s charset %s" % (m.get_content_type(), m.get_content_charset()))
    if not re.search(rb"(?m)^Subject: =\?UTF-8\?B\?", raw): fail("Subject not RFC 2047-encoded")
    if not re.match(r"^<[0-9a-f]{32}\.\w+@[^>]+>$", m["Message-ID"]): fail("bad Message-ID")
    email.utils.parsedate_to_datetime(m["Date"])
    subject, body = str(m["Subject"]), m.get_content()
    rcpts = m["X-RcptTo"] or ""
    for c in checks:
        if c.startswith("subject~"):
            if c[8:] not in subject: fail(f"subject {subject!r} lacks {c[8:]!r}")
        elif c.startswith("body~"):
            if c[5:] not in body: fail(f"body lacks {c[5:]!r}:\n{body}")
        elif c.startswith("rcpt="):
            if c[5:] not in rcpts: fail(f"recipients {rcpts!r} lack {c[5:]!r}")
        elif c.startswith("header="):
            k, v = c[7:].split(":", 1)
            if (m[k] or "") != v: fail(f"{k}: {m[k]!r}, expected {v!r}")
        else: fail("unknown check " + c)

SCHEMA = {"schema": str, "id": str, "shop": str, "host": str, "condition": str,
          "severity": str, "state": str, "since": str, "at": str, "language": str,
          "subject": str, "message": str, "details": dict}
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

def check_hook(path, index, checks):
    with open(path, encoding="utf-8") as f:
        recs = [json.loads(l) for l in f if l.strip()]
    if index >= len(recs): fail(f"only {len(recs)} POSTs")
    rec = recs[index]
    d = json.loads(rec["body"])
    if set(d) != set(SCHEMA): fail(f"keys {sorted(d)} are not the schema's {sorted(SCHEMA)}")
    for k, t in SCHEMA.items():
        if not isinstance(d[k], t): fail(f"{k} is not a {t.__name__}")
    if d["schema"] != "coffre-alert/1": fail("schema " + d["schema"])
    if not re.match(r"^[0-9a-f]{32}$", d["id"]): fail("id " + d["id"])
    if d["severity"] not in ("info", "warning", "critical"): fail("severity " + d["severity"])
    if d["state"] not in ("start", "reminder", "end"): fail("state " + d["state"])
    if d["language"] not in ("fr", "en"): fail("language " + d["language"])
    for k in ("since", "at"):
        if not TIME.match(d[k]): fail(f"{k} {d[k]!r}")
    det = d["details"]
    if set(det) != {"last_success", "destination", "reason"}: fail(f"details keys {sorted(det)}")
    if det["reason"] is not None and (not isinstance(det["reason"], str) or "\n" in det["reason"]):
        fail("reason")
    if det["last_success"] is not None and not TIME.match(det["last_success"]): fail("last_success")
    if det["destination"] is not None and not isinstance(det["destination"], str): fail("destination")
    if not rec["headers"].get("content-type", "").startswith("application/json"):
        fail("content-type " + rec["headers"].get("content-type", ""))
    for c in checks:
        if c.startswith("header:"):
            k, v = c[7:].split("=", 1)
            if rec["headers"].get(k.lower()) != v: fail(f"header {k}: {rec['headers'].get(k.lower())!r}")
        elif "~" in c:
            k, v = c.split("~", 1)
            if v not in d[k]: fail(f"{k} {d[k]!r} lacks {v!r}")
        else:
            k, v = c.split("=", 1)
            if str(d[k]) != v: fail(f"{k} is {d[k]!r}, expected {v!r}")

if sys.argv[1] == "mail": check_mail(sys.argv[2], sys.argv[3:])
elif sys.argv[1] == "hook": check_hook(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
else: fail("usage")
