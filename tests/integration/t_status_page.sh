#!/usr/bin/env bash
# t_status_page.sh: coffred's status page (status-page = PORT), seen by Debian's headless
# chromium in French and in English, in three states, each also screenshotted beside the
# build (status-page-green.png, -amber.png, -red.png):
#  - green after a good backup: "Protégé" / "Protected", the copy "à jour" / "up to date";
#  - amber with the copy behind for longer than behind-after (its folder replaced by a file):
#    "Attention", "en retard depuis" / "behind since";
#  - red with the repository moved away (the backup fails): "Non protégé" / "Not protected";
#  - red with a control file changed (the ransomware alarm): "Attaque suspectée" / "Attack
#    suspected", with what to do (status-page-attack.png);
# and: the security headers, no address but 127.0.0.1 in the page, the button only with the
# token of coffre status --page; POST /backup refused (403, no backup) without the token or
# from another site (also a real one: a page elsewhere that submits the form in chromium),
# accepted (a backup runs) with both; 404/405 for the rest; a silent connection closed after
# its timeout; no wake-up of coffred in 10 s with nobody looking.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
daemon_setup
command -v chromium >/dev/null || skip "chromium is not installed (apt-get install chromium)"
command -v curl >/dev/null || skip "curl is not installed"
PNG_DIR=$(cd "$COFFRE_TOOLS/.." && pwd)
PP=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PP
chmod 600 "$COFFRE_PASSWORD_FILE"
mkdir -p "$TESTDIR/src" "$TESTDIR/usb"
echo "facture 1" >"$TESTDIR/src/f.txt"
expect_exit 0 cf init -q
# conf DRILL: the configuration, the copy drilled every DRILL (off: never).
conf() {
	daemon_conf "$CONF" "daily 03:00" "$SOCK" "$STATE" "status-page = $PP" "[alert]" \
		"shop-name = Boulangerie test" "behind-after = 2 s" "[destination usb]" \
		"url = $TESTDIR/usb/coffre" "drill = $1" -- "$TESTDIR/src"
}
conf "3 s"
COFFRE_LOCALEDIR=$COFFRE_TOOLS/../po COFFRED_RETRY_DELAY=3600 "$COFFRED" --config "$CONF" \
	2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred's control socket" test -S "$SOCK"
serves() { curl -s -o /dev/null "$BASE/"; }
wait_for 30 "the status page on $BASE" serves

# page LANG NAME: the DOM as chromium shows it with Accept-Language LANG, into $LOGDIR/NAME
# (tried three times: on a loaded machine chromium may give up on a page it waited for).
CHROME=(timeout 60 chromium --headless --no-sandbox --disable-gpu --timeout=20000)
page() {
	local i
	for i in 1 2 3; do
		"${CHROME[@]}" --user-data-dir="$TESTDIR/chrome-$1" --accept-lang="$1" --lang="$1" \
			--dump-dom "$BASE/" 2>/dev/null >"$LOGDIR/$2" || true
		grep -q 'id="verdict"' "$LOGDIR/$2" && return 0
	done
	fail "chromium showed no status page ($2)"
}
# shot NAME: a screenshot in French, status-page-NAME.png beside the build (made in the
# test's folder, then moved there whole).
shot() {
	local i png=$TESTDIR/status-page-$1.png
	for i in 1 2 3; do
		"${CHROME[@]}" --user-data-dir="$TESTDIR/chrome-fr" --accept-lang=fr --lang=fr \
			--screenshot="$png" --window-size=1100,1500 "$BASE/" 2>/dev/null || true
		[ -s "$png" ] && break
	done
	test -s "$png" || fail "no screenshot of the $1 state"
	mv -f "$png" "$PNG_DIR/status-page-$1.png"
	info "screenshot: $PNG_DIR/status-page-$1.png"
}
# expect STATE FILE WORDS...: the page in FILE is STATE and says each of WORDS.
expect() {
	local st=$1 f=$LOGDIR/$2 w
	shift 2
	grep -q "class=\"v $st\"" "$f" || { grep -o 'class="v [a-z]*"[^<]*' "$f" >&2 || true
		fail "$(basename "$f"): not $st"; }
	for w in "$@"; do
		grep -qF "$w" "$f" || fail "$(basename "$f") does not say '$w'"
	done
}
verdict_is() { curl -s -H 'Accept-Language: en' "$BASE/" >"$LOGDIR/now.html" &&
	grep -q "class=\"v $1\"" "$LOGDIR/now.html"; }
status_json() { cf status --json --socket "$SOCK" >"$ST" 2>/dev/null || true; }
drilled() { status_json; [ "$(json_try "$ST" destinations.0.drill.result)" = ok ] &&
	[ "$(json_try "$ST" state)" = idle ]; }
idle() { status_json; [ "$(json_try "$ST" state)" = idle ]; }

