#!/usr/bin/env bash
# t_setup: coffre setup from nothing to protected.
#  - --yes on a machine made under --search-root: a user's Documents (the small shop of
#    make-shop-data), another's Bureau, a Samba share (smb.conf), Dolibarr's documents
#    (conf.php), and a FAT32 image mounted with fusefat as the drive (a folder instead
#    without /dev/fuse): the configuration (0640) and password file (0600) written and valid,
#    the first snapshot in the spool and on the drive, the recovery key printed and working,
#    coffred started (--start-daemon) and coffre status showing that first backup at once;
#    the time from start to protected is printed;
#  - a second setup is refused; --add-drive adds a second drive (a FAT32 image on a loop
#    device, named by its label), copies the backups there and makes coffred reload;
#  - --escrow-key: no passphrase asked, the escrow key opens the first snapshot; a drive
#    that cannot be written leaves the backup on the computer, said so, exit 1;
#  - the questions, through a pseudo-terminal (python's pty): Enter at every prompt and the
#    passphrase twice give a working setup; the prompts are counted (the passphrase is the
#    only question that is not a confirmation); a weak passphrase gets a plain sentence;
#    in French, a folder found is unticked and another added by its path.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup
daemon_setup
export LC_ALL=C LANGUAGE=en
SHOP_GEN=$COFFRE_TESTS/../../shared/bench/make-shop-data
[ -x "$SHOP_GEN" ] || SHOP_GEN=$(cd "$COFFRE_TESTS/../.." && pwd)/shared/bench/make-shop-data
[ -x "$SHOP_GEN" ] || skip "no make-shop-data beside the repository (../shared/bench)"

# groupadd would change this machine: a stand-in records the call instead.
mkdir -p "$TESTDIR/bin"
printf '#!/bin/sh\necho "$@" >>"%s/groupadd.calls"\n' "$TESTDIR" >"$TESTDIR/bin/groupadd"
chmod +x "$TESTDIR/bin/groupadd"
export PATH=$TESTDIR/bin:$PATH
export COFFRED

cleanup_hook() {
	local m p
	# coffred started by setup --start-daemon, even when the test stopped before its pid was
	# taken: the pid its status file gives.
	p=$(json_try "$STATE/status.json" pid)
	case $p in [1-9]*)
		grep -q -F "$TESTDIR" "/proc/$p/cmdline" 2>/dev/null && kill "$p" 2>/dev/null ;;
	esac
	if [ -n "${SUF:-}" ]; then usb_release; fi
	for m in $(awk -v d="$TESTDIR/" 'index($2, d) == 1 {print $2}' /proc/self/mounts); do
		fusermount -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || true
	done
}

log "a shop's machine under $TESTDIR/root"
R=$TESTDIR/root
mkdir -p "$R/home/alice" "$R/home/bob/Bureau" "$R/home/bob/Musique" "$R/etc/samba" \
	"$R/var/www/erp/htdocs/conf" "$TESTDIR/share/devis" "$TESTDIR/dolidocs/facture"
"$SHOP_GEN" --scale small "$R/home/alice/Documents" >"$LOGDIR/shop.log" 2>&1 ||
	{ cat "$LOGDIR/shop.log"; fail "make-shop-data failed"; }
echo "note" >"$R/home/bob/Bureau/note.txt"
echo "song" >"$R/home/bob/Musique/song.txt"
echo "devis 1" >"$TESTDIR/share/devis/d1.txt"
echo "FA-001" >"$TESTDIR/dolidocs/facture/FA-001.pdf"
cat >"$R/etc/samba/smb.conf" <<EOF
[global]
   workgroup = BOUTIQUE
   path = /nowhere
[homes]
   browseable = no
[compta]
   comment = devis et factures
   path = $TESTDIR/share
   read only = no
[printers]
   path = /var/spool/samba
EOF
cat >"$R/var/www/erp/htdocs/conf/conf.php" <<EOF
<?php
\$dolibarr_main_url_root='http://localhost/erp';
\$dolibarr_main_document_root='/var/www/erp/htdocs';
\$dolibarr_main_data_root = '$TESTDIR/dolidocs';
\$dolibarr_main_db_host='localhost';
EOF

