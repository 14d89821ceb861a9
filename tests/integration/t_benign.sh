#!/usr/bin/env bash
# t_benign.sh: what a shop does on an ordinary day must not raise the ransomware alarm. On a
# generated shop (make-shop-data) that coffred watches, one after the other, each backed up
# before the next:
#  - three days of shop activity (make-shop-data --mutate);
#  - the accounting SQLite database rewritten and VACUUMed;
#  - a photo import of 500 JPEGs;
#  - a software update rewriting a folder of 120 files;
#  - the user renaming 200 invoices;
#  - the invoices of a year zipped, and the originals deleted;
#  - a gpg-encrypted export of one file.
# After each, the status holds no alarm.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
daemon_setup
SHOP_GEN=$COFFRE_TESTS/../../shared/bench/make-shop-data
[ -x "$SHOP_GEN" ] || skip "no make-shop-data beside the repository (../shared/bench)"
chmod 600 "$COFFRE_PASSWORD_FILE"
TOP=$TESTDIR/data
SRC=$TOP/shop
mkdir -p "$TOP"
expect_exit 0 cf init -q
python3 "$SHOP_GEN" --scale small --seed 9 "$SRC" >"$LOGDIR/gen.out" 2>&1 ||
	{ cat "$LOGDIR/gen.out"; fail "make-shop-data failed"; }
mkdir -p "$SRC/logiciel"
for i in $(seq 1 120); do printf 'module %d version 1\n' "$i" >"$SRC/logiciel/m$i.dat"; done
daemon_conf "$CONF" "after-change 1 s" "$SOCK" "$STATE" -- "$TOP"
"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred's control socket" test -S "$SOCK"
daemon_wait_run 1

# quiet: idle with every change backed up, and no alarm (status exits 5 under one).
quiet() {
	local rc=0
	cf status --json --socket "$SOCK" >"$ST" 2>/dev/null || rc=$?
	[ "$rc" = 5 ] && { cat "$DLOG" >&2; fail "ransomware alarm after: $STEP"; }
	[ "$rc" = 0 ] && [ "$(json_try "$ST" state)" = idle ] &&
		[ "$(json_try "$ST" pending.dirty_folders)" = 0 ] &&
		[ "$(json_try "$ST" last_backup.result)" = ok ]
}
step() {
	STEP=$1
	shift
	log "$STEP"
	local before
	before=$(json_try "$ST" last_backup.run)
	"$@"
	wait_for 120 "the backup after: $STEP" eval \
		'quiet && [ "$(json_try "$ST" last_backup.run)" -gt "$before" ]'
	[ "$(json_get "$ST" alarm)" = null ] || fail "alarm after: $STEP"
}
quiet || true

mutate() { python3 "$SHOP_GEN" --mutate --day "$1" --seed 9 "$SRC" >>"$LOGDIR/gen.out" 2>&1; }
step "day 1 of shop activity" mutate 1
step "day 2 of shop activity" mutate 2
step "day 3 of shop activity" mutate 3
vacuum() {
	python3 - "$SRC/compta/comptabilite.sqlite" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("VACUUM")
c.close()
PY
}
step "the accounting database VACUUMed" vacuum
photos() {
	mkdir -p "$SRC/photos/import"
	local src i=0
	mapfile -t src < <(find "$SRC/photos" -name '*.jpg' -not -path '*/import/*' | sort)
	[ "${#src[@]}" -gt 0 ] || fail "no photo to import"
	while [ "$i" -lt 500 ]; do
		cp "${src[$((i % ${#src[@]}))]}" "$SRC/photos/import/IMG_$(printf %04d "$i").jpg"
		i=$((i + 1))
	done
}
step "a photo import of 500 JPEGs" photos
update() {
	for i in $(seq 1 120); do printf 'module %d version 2 %s\n' "$i" "$(head -c 200 /dev/zero | tr '\0' x)" \
		>"$SRC/logiciel/m$i.dat"; done
}
step "a software update rewriting 120 files" update
rename_invoices() {
	local n=0 f
	while IFS= read -r f && [ "$n" -lt 200 ]; do
		mv "$f" "$(dirname "$f")/archive-$(basename "$f")"
		n=$((n + 1))
	done < <(find "$SRC/factures" -type f -name '*.pdf' | sort)
	[ "$n" = 200 ] || fail "only $n invoices to rename"
}
step "200 invoices renamed" rename_invoices
zip_year() {
	(cd "$SRC/factures" && zip -qr factures-2023.zip 2023 && rm -rf 2023)
}
step "the invoices of 2023 zipped, the originals deleted" zip_year
export_gpg() {
	gpg --batch --yes --pinentry-mode loopback --passphrase secret --symmetric \
		-o "$SRC/clients/clients.csv.gpg" "$SRC/clients/clients.csv" 2>"$LOGDIR/gpg.err"
}
if command -v gpg >/dev/null; then
	step "a gpg-encrypted export of one file" export_gpg
else
	info "(gpg is not installed: that step left out)"
fi
info "no alarm after $(json_get "$ST" last_backup.run) runs"
pass
