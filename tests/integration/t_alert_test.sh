#!/usr/bin/env bash
# t_alert_test.sh: `coffre alert test` delivers through real servers started here, and says
# plainly why it could not:
#  - mail through STARTTLS (required) with AUTH to two recipients, in French: it arrives with
#    the right subject (RFC 2047), recipients, Date, Message-ID, UTF-8 body; the webhook's JSON
#    follows the schema coffre-alert/1 and carries webhook-header;
#  - mail through smtps:// (TLS from the start), in English;
#  - a wrong password: "login refused", exit 1; a server without STARTTLS: "TLS failure";
#    a certificate not trusted: "TLS failure"; nobody listening: "connection refused".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

PY=/usr/bin/python3
$PY -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd is needed (scripts/install-deps.sh)"
command -v openssl >/dev/null || skip "openssl is needed"
SERVERS=$COFFRE_TESTS/servers
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start NAME CMD...: a server in the background; waits for its "ready" line.
start() {
	local name=$1
	shift
	"$@" >"$LOGDIR/$name.out" 2>"$LOGDIR/$name.err" &
	BG_PIDS+=("$!")
	wait_for 30 "$name ready" grep -q ready "$LOGDIR/$name.out"
}

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
	-keyout "$TESTDIR/key.pem" -out "$TESTDIR/cert.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other \
	-keyout "$TESTDIR/other-key.pem" -out "$TESTDIR/other.pem" 2>/dev/null
TP=$(free_port)
start smtp-tls $PY "$SERVERS/smtp_sink.py" "$TP" "$TESTDIR/mail-tls" starttls \
	"$TESTDIR/cert.pem" "$TESTDIR/key.pem" 'shop:s3cret pw'
SP=$(free_port)
start smtps $PY "$SERVERS/smtp_sink.py" "$SP" "$TESTDIR/mail-smtps" smtps \
	"$TESTDIR/cert.pem" "$TESTDIR/key.pem" 'shop:s3cret pw'
PP=$(free_port)
start smtp-plain $PY "$SERVERS/smtp_sink.py" "$PP" "$TESTDIR/mail-plain"
HP=$(free_port)
start hook $PY "$SERVERS/hook_sink.py" "$HP" "$TESTDIR/hooks.jsonl"
DEAD=$(free_port)

mkdir -p "$TESTDIR/src"
chmod 600 "$COFFRE_PASSWORD_FILE"
printf 's3cret pw\n' >"$TESTDIR/smtp-pw"
chmod 600 "$TESTDIR/smtp-pw"
printf 'wrong\n' >"$TESTDIR/bad-pw"
chmod 600 "$TESTDIR/bad-pw"
# conf FILE ALERT-LINES...: a configuration whose [alert] section has those lines.
conf() {
	local f=$1
	shift
	{
		printf '[backup]\npath = %s\nrepository = %s\npassword-file = %s\n[alert]\n' \
			"$TESTDIR/src" "$COFFRE_REPOSITORY" "$COFFRE_PASSWORD_FILE"
		printf '%s\n' "$@"
	} >"$f"
}
MAIL_TLS=("smtp-url = smtp://127.0.0.1:$TP" "smtp-user = shop" "ca-file = $TESTDIR/cert.pem"
	"mail-to = patron@boulangerie.test" "mail-to = it@federation.test"
	"mail-from = coffre@boulangerie.test")

log "STARTTLS + AUTH, two recipients, French; webhook with a header"
conf "$TESTDIR/fr.conf" "${MAIL_TLS[@]}" "smtp-password-file = $TESTDIR/smtp-pw" \
	"language = fr" "shop-name = Boulangerie Dupont" \
	"webhook-url = http://127.0.0.1:$HP/hook" "webhook-header = X-Token: abc123"
expect_exit 0 cf alert test --config "$TESTDIR/fr.conf"
cat "$OUT"
grep -q "^mail to 2 recipient(s) through smtp://127.0.0.1:$TP: delivered$" "$OUT" ||
	fail "no 'delivered' for the mail"
