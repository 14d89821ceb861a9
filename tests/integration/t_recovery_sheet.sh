#!/usr/bin/env bash
# t_recovery_sheet.sh: coffre recovery-sheet makes a new recovery key (the old one is refused
# from then on) and writes it on a one-page PDF and an HTML page, both 0600: the PDF's QR code
# decodes (zbarimg) to the exact key, its text holds the shop's name, the key in groups, the
# destinations and the French steps; the HTML holds the same key and escapes the shop's name;
# neither holds a secret of the configuration (S3 keys, an SFTP password in a URL, a webhook
# token, the repository password). The decoded key alone, without the password, restores the
# tree on a machine with an empty cache. A bad option makes no key.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for t in pdftotext pdftoppm pdfinfo zbarimg; do
	command -v "$t" >/dev/null || skip "$t is missing (apt-get install poppler-utils zbar-tools)"
done
setup
T=$TESTDIR
SHEET=$T/sheet
mkdir -p "$SHEET"
chmod 600 "$COFFRE_PASSWORD_FILE"

log "init, back up a small tree"
expect_exit 0 cf --json init
OLD=$(json_get "$OUT" recovery_key)
gen_data "$T/src" --size tiny --seed 5
expect_exit 0 cf -q backup "$T/src"

log "a configuration with destinations and secrets that must not reach the sheet"
S3_SECRET=wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRET
NAS_PASSWORD=nas-Pa55word-XYZ
HOOK_TOKEN=hook-token-8d1f2e
printf 'AKIAIOSFODNN7EXAMPLE\n%s\n' "$S3_SECRET" >"$T/s3-keys"
printf 'not a real key\n' >"$T/sftp-key"
chmod 600 "$T/s3-keys" "$T/sftp-key"
CONF=$T/coffre.conf
cat >"$CONF" <<EOF
[backup]
path = $T/src
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
[destination cle-usb]
url = usb:COFFRE-TEST
[destination nuage-ovh]
url = s3://s3.example.net/boutique-bk/coffre
s3-keys-file = $T/s3-keys
s3-region = eu-west-3
[destination nas-bureau]
url = sftp://boutique:$NAS_PASSWORD@nas.example.net/srv/coffre
sftp-key-file = $T/sftp-key
sftp-host-key = SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s
[alert]
shop-name = Boulangerie <Martin> & Fils
language = fr
webhook-url = https://hooks.example.net/coffre
webhook-header = Authorization: Bearer $HOOK_TOKEN
EOF

log "a bad language or folder is refused before any key is made"
expect_exit 2 cf recovery-sheet --out "$SHEET" --config "$CONF" --language de
expect_exit 2 cf recovery-sheet --out "$T/none" --config "$CONF"
[ -z "$(ls -A "$SHEET")" ] || fail "a refused recovery-sheet wrote files"
printf '%s\n' "$OLD" >"$T/old.key"
expect_exit 0 cf --recovery-key-file "$T/old.key" snapshots

log "recovery-sheet (French from [alert] language)"
expect_exit 0 cf recovery-sheet --out "$SHEET" --config "$CONF"
grep -q "previous one no longer works" "$ERR" || fail "recovery-sheet did not say the old key is retired"
grep -q "Delete both files" "$ERR" || fail "recovery-sheet did not say to delete the files"
PDF=$SHEET/coffre-recovery-sheet.pdf
HTML=$SHEET/coffre-recovery-sheet.html
[ "$(ls -A "$SHEET" | sort | tr '\n' ' ')" = "coffre-recovery-sheet.html coffre-recovery-sheet.pdf " ] ||
	fail "the sheet's folder holds: $(ls -A "$SHEET")"
for f in "$PDF" "$HTML"; do
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f has mode $(stat -c %a "$f"), not 600"
done
grep -q "Pages: *1$" <<<"$(pdfinfo "$PDF")" || fail "the PDF is not one page"
grep -q "A4" <<<"$(pdfinfo "$PDF")" || fail "the PDF is not A4"