DRIVE=$TESTDIR/drive
mkdir -p "$DRIVE"
FAT=0
if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ] && command -v fusefat >/dev/null &&
	command -v mkfs.vfat >/dev/null; then
	truncate -s 256M "$TESTDIR/fat.img"
	mkfs.vfat -F 32 -n SHOPDRIVE "$TESTDIR/fat.img" >/dev/null || fail "mkfs.vfat failed"
	fusefat -o rw+ "$TESTDIR/fat.img" "$DRIVE" >"$LOGDIR/fusefat.log" 2>&1 ||
		fail "fusefat cannot mount the image: $(cat "$LOGDIR/fusefat.log")"
	grep -q " $DRIVE fuse" /proc/self/mounts || fail "the FAT32 image is not mounted on $DRIVE"
	FAT=1
else
	info "FAT32 drive skipped (needs root, /dev/fuse, fusefat, dosfstools): a folder instead"
fi

E=$TESTDIR/etc
S=(--search-root "$R" --config "$E/coffre.conf" --spool "$TESTDIR/spool"
	--state-dir "$STATE")
log "coffre setup --yes: from nothing to protected"
t0=$EPOCHREALTIME
expect_exit 0 cf --password-file "$TESTDIR/password" setup --yes "${S[@]}" --drive "$DRIVE" \
	--start-daemon
t1=$EPOCHREALTIME
cp "$OUT" "$LOGDIR/setup-yes.out"
ms=$(( (${t1/./} - ${t0/./}) / 1000 ))
info "setup to first protected backup, small shop ($(du -sh "$R/home/alice/Documents" | cut -f1)), drive $([ $FAT = 1 ] && echo FAT32 || echo folder): $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"
grep -q -E "^Protected: last backup today [0-9]{2}:[0-9]{2}$" "$OUT" ||
	{ cat "$OUT"; fail "setup does not end with 'Protected: last backup today HH:MM'"; }
KEY=$(grep -E -o '^Recovery key: [0-9a-f]{4}(-[0-9a-f]{4}){15}$' "$OUT" | cut -d' ' -f3) ||
	{ cat "$OUT"; fail "no recovery key printed"; }
grep -q "coffre recovery-sheet" "$OUT" || fail "the recovery sheet command is not mentioned"
printf '%s\n' "$KEY" >"$TESTDIR/recovery"

log "the configuration: folders found, drive, modes"
C=$E/coffre.conf
[ "$(stat -c %a "$C")" = 640 ] || fail "coffre.conf has mode $(stat -c %a "$C"), not 640"
[ "$(stat -c %a "$E/password")" = 600 ] || fail "password has mode $(stat -c %a "$E/password")"
[ "$(head -n1 "$E/password")" = "$(cat "$TESTDIR/password")" ] || fail "the password file holds another password"
for p in "$R/home/alice/Documents" "$R/home/bob/Bureau" "$TESTDIR/share" "$TESTDIR/dolidocs"; do
	grep -q -x "path = $p" "$C" || { cat "$C"; fail "'$p' is not in the configuration"; }
done
for p in "$R/home/bob/Musique" /nowhere /var/spool/samba; do
	! grep -q -x "path = $p" "$C" || { cat "$C"; fail "'$p' should not be protected"; }
done
grep -q -x "url = $DRIVE/coffre" "$C" || { cat "$C"; fail "the drive is not a destination"; }
expect_exit 0 cf config check --config "$C"
if [ -f "$TESTDIR/groupadd.calls" ]; then
	grep -q -x -- "--system coffre" "$TESTDIR/groupadd.calls" || fail "groupadd called with $(cat "$TESTDIR/groupadd.calls")"
else
	getent group coffre >/dev/null || fail "the group coffre is missing and groupadd was not called"
fi

