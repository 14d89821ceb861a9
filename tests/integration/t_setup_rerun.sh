#!/usr/bin/env bash
# t_setup_rerun: a setup that stopped half-way can be run again; a finished one cannot.
#  - the spool on a 2 MiB tmpfs (needs root, else skipped) and 6 MiB of random files: the
#    first backup fails for lack of room, exit 1, "Not protected yet" and the journal of what
#    it made beside the configuration;
#  - the tmpfs grown (remount), the same command again: it says it replaces what the first
#    one made, ends "Protected: last backup today HH:MM", the journal is gone, the spool holds
#    one snapshot (not two repositories' worth);
#  - a third run is refused, exit 2, in one line that points to --add-drive, and the working
#    configuration is untouched.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
setup
export LC_ALL=C LANGUAGE=en
DISK=$TESTDIR/disk
tmpfs_disk "$DISK" 2m
mkdir -p "$TESTDIR/bin"
printf '#!/bin/sh\nexit 0\n' >"$TESTDIR/bin/groupadd"
chmod +x "$TESTDIR/bin/groupadd"
export PATH=$TESTDIR/bin:$PATH

R=$TESTDIR/root
gen_data "$R/home/shop/Documents" --seed 7 --size small
E=$TESTDIR/etc
C=$E/coffre.conf
S=(--search-root "$R" --smb-conf /dev/null --config "$C" --spool "$DISK/spool"
	--state-dir "$TESTDIR/state" --no-drive)
info "data: $(du -sh "$R/home/shop/Documents" | cut -f1), spool room: 2 MiB"

log "the first setup fails: no room for the first backup"
expect_exit 1 cf --password-file "$TESTDIR/password" setup --yes "${S[@]}"
cp "$OUT" "$LOGDIR/first.out"; cp "$ERR" "$LOGDIR/first.err"
info "said: $(tail -n1 "$OUT")"
grep -q "Not protected yet" "$OUT" || { cat "$OUT" "$ERR"; fail "the failure is not said plainly"; }
! grep -q "^Protected" "$OUT" || fail "protected, though the backup failed"
[ -f "$C" ] || fail "the first run wrote no configuration (the test needs one left behind)"
[ -f "$C.unfinished" ] || fail "no journal of what the unfinished setup made"

log "room made, the same setup again: it replaces what the first one made"
mount -o remount,size=64m "$DISK" || fail "cannot grow the tmpfs"
expect_exit 0 cf --password-file "$TESTDIR/password" setup --yes "${S[@]}"
cp "$OUT" "$LOGDIR/second.out"
grep -q "did not finish" "$OUT" || { cat "$OUT"; fail "the rerun does not say it replaces the earlier one"; }
grep -q -E "^Protected: last backup today [0-9]{2}:[0-9]{2}$" "$OUT" ||
	{ cat "$OUT" "$ERR"; fail "the rerun did not end protected"; }
[ ! -e "$C.unfinished" ] || fail "the journal is left after a finished setup"
expect_exit 0 cf --repo "$DISK/spool" --password-file "$E/password" snapshots --json
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$OUT")
[ "$n" = 1 ] || fail "the spool holds $n snapshots, not 1"
expect_exit 0 cf config check --config "$C"

log "a finished setup is not replaced"
sum=$(md5sum <"$C")
expect_exit 2 cf --password-file "$TESTDIR/password" setup --yes "${S[@]}"
info "refused: $(cat "$ERR")"
[ "$(wc -l <"$ERR")" = 1 ] || fail "the refusal is not one line: $(cat "$ERR")"
grep -q -- "--add-drive" "$ERR" || fail "the refusal does not point to --add-drive"
[ "$(md5sum <"$C")" = "$sum" ] || fail "the working configuration was changed"
pass