grep -q "^webhook http://127.0.0.1:$HP/hook: delivered$" "$OUT" || fail "no 'delivered' for the webhook"
mails=("$TESTDIR"/mail-tls/new/*)
[ "${#mails[@]}" = 1 ] || fail "${#mails[@]} mails, expected 1"
$PY "$SERVERS/alert_check.py" mail "${mails[0]}" "subject~[Boulangerie Dupont] Test des alertes" \
	"body~Il vous est parvenu : les alertes fonctionnent" "rcpt=patron@boulangerie.test" \
	"rcpt=it@federation.test" "header=X-Coffre-Condition:test" || fail "the mail is not right"
$PY "$SERVERS/alert_check.py" hook "$TESTDIR/hooks.jsonl" 0 condition=test severity=info \
	state=start language=fr "shop=Boulangerie Dupont" "message~les alertes fonctionnent" \
	"header:X-Token=abc123" || fail "the webhook's JSON is not right"

log "smtps://, English"
conf "$TESTDIR/en.conf" "smtp-url = smtps://127.0.0.1:$SP" "smtp-user = shop" \
	"smtp-password-file = $TESTDIR/smtp-pw" "ca-file = $TESTDIR/cert.pem" \
	"mail-to = owner@shop.test" "language = en" "shop-name = Corner Shop"
expect_exit 0 cf alert test --config "$TESTDIR/en.conf"
mails=("$TESTDIR"/mail-smtps/new/*)
[ "${#mails[@]}" = 1 ] || fail "${#mails[@]} mails through smtps, expected 1"
$PY "$SERVERS/alert_check.py" mail "${mails[0]}" "subject~[Corner Shop] coffre alert test" \
	"body~It reached you: alerts work" "rcpt=owner@shop.test" || fail "the smtps mail is not right"

log "wrong password: login refused, exit 1"
conf "$TESTDIR/bad.conf" "${MAIL_TLS[@]}" "smtp-password-file = $TESTDIR/bad-pw"
expect_exit 1 cf alert test --config "$TESTDIR/bad.conf"
cat "$OUT"
grep -q "^mail: FAILED: mail through smtp://127.0.0.1:$TP: login refused" "$OUT" ||
	fail "no 'login refused'"

log "no STARTTLS offered: TLS failure, nothing sent in clear"
conf "$TESTDIR/plain.conf" "smtp-url = smtp://127.0.0.1:$PP" "mail-to = a@b.test"
expect_exit 1 cf alert test --config "$TESTDIR/plain.conf"
cat "$OUT"
grep -q "TLS failure: the server does not offer STARTTLS" "$OUT" || fail "no STARTTLS failure"
[ ! -d "$TESTDIR/mail-plain/new" ] || [ -z "$(ls "$TESTDIR/mail-plain/new")" ] ||
	fail "a mail went out in clear"

log "a certificate not trusted: TLS failure"
conf "$TESTDIR/cert.conf" "smtp-url = smtp://127.0.0.1:$TP" "mail-to = a@b.test" \
	"ca-file = $TESTDIR/other.pem"
expect_exit 1 cf alert test --config "$TESTDIR/cert.conf"
cat "$OUT"
grep -q "TLS failure: the server's certificate is not trusted" "$OUT" || fail "no certificate failure"

log "nobody listening: connection refused (the other channel still delivered)"
conf "$TESTDIR/dead.conf" "webhook-url = http://127.0.0.1:$DEAD/x" \
	"${MAIL_TLS[@]}" "smtp-password-file = $TESTDIR/smtp-pw"
expect_exit 1 cf alert test --config "$TESTDIR/dead.conf"
cat "$OUT"
grep -q "^webhook: FAILED: webhook http://127.0.0.1:$DEAD/x: connection refused" "$OUT" ||
	fail "no 'connection refused'"
grep -q ": delivered$" "$OUT" || fail "the mail was not delivered beside the failing webhook"

log "a password file readable by others is refused"
chmod 644 "$TESTDIR/smtp-pw"
expect_exit 1 cf alert test --config "$TESTDIR/fr.conf"
grep -q "chmod 600" "$ERR" || fail "no word of the password file's mode"
pass