log "the first snapshot: in the spool, on the drive, opened with the recovery key"
expect_exit 0 cf --repo "$TESTDIR/spool" --password-file "$E/password" snapshots --json
n_snaps() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$1"; }
[ "$(n_snaps "$OUT")" = 1 ] || fail "the spool holds $(n_snaps "$OUT") snapshots, not 1"
expect_exit 0 cf --repo "$DRIVE/coffre" --recovery-key-file "$TESTDIR/recovery" snapshots --json
[ "$(n_snaps "$OUT")" = 1 ] || fail "the drive holds $(n_snaps "$OUT") snapshots, not 1"
expect_exit 0 cf --repo "$DRIVE/coffre" --recovery-key-file "$TESTDIR/recovery" \
	dump latest "$TESTDIR/dolidocs/facture/FA-001.pdf"
[ "$(cat "$OUT")" = FA-001 ] || fail "the drive gives back '$(cat "$OUT")' for FA-001.pdf"

log "coffred was started (--start-daemon)"
expect_exit 0 cf status --json --config "$C"
DPID=$(json_get "$OUT" pid)
BG_PIDS+=("$DPID")
kill -0 "$DPID" || fail "coffred ($DPID) is not running"
# The first backup is setup's: coffre status shows it at once, not "No backup yet".
expect_exit 0 cf status --config "$C"
info "status: $(head -n1 "$OUT")"
grep -q -E "^Last backup: today [0-9]{2}:[0-9]{2}, also on drive\.$" "$OUT" ||
	{ cat "$OUT"; fail "coffre status does not show setup's first backup"; }

log "a second setup is refused"
expect_exit 2 cf --password-file "$TESTDIR/password" setup --yes "${S[@]}" --no-drive
grep -q -- "--add-drive" "$ERR" || fail "the refusal does not say how to add a drive"
expect_exit 2 env -u COFFRE_PASSWORD_FILE "$COFFRE" setup --yes --search-root "$R" \
	--config "$TESTDIR/none/coffre.conf" --spool "$TESTDIR/none/spool" --no-drive
grep -q -- "--password-file" "$ERR" || fail "--yes without a passphrase does not say how to give one"
[ ! -e "$TESTDIR/none" ] || fail "setup --yes without a passphrase wrote something"

log "setup --add-drive: a second drive, filled now, coffred reloads"
# A FAT32 image on a loop device, given as a device: named usb:LABEL, mounted by coffre.
D2=$TESTDIR/drive2 D2URL=$TESTDIR/drive2/coffre
mkdir -p "$D2"
if [ $FAT = 1 ] && command -v losetup >/dev/null; then
	SUF=$(od -An -N2 -tx2 /dev/urandom | tr -d ' ' | tr a-f A-F)
	LOOPS=()
	truncate -s 128M "$TESTDIR/fat2.img"
	mkfs.vfat -F 32 -n "CFS$SUF" "$TESTDIR/fat2.img" >/dev/null || fail "mkfs.vfat failed"
	if L=$(losetup -f --show "$TESTDIR/fat2.img" 2>/dev/null); then
		LOOPS+=("$L")
		D2=$L D2URL=usb:CFS$SUF
	else
		info "losetup cannot attach an image here: the second drive is a folder"
	fi
fi
expect_exit 0 cf setup --add-drive --yes --config "$C" --drive "$D2"
grep -q -x "\[destination drive-2\]" "$C" || { cat "$C"; fail "no [destination drive-2]"; }
grep -q -x "url = $D2URL" "$C" || { cat "$C"; fail "the second drive is not $D2URL"; }
[ "$(stat -c %a "$C")" = 640 ] || fail "coffre.conf has mode $(stat -c %a "$C") after --add-drive"
grep -q "reads the new configuration" "$OUT" || { cat "$OUT"; fail "coffred was not told to reload"; }
two_dests() {
	cf status --json --config "$C" >"$LOGDIR/status2.json" 2>/dev/null &&
		[ "$(json_try "$LOGDIR/status2.json" destinations.1.name)" = drive-2 ]
}
wait_for 30 "coffred lists the second drive after the reload" two_dests
expect_exit 2 cf setup --add-drive --yes --config "$C" --drive "$D2"
kill "$DPID"
wait_for 10 "coffred stops" gone "$DPID"
expect_exit 0 cf --repo "$D2URL" --password-file "$E/password" snapshots --json
[ "$(n_snaps "$OUT")" -ge 1 ] || fail "the second drive holds no snapshot"

