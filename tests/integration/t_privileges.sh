#!/usr/bin/env bash
# t_privileges.sh: a root restore leaves out setuid/setgid bits and security.* / trusted.*
# attributes unless --keep-privileges asks for them, and says how many entries it changed.
# A snapshot can come from another machine (or be forged by whoever holds the escrow key):
# restoring it must not hand out a setuid-root program or a file capability.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
T=$TESTDIR
[ "$(id -u)" = 0 ] || skip "needs root (setuid root files and trusted.* attributes)"
command -v setfattr >/dev/null || skip "setfattr (package attr) is missing"

cf init >/dev/null || fail "init failed"
mkdir -p "$T/src/bin"
printf '#!/bin/sh\necho hi\n' >"$T/src/bin/suid"
printf 'data\n' >"$T/src/bin/plain"
chmod 4755 "$T/src/bin/suid"
chmod 2750 "$T/src/bin"
setfattr -n trusted.coffre -v planted "$T/src/bin/plain" 2>/dev/null ||
	skip "this file system takes no trusted.* attributes"
setfattr -n user.note -v kept "$T/src/bin/plain" || skip "no user.* attributes here"
cf backup "$T/src" -q || fail "backup failed"

log "default: no setuid/setgid bit, no trusted.* attribute, user.* kept, and a note"
cf restore latest --target "$T/r1" >"$T/out1" 2>"$T/err1" || { cat "$T/err1"; fail "restore failed"; }
R="$T/r1$T/src"
[ "$(stat -c %a "$R/bin/suid")" = 755 ] || fail "setuid bit restored: $(stat -c %a "$R/bin/suid")"
[ "$(stat -c %a "$R/bin")" = 750 ] || fail "setgid bit restored on the folder: $(stat -c %a "$R/bin")"
if getfattr -n trusted.coffre "$R/bin/plain" >/dev/null 2>&1; then
	fail "trusted.coffre restored"
fi
[ "$(getfattr --only-values -n user.note "$R/bin/plain")" = kept ] || fail "user.note lost"
grep -q "3 entries restored without their setuid/setgid bits" "$T/err1" ||
	{ cat "$T/err1"; fail "the restore does not say what it left out"; }
cmp "$T/src/bin/suid" "$R/bin/suid" || fail "content differs"

log "--json counts them"
cf --json restore latest --target "$T/r2" >"$T/out2" 2>/dev/null || fail "restore --json failed"
[ "$(json_get "$T/out2" unprivileged)" = 3 ] || fail "unprivileged: $(json_get "$T/out2" unprivileged)"

log "--keep-privileges restores them as recorded"
cf restore latest --target "$T/r3" --keep-privileges >/dev/null 2>"$T/err3" ||
	{ cat "$T/err3"; fail "restore --keep-privileges failed"; }
R="$T/r3$T/src"
[ "$(stat -c %a "$R/bin/suid")" = 4755 ] || fail "setuid bit lost: $(stat -c %a "$R/bin/suid")"
[ "$(stat -c %a "$R/bin")" = 2750 ] || fail "setgid bit lost on the folder"
[ "$(getfattr --only-values -n trusted.coffre "$R/bin/plain")" = planted ] || fail "trusted.coffre lost"
if grep -q "without their setuid" "$T/err3"; then fail "a note although nothing was left out"; fi
pass
