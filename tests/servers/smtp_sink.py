# smtp_sink.py PORT MAILDIR [starttls|smtps|plain CERT KEY [USER:PASS]]: an SMTP server for the
# alert tests (aiosmtpd; run with /usr/bin/python3, Debian's python3-aiosmtpd). Each message
# becomes a file in MAILDIR/new/ with X-MailFrom and X-RcptTo headers added. starttls requires
# STARTTLS before anything; smtps is TLS from the start; USER:PASS requires that login.
# Prints "ready" once it answers; SIGTERM stops it.
import logging, signal, ssl, sys, warnings
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword
logging.getLogger("mail.log").setLevel(logging.ERROR); warnings.simplefilter("ignore")
a, kw = sys.argv, {}
if len(a) > 5 and a[3] != "plain":
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH); ctx.load_cert_chain(a[4], a[5])
    kw = (dict(tls_context=ctx, require_starttls=True) if a[3] == "starttls"
          else dict(ssl_context=ctx, auth_require_tls=False))
if len(a) > 6:
    cred = tuple(a[6].encode().split(b":", 1))
    def check(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == cred
        return AuthResult(success=ok, handled=False)  # handled=False: a bad login gets 535
    kw.update(authenticator=check, auth_required=True)
stop = {signal.SIGTERM, signal.SIGINT}; signal.pthread_sigmask(signal.SIG_BLOCK, stop)
ctl = Controller(Mailbox(a[2]), hostname="127.0.0.1", port=int(a[1]), **kw)
ctl.start(); print("ready", flush=True)
signal.sigwait(stop); ctl.stop()