log "setup --yes --escrow-key: no passphrase to give, the escrow key opens the backups; a bad drive"
expect_exit 0 cf key escrow-keygen
grep '^public:' "$OUT" >"$TESTDIR/escrow.pub"
sed -n 's/^secret: //p' "$OUT" >"$TESTDIR/escrow.sec"
X=$TESTDIR/x
mkdir -p "$X/root/home/shop/Documents" "$X/bad"
echo "devis" >"$X/root/home/shop/Documents/devis.txt"
# Its drive cannot be written (where the repository goes is a file): backed up here only.
touch "$X/bad/coffre"
expect_exit 1 env -u COFFRE_PASSWORD_FILE "$COFFRE" setup --yes --search-root "$X/root" \
	--smb-conf /dev/null --config "$X/etc/coffre.conf" --spool "$X/spool" --drive "$X/bad" \
	--state-dir "$X/state" --escrow-key "$TESTDIR/escrow.pub"
grep -q "not yet on the drive" "$OUT" || { cat "$OUT"; fail "a drive that failed is not said plainly"; }
! grep -q "^Protected" "$OUT" || fail "protected, without the drive"
sed -n 's/^Escrow fingerprint.*: //p' "$OUT" >"$X/fingerprints"
[ -s "$X/fingerprints" ] || { cat "$OUT"; fail "no escrow fingerprint printed"; }
[ "$(wc -c <"$X/etc/password")" -ge 33 ] || fail "no random password kept for coffred"
expect_exit 0 cf --repo "$X/spool" --escrow-key-file "$TESTDIR/escrow.sec" \
	--escrow-fingerprints "$X/fingerprints" snapshots --json
[ "$(n_snaps "$OUT")" = 1 ] || fail "the escrow key opens $(n_snaps "$OUT") snapshots, not 1"

log "the questions, through a terminal"
expect_exit 2 cf setup "${S[@]}"
grep -q -- "--yes" "$ERR" || fail "without a terminal, setup does not point to --yes"
I=$TESTDIR/i
mkdir -p "$I/root/home/shop/Documents" "$I/drive"
echo "facture" >"$I/root/home/shop/Documents/f.txt"
cat >"$TESTDIR/drive_tty.py" <<'PY'
# Drives coffre setup through a pseudo-terminal. Each prompt ends with " > "; the passphrase
# prompts (those matching PASSWORD_RE) get the next passphrase of the list, the others the
# next answer of theirs, or Enter once there is none.
#   drive_tty.py LOG PASSWORD_RE PASSPHRASES ANSWERS COMMAND...   (lists: comma-separated)
import os, pty, re, select, sys, time
log, pw_re, argv = sys.argv[1], re.compile(sys.argv[2]), sys.argv[5:]
pws = sys.argv[3].split(",")
answers = sys.argv[4].split(",") if sys.argv[4] else []
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out, seen, prompts, deadline = b"", 0, [], time.time() + 40
# A prompt asked again and again (an answer refused each time) ends the run as well.
while time.time() < deadline and len(prompts) < 12:
    r, _, _ = select.select([fd], [], [], 0.5)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    if len(out) > seen and out.endswith(b" > "):
        line = out.rsplit(b"\n", 1)[-1].decode("utf-8", "replace").strip("\r")
        prompts.append(line)
        seen = len(out)
        if pw_re.search(line):
            answer = pws.pop(0) if pws else ""
        else:
            answer = answers.pop(0) if answers else ""
        os.write(fd, answer.encode() + b"\n")
else:
    os.kill(pid, 9)