log "the QR code decodes to the new key"
pdftoppm -r 150 -png -singlefile "$PDF" "$LOGDIR/sheet" || fail "pdftoppm failed"
zbarimg --raw -q "$LOGDIR/sheet.png" >"$LOGDIR/qr" 2>"$LOGDIR/zbarimg.err" || fail "zbarimg found no QR code"
[ "$(wc -l <"$LOGDIR/qr")" = 1 ] || fail "zbarimg found $(wc -l <"$LOGDIR/qr") codes"
NEW=$(cat "$LOGDIR/qr")
[[ $NEW =~ ^[0-9a-f]{4}(-[0-9a-f]{4}){15}$ ]] || fail "the QR code holds '$NEW', not a recovery key"
[ "$NEW" != "$OLD" ] || fail "the sheet holds the old recovery key"
grep -qF -- "$NEW" "$OUT" "$ERR" && fail "recovery-sheet printed the key on the terminal"

# The key as printed: 4 lines of 4 groups.
digits=${NEW//-/}
LINES=()
for i in 0 16 32 48; do
	d=${digits:$i:16}
	LINES+=("${d:0:4}-${d:4:4}-${d:8:4}-${d:12:4}")
done

log "the PDF's text: shop, grouped key, destinations, French steps"
pdftotext "$PDF" "$LOGDIR/sheet.txt" || fail "pdftotext failed"
want_pdf() { grep -qF -- "$1" "$LOGDIR/sheet.txt" || fail "the PDF's text lacks '$1'"; }
want_pdf "Boulangerie <Martin> & Fils"
want_pdf "Fiche de secours"
for l in "${LINES[@]}"; do want_pdf "$l"; done
for w in cle-usb usb:COFFRE-TEST nuage-ovh s3://s3.example.net/boutique-bk/coffre eu-west-3 \
	nas-bureau sftp://boutique@nas.example.net/srv/coffre "$COFFRE_REPOSITORY" \
	"Installez coffre sur le nouvel ordinateur" "Branchez le disque USB" \
	"Tapez la clé de secours" "Affichez la liste des sauvegardes" \
	"Restaurez la dernière sauvegarde" "--recovery-key-file /root/recovery.txt"; do
	want_pdf "$w"
done

log "the HTML: same key, shop name escaped, QR inline, nothing fetched"
want_html() { grep -qF -- "$1" "$HTML" || fail "the HTML lacks '$1'"; }
for l in "${LINES[@]}"; do want_html "$l"; done
want_html "Boulangerie &lt;Martin&gt; &amp; Fils"
grep -qF "<Martin>" "$HTML" && fail "the HTML holds the shop's name unescaped"
want_html "<svg"
want_html "@media print"
want_html "coffre --repo usb:COFFRE-TEST --recovery-key-file /root/recovery.txt restore latest --target /srv/restore --verify"
grep -qE '(src|href|url)[=(]' "$HTML" && fail "the HTML refers to an outside resource"

log "no secret in either file"
pw=$(cat "$COFFRE_PASSWORD_FILE")
for s in "$S3_SECRET" AKIAIOSFODNN7EXAMPLE "$NAS_PASSWORD" "$HOOK_TOKEN" "$pw"; do
	grep -qF -- "$s" "$LOGDIR/sheet.txt" && fail "the PDF holds the secret '$s'"
	grep -qF -- "$s" "$HTML" && fail "the HTML holds the secret '$s'"
done

log "the old recovery key is refused, the new one alone restores (no password, empty cache)"
unset COFFRE_PASSWORD_FILE
export XDG_CACHE_HOME=$T/new-pc-cache
expect_exit 12 cf --recovery-key-file "$T/old.key" snapshots
printf '%s\n' "$NEW" >"$T/new.key"
expect_exit 0 cf -q --recovery-key-file "$T/new.key" restore latest --target "$T/r" --verify
compare_trees "$T/src" "$T/r$T/src"

log "in English, with --shop-name, opened with the recovery key: the French sheet's key retires"
expect_exit 0 cf --recovery-key-file "$T/new.key" recovery-sheet --out "$SHEET" --config "$CONF" \
	--language en --shop-name "Shop & Co"
pdftotext "$PDF" "$LOGDIR/sheet-en.txt" || fail "pdftotext failed"
for w in "Shop & Co" "Recovery key" "Install coffre on the new computer" \
	"Restore the latest backup"; do
	grep -qF -- "$w" "$LOGDIR/sheet-en.txt" || fail "the English PDF lacks '$w'"
done
pdftoppm -r 150 -png -singlefile "$PDF" "$LOGDIR/sheet-en" || fail "pdftoppm failed"
EN=$(zbarimg --raw -q "$LOGDIR/sheet-en.png" 2>>"$LOGDIR/zbarimg.err") || fail "zbarimg found no QR code in the English sheet"
[ "$EN" != "$NEW" ] || fail "the second sheet holds the first one's key"
expect_exit 12 cf --recovery-key-file "$T/new.key" snapshots
printf '%s\n' "$EN" >"$T/en.key"
expect_exit 0 cf --recovery-key-file "$T/en.key" snapshots

log "many destinations still make one page, whose QR code still reads"
for i in $(seq 1 14); do
	printf '[destination usb-%02d]\nurl = usb:COFFRE-%02d-with-a-rather-long-label\n' "$i" "$i"
done >>"$CONF"
expect_exit 0 cf --recovery-key-file "$T/en.key" recovery-sheet --out "$SHEET" --config "$CONF"
grep -q "Pages: *1$" <<<"$(pdfinfo "$PDF")" || fail "16 places make more than one page"
pdftotext "$PDF" "$LOGDIR/sheet-many.txt" || fail "pdftotext failed"
grep -qF "usb:COFFRE-14-with-a-rather-long-label" "$LOGDIR/sheet-many.txt" ||
	fail "the last destination is not on the page"
pdftoppm -r 150 -png -singlefile "$PDF" "$LOGDIR/sheet-many" || fail "pdftoppm failed"
MANY=$(zbarimg --raw -q "$LOGDIR/sheet-many.png" 2>>"$LOGDIR/zbarimg.err") ||
	fail "zbarimg found no QR code on the shrunk page"
printf '%s\n' "$MANY" >"$T/many.key"
expect_exit 0 cf --recovery-key-file "$T/many.key" snapshots

log "a sheet that cannot be written: the new key is printed, and it opens the repository"
mkdir -p "$T/blocked/coffre-recovery-sheet.pdf"
expect_exit 1 cf --recovery-key-file "$T/many.key" recovery-sheet --out "$T/blocked" \
	--config "$CONF"
grep -q "cannot write the recovery sheet" "$ERR" || fail "no error said the sheet is not written"
sed -n 's/^Recovery key: //p' "$OUT" >"$T/printed.key"
[ -s "$T/printed.key" ] || fail "the key of a sheet not written was not printed"
expect_exit 12 cf --recovery-key-file "$T/many.key" snapshots
expect_exit 0 cf --recovery-key-file "$T/printed.key" snapshots
[ -z "$(find "$T/blocked" -name '*.tmp')" ] || fail "temporary files left in $T/blocked"

log "init --sheet: the sheet of a new repository holds the key init prints"
mkdir "$T/sheet2"
printf 'another password\n' >"$T/password2"
chmod 600 "$T/password2"
expect_exit 2 cf --repo "$T/repo2" --password-file "$T/password2" init --sheet "$T/sheet2" \
	--language xx
[ ! -e "$T/repo2" ] || fail "init with a bad --language made a repository"
expect_exit 0 cf --json --repo "$T/repo2" --password-file "$T/password2" init --sheet "$T/sheet2" \
	--shop-name "Atelier Neuf" --language en
KEY2=$(json_get "$OUT" recovery_key)
[ "$(json_get "$OUT" sheet.pdf)" = "$T/sheet2/coffre-recovery-sheet.pdf" ] || fail "init --json: no sheet.pdf"
pdftoppm -r 150 -png -singlefile "$T/sheet2/coffre-recovery-sheet.pdf" "$LOGDIR/sheet2" ||
	fail "pdftoppm failed"
[ "$(zbarimg --raw -q "$LOGDIR/sheet2.png" 2>>"$LOGDIR/zbarimg.err")" = "$KEY2" ] ||
	fail "the QR code of init's sheet is not the key init printed"
grep -qF "Atelier Neuf" <<<"$(pdftotext "$T/sheet2/coffre-recovery-sheet.pdf" -)" ||
	fail "init's sheet lacks the shop's name"
pass