log "coffre status --page: the address with its token"
expect_exit 0 cf status --page --socket "$SOCK"
URL=$(cat "$OUT")
[[ $URL =~ ^http://127\.0\.0\.1:$PP/\?token=[0-9a-f]{64}$ ]] || fail "status --page said '$URL'"
TOKEN=${URL##*token=}
# Readable by root and the socket's group (coffre) only; root alone without that group.
MODE=$(stat -c '%a %G' "$STATE/page-token")
if getent group coffre >/dev/null; then
	[ "$MODE" = "640 coffre" ] || fail "the token file is '$MODE', not '640 coffre'"
else
	[ "${MODE% *}" = 600 ] || fail "the token file is '$MODE', not 600"
fi
grep -qx "$TOKEN" "$STATE/page-token" || fail "the token file does not hold the token"

log "green: a good backup, its copy and its restore drill"
expect_exit 0 cf backup --now --socket "$SOCK"
wait_for 60 "the restore drill of the copy" drilled
page fr green-fr.html
expect green green-fr.html "Protégé" "Dernière sauvegarde" "à jour" \
	"Dernière restauration vérifiée" "Les 30 derniers jours" "Boulangerie test"
page en green-en.html
expect green green-en.html "Protected" "Last backup" "up to date" "Last proven restore" \
	"The last 30 days"
grep -q '<svg' "$LOGDIR/green-en.html" || fail "no chart"
conf off	# no more drills: the runs below are the backups asked for
daemon_hup
wait_for 30 "coffred idle" idle
shot green

log "the page: headers, addresses, no secret, the button only with the token"
curl -s -D "$LOGDIR/headers" -o "$LOGDIR/plain.html" "$BASE/"
for h in "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; img-src data:" \
	"X-Frame-Options: DENY" "Referrer-Policy: no-referrer" "Cache-Control: no-store"; do
	grep -qiF "$h" "$LOGDIR/headers" || fail "no header '$h'"
done
if grep -oE 'https?://[^"'"'"' <>)]*' "$LOGDIR/plain.html" "$LOGDIR/green-fr.html" |
	grep -v ':http://127\.0\.0\.1:' >"$LOGDIR/urls"; then
	cat "$LOGDIR/urls" >&2
	fail "the page names an address other than 127.0.0.1"
fi
grep -qiE '<(script|link|img|iframe)|src=|@import|url\(' "$LOGDIR/plain.html" &&
	fail "the page loads something"
grep -qF 'correct horse' "$LOGDIR/plain.html" && fail "the page shows the passphrase"
grep -q '<form' "$LOGDIR/plain.html" && fail "a button without the token"
grep -qF "$TOKEN" "$LOGDIR/plain.html" && fail "the token in the page without the token"
curl -s -o "$LOGDIR/token.html" "$URL"
grep -q '<form method=post action="/backup">' "$LOGDIR/token.html" || fail "no button with the token"
curl -s -o "$LOGDIR/badtoken.html" "$BASE/?token=${TOKEN%?}0"
[ "${TOKEN: -1}" = 0 ] || ! grep -q '<form' "$LOGDIR/badtoken.html" || fail "a button with a wrong token"

log "the language: French when the browser ranks it above English"
lang_of() { curl -s -H "Accept-Language: $1" "$BASE/" | grep -o '<html lang=[a-z]*' |
	cut -d= -f2; }
for al in "fr" "fr-CH, fr;q=0.9, en;q=0.8" "de, fr;q=0.7, en;q=0.5" "en;q=0.5, fr"; do
	[ "$(lang_of "$al")" = fr ] || fail "Accept-Language '$al' did not give French"
done
for al in "" "en" "en-US,en;q=0.9,fr;q=0.8" "en, fr" "de" "fr;q=0, en;q=0.1"; do
	[ "$(lang_of "$al")" = en ] || fail "Accept-Language '$al' did not give English"
done

log "only GET / and POST /backup"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$BASE/nothing")" = 404 ] || fail "GET /nothing is not 404"
[ "$(code -X PUT "$BASE/")" = 405 ] || fail "PUT / is not 405"
[ "$(code "$BASE/backup")" = 405 ] || fail "GET /backup is not 405"
[ "$(code -H "Host: evil.example:$PP" "$BASE/")" = 403 ] || fail "another Host is served"

log "POST /backup: refused without the token or from another site, accepted with both"
status_json
RUNS=$(json_get "$ST" runs)
[ "$(code -X POST -d token=0 "$BASE/backup")" = 403 ] || fail "a wrong token is accepted"
[ "$(code -X POST -d x=1 "$BASE/backup")" = 403 ] || fail "no token is accepted"
[ "$(code -X POST -H 'Origin: http://evil.example' -d "token=$TOKEN" "$BASE/backup")" = 403 ] ||
	fail "a POST from another site is accepted"
[ "$(code -X POST -H 'Sec-Fetch-Site: cross-site' -d "token=$TOKEN" "$BASE/backup")" = 403 ] ||
	fail "a cross-site POST is accepted"
[ "$(code -X POST -H "Host: evil.example:$PP" -d "token=$TOKEN" "$BASE/backup")" = 403 ] ||
	fail "a POST to another Host is accepted"
# A real browser on another site (another port of 127.0.0.1 is another origin) that knows
# the token and submits the form on its own: chromium sends its Origin, coffred refuses.
mkdir -p "$TESTDIR/evil"
printf '<form method=post action="%s/backup"><input name=token value="%s"></form>%s\n' \
	"$BASE" "$TOKEN" '<script>document.forms[0].submit()</script>' >"$TESTDIR/evil/index.html"
EP=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/bin/python3 -m http.server "$EP" --bind 127.0.0.1 --directory "$TESTDIR/evil" \
	>"$LOGDIR/evil.log" 2>&1 &
BG_PIDS+=("$!")
evil_serves() { curl -s -o /dev/null "http://127.0.0.1:$EP/"; }
wait_for 30 "the other site" evil_serves
refusals() { grep -c "backup request from another site refused" "$DLOG" || true; }
R0=$(refusals)
"${CHROME[@]}" --user-data-dir="$TESTDIR/chrome-evil" --virtual-time-budget=5000 \
	--dump-dom "http://127.0.0.1:$EP/" >"$LOGDIR/evil.html" 2>/dev/null || true
refused_more() { [ "$(refusals)" -gt "$1" ]; }
wait_for 30 "the refusal of the other site's form" refused_more "$R0"
status_json
[ "$(json_get "$ST" runs)" = "$RUNS" ] || fail "a refused POST started a run"
[ "$(code -X POST -H "Origin: $BASE" -H 'Sec-Fetch-Site: same-origin' -d "token=$TOKEN" \
	"$BASE/backup")" = 303 ] || fail "the page's own POST is refused"
ran_more() { status_json; [ "$(json_try "$ST" runs)" -gt "$RUNS" ] &&
	[ "$(json_try "$ST" state)" = idle ]; }
wait_for 60 "the backup asked for by the page" ran_more
[ "$(json_get "$ST" last_backup.run)" -gt "$RUNS" ] || fail "no backup after the page's POST"
[ "$(json_get "$ST" last_backup.result)" = ok ] || fail "the page's backup did not succeed"

log "amber: the copy behind for longer than behind-after"
mv "$TESTDIR/usb/coffre" "$TESTDIR/usb/away"
echo "not a folder" >"$TESTDIR/usb/coffre"
echo "facture 2" >"$TESTDIR/src/g.txt"
expect_exit 0 cf backup --now --socket "$SOCK"
wait_for 30 "the page turning amber" verdict_is amber
page fr amber-fr.html
expect amber amber-fr.html "Attention" "en retard depuis" "La copie « usb » n'a rien reçu" \
	"Que faire"
page en amber-en.html
expect amber amber-en.html "Attention" "behind since" "The copy \"usb\" has received nothing" \
	"What to do"
shot amber

log "a connection that says nothing is closed after its timeout (10 s), meanwhile"
exec 7<>"/dev/tcp/127.0.0.1/$PP"
timeout 60 cat <&7 >/dev/null &
SILENT=$!
BG_PIDS+=("$SILENT")
exec 7>&-
T0=$SECONDS

log "red: the repository moved away, the backup fails"
mv "$COFFRE_REPOSITORY" "$TESTDIR/repo.away"
expect_exit 1 cf backup --now --socket "$SOCK"
wait_for 30 "the page turning red" verdict_is red
page fr red-fr.html
expect red red-fr.html "Non protégé" "La sauvegarde lancée aujourd'hui"
page en red-en.html
expect red red-en.html "Not protected" "failed"
shot red

log "red: a control file changed, the ransomware alarm"
CANARY=$(find "$TESTDIR/src" -name '*coffre-canary*' | head -n 1)
[ -n "$CANARY" ] || fail "no control file in the protected folder"
echo "chiffré" >>"$CANARY"
wait_for 30 "the page saying attack" verdict_is red
attacked() { curl -s -H 'Accept-Language: fr' "$BASE/" >"$LOGDIR/now.html" &&
	grep -q 'Attaque suspectée' "$LOGDIR/now.html"; }
wait_for 30 "the page saying attack" attacked
page fr attack-fr.html
expect red attack-fr.html "Attaque suspectée" "débranchez l'ordinateur" "ne payez pas de rançon"
page en attack-en.html
expect red attack-en.html "Attack suspected" "do not pay a ransom"
shot attack
expect_exit 0 cf alarm clear --socket "$SOCK"

silent_closed() { ! kill -0 "$SILENT" 2>/dev/null; }
wait_for 30 "coffred closing the silent connection" silent_closed
wait "$SILENT" || fail "the silent connection was not closed by coffred (timeout 60 s)"
info "the silent connection closed after about $((SECONDS - T0)) s"

log "idle: nobody looking, no wake-up in 10 s"
wait_for 30 "coffred idle" idle
field() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$DPID/status"; }
asleep() { [ -z "$(pgrep -P "$DPID" || true)" ] &&
	[ "$(awk '{ print $3 }' "/proc/$DPID/stat")" = S ]; }
wait_for 30 "coffred asleep" asleep
V0=$(field voluntary_ctxt_switches)
sleep 10	# not a wait: the idle time observed
V1=$(field voluntary_ctxt_switches)
info "voluntary context switches in 10 s: $((V1 - V0))"
[ "$V1" = "$V0" ] || fail "coffred woke up $((V1 - V0)) times in 10 s with nobody looking"
pass