_, st = os.waitpid(pid, 0)
open(log, "wb").write(out)
open(log + ".prompts", "w").write("".join(p + "\n" for p in prompts))
sys.exit(os.waitstatus_to_exitcode(st))
PY
PASS="le chat dort sur la caisse"
RC=0
python3 "$TESTDIR/drive_tty.py" "$LOGDIR/pty.out" assphrase "abc123,$PASS,$PASS" "" "$COFFRE" setup \
	--search-root "$I/root" --smb-conf /dev/null --config "$I/etc/coffre.conf" \
	--spool "$I/spool" --state-dir "$I/state" --drive "$I/drive" || RC=$?
P=$LOGDIR/pty.out.prompts
[ "$RC" = 0 ] || { cat "$LOGDIR/pty.out"; fail "interactive setup exited $RC"; }
info "prompts:"; sed 's/^/     /' "$P"
[ "$(wc -l <"$P")" = 5 ] || fail "$(wc -l <"$P") prompts, expected 5 (folders, drive, passphrase twice after a weak one)"
[ "$(grep -c -v "assphrase" "$P")" = 2 ] || fail "questions besides the passphrase: $(grep -v assphrase "$P")"
grep -q "Enter" <(sed -n 1p "$P") || fail "the folders prompt does not say Enter goes on"
grep -q -F "Use the drive drive" <(sed -n 2p "$P") || fail "the drive question: $(sed -n 2p "$P")"
grep -q -F "[Y/n]" <(sed -n 2p "$P") || fail "the drive question has no default shown"
grep -q "too short to be safe" "$LOGDIR/pty.out" || fail "the weak passphrase got no plain sentence"
grep -q -E "Protected: last backup today [0-9]{2}:[0-9]{2}" "$LOGDIR/pty.out" ||
	{ cat "$LOGDIR/pty.out"; fail "the interactive setup did not end protected"; }
! grep -q -F "$PASS" "$LOGDIR/pty.out" || fail "the passphrase was echoed"
printf '%s' "$PASS" >"$TESTDIR/ipass"
expect_exit 0 cf --repo "$I/drive/coffre" --password-file "$TESTDIR/ipass" snapshots --json
[ "$(n_snaps "$OUT")" = 1 ] || fail "the interactive setup's drive holds no snapshot"
grep -q -x "path = $I/root/home/shop/Documents" "$I/etc/coffre.conf" || fail "the folder was not kept"

# In French, untick the folder found and add another one instead.
LD=$(dirname "$COFFRE")/../po
if [ -f "$LD/fr/LC_MESSAGES/coffre.mo" ]; then
	log "en français : décocher le dossier trouvé, en ajouter un autre"
	F=$TESTDIR/f
	mkdir -p "$F/root/home/shop/Documents" "$F/compta"
	echo "bilan" >"$F/compta/bilan.txt"
	RC=0
	LC_ALL=C.UTF-8 LANGUAGE=fr COFFRE_LOCALEDIR=$LD python3 "$TESTDIR/drive_tty.py" "$LOGDIR/fr.out" \
		"hrase de passe" "$PASS,$PASS" "1,$F/compta" "$COFFRE" setup \
		--search-root "$F/root" --smb-conf /dev/null --config "$F/etc/coffre.conf" \
		--spool "$F/spool" --state-dir "$F/state" --no-drive || RC=$?
	[ "$RC" = 0 ] || { cat "$LOGDIR/fr.out"; fail "the French setup exited $RC"; }
	info "prompts:"; sed 's/^/     /' "$LOGDIR/fr.out.prompts"
	[ "$(wc -l <"$LOGDIR/fr.out.prompts")" = 5 ] || fail "expected 5 prompts (untick, add, Enter, passphrase twice)"
	grep -q "Entrée seule" "$LOGDIR/fr.out.prompts" || fail "the folders prompt is not in French"
	grep -q -E "Protégé : dernière sauvegarde aujourd'hui [0-9]{2}:[0-9]{2}" "$LOGDIR/fr.out" ||
		{ cat "$LOGDIR/fr.out"; fail "the French setup did not end protected"; }
	grep -q -x "path = $F/compta" "$F/etc/coffre.conf" || fail "the folder added is not protected"
	! grep -q "path = $F/root" "$F/etc/coffre.conf" || fail "the folder unticked is protected"
else
	info "French part skipped: no catalogue in $LD"
fi
pass
