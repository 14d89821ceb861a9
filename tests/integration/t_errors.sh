#!/usr/bin/env bash
# t_errors.sh: exit codes and error lines for user mistakes, and the key commands.
#  - wrong password (file, env): exit 12, exactly one stderr line "coffre: ...", for every
#    command that opens the repository, and not one byte written to the repository;
#  - --repo / COFFRE_REPOSITORY naming a missing path, an empty dir, a dir that is not a
#    repository: exit 10, nothing created or written;
#  - init on an existing repository or a non-empty dir: non-zero, nothing changed;
#  - usage errors: exit 2; --help on every command: exit 0;
#  - restore with --recovery-key-file (key from init --json) works, a wrong key gives 12;
#  - the key cache: written for a password file (mode 600), not with COFFRE_KEY_CACHE=no;
#  - key passwd: old password 12, new 0 (recovery key still works), even with an old key cache;
#  - key recovery-rotate: old recovery key 12, new one 0 (password still works).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

SRC=$TESTDIR/data/src
REPO=$COFFRE_REPOSITORY
printf '%s' 'not the password' >"$TESTDIR/wrongpw"
printf '%s' 'a new, longer passphrase' >"$TESTDIR/newpw"

log "usage errors and --help (no repository needed)"
expect_exit 2 env -u COFFRE_REPOSITORY "$COFFRE" --no-such-option
expect_exit 2 env -u COFFRE_REPOSITORY "$COFFRE" no-such-command
expect_exit 2 cf snapshots --no-such-option
for c in init backup snapshots ls find diff restore dump check rebuild-index forget prune key; do
	expect_exit 0 env -u COFFRE_REPOSITORY -u COFFRE_PASSWORD_FILE "$COFFRE" "$c" --help
	[ -s "$OUT" ] || fail "'coffre $c --help' printed nothing on stdout"
done
[ ! -e "$REPO" ] || fail "usage errors or --help created the repository"

log "init --json"
expect_exit 0 cf --json init
RK=$(json_get "$OUT" recovery_key)
REPO_ID=$(json_get "$OUT" id)
[ -n "$RK" ] || fail "init --json: empty recovery_key"
printf '%s\n' "$RK" >"$TESTDIR/rk"
log "human init output names the recovery key"
expect_exit 0 cf --repo "$TESTDIR/repo2" init
grep -Eq '^Recovery key: [^ ]+' "$OUT" || fail "init output has no 'Recovery key: ' line"
rm -rf "$TESTDIR/repo2"

log "backup a tiny tree"
mkdir -p "$TESTDIR/data"
gen_data "$SRC" --seed 3 --size tiny
expect_exit 0 cf backup "$SRC"

# state: files of the repository with size, mtime and sha256
repo_state "$REPO" >"$LOGDIR/state.0"
same_repo() {
	repo_state "$REPO" >"$LOGDIR/state.1"
	diff "$LOGDIR/state.0" "$LOGDIR/state.1" >&2 || fail "$1 wrote to the repository"
}

log "wrong password: exit 12, one stderr line, nothing written"
W=(env COFFRE_PASSWORD_FILE="$TESTDIR/wrongpw" "$COFFRE")
for args in "snapshots" "backup $SRC" "check" "check --read-data" "ls latest" "find vide.txt" \
	"restore latest --target $TESTDIR/r-wrong" "dump latest / --format tar" \
	"forget --keep-last 1 --prune" "prune" "rebuild-index" \
	"key passwd --new-password-file $TESTDIR/newpw" "key recovery-rotate"; do
	# shellcheck disable=SC2086 # word splitting of $args is wanted (no spaces in paths)
	expect_exit 12 "${W[@]}" $args
	one_error_line "$ERR"
	info "$args: $(cat "$ERR")"
done
same_repo "a command with a wrong password"
[ ! -e "$TESTDIR/r-wrong" ] || [ -z "$(ls -A "$TESTDIR/r-wrong")" ] || fail "restore with a wrong password wrote files"
expect_exit 12 env -u COFFRE_PASSWORD_FILE COFFRE_PASSWORD="not the password" "$COFFRE" snapshots
one_error_line "$ERR"
expect_exit 12 env -u COFFRE_PASSWORD_FILE "$COFFRE" --password-file "$TESTDIR/wrongpw" snapshots
one_error_line "$ERR"
same_repo "a command with a wrong password"
expect_exit 0 env -u COFFRE_PASSWORD_FILE COFFRE_PASSWORD="correct horse battery staple" "$COFFRE" snapshots

log "no repository: missing path, empty dir, other dir -> exit 10, nothing created"
mkdir "$TESTDIR/empty" "$TESTDIR/other"
printf 'not a repository\n' >"$TESTDIR/other/README"
repo_state "$TESTDIR/other" >"$LOGDIR/other.0"
for r in "$TESTDIR/missing" "$TESTDIR/empty" "$TESTDIR/other"; do
	for args in "snapshots" "backup $SRC" "check"; do
		# shellcheck disable=SC2086
		expect_exit 10 cf --repo "$r" $args
		one_error_line "$ERR"
	done
	# shellcheck disable=SC2086
	expect_exit 10 env COFFRE_REPOSITORY="$r" "$COFFRE" snapshots
	one_error_line "$ERR"
	info "$r: $(cat "$ERR")"
done
[ ! -e "$TESTDIR/missing" ] || fail "a command created the missing repository path"
[ -z "$(ls -A "$TESTDIR/empty")" ] || fail "a command wrote into an empty directory"
repo_state "$TESTDIR/other" >"$LOGDIR/other.1"
diff "$LOGDIR/other.0" "$LOGDIR/other.1" || fail "a command wrote into a directory that is not a repository"

log "init on an existing repository or a non-empty dir fails, changes nothing"
expect_exit "1|2|10|11|12" cf init
info "$(cat "$ERR")"
expect_exit "1|2|10|11|12" cf --json init
same_repo "init on an existing repository"
expect_exit "1|2|10|11|12" cf --repo "$TESTDIR/other" init
diff "$LOGDIR/other.0" <(repo_state "$TESTDIR/other") || fail "init wrote into a non-empty directory"
expect_exit 0 cf snapshots

log "restore with --recovery-key-file"
expect_exit 0 env -u COFFRE_PASSWORD_FILE "$COFFRE" --recovery-key-file "$TESTDIR/rk" restore latest --target "$TESTDIR/r1"
compare_trees "$SRC" "$TESTDIR/r1$SRC"
rm -rf "$TESTDIR/r1"
python3 - "$TESTDIR/rk" "$TESTDIR/rk-wrong" <<'PY'
import sys
k = open(sys.argv[1]).read().strip()
i = next(i for i, c in enumerate(k) if c.isalnum())
c = k[i]
alt = ("B" if c == "A" else "A") if c.isalpha() and c.isupper() else ("b" if c == "a" else "a") if c.isalpha() else ("1" if c == "0" else "0")
open(sys.argv[2], "w").write(k[:i] + alt + k[i + 1:] + "\n")
PY
expect_exit 12 env -u COFFRE_PASSWORD_FILE "$COFFRE" --recovery-key-file "$TESTDIR/rk-wrong" snapshots
one_error_line "$ERR"
same_repo "a command with a wrong recovery key"

log "key cache: written for a password file, not with COFFRE_KEY_CACHE=no"
KC=$XDG_CACHE_HOME/coffre/$REPO_ID/key
[ -f "$KC" ] || fail "no key cache after init with a password file"
[ "$(stat -c %a "$KC")" = 600 ] || fail "key cache is not mode 600"
cp "$KC" "$TESTDIR/old-key-cache"
rm "$KC"
expect_exit 0 env COFFRE_KEY_CACHE=no "$COFFRE" snapshots
[ ! -e "$KC" ] || fail "COFFRE_KEY_CACHE=no wrote the key cache"
expect_exit 0 cf snapshots
[ -f "$KC" ] || fail "the key cache was not written again"

log "key passwd"
expect_exit 0 cf key passwd --new-password-file "$TESTDIR/newpw"
expect_exit 12 cf snapshots
one_error_line "$ERR"
log "an old key cache does not let the old password in"
cp "$TESTDIR/old-key-cache" "$KC"
expect_exit 12 cf snapshots
one_error_line "$ERR"
expect_exit 0 env COFFRE_PASSWORD_FILE="$TESTDIR/newpw" "$COFFRE" snapshots
export COFFRE_PASSWORD_FILE=$TESTDIR/newpw
expect_exit 0 env -u COFFRE_PASSWORD_FILE "$COFFRE" --recovery-key-file "$TESTDIR/rk" snapshots

log "key recovery-rotate"
expect_exit 0 cf key recovery-rotate
NEWRK=$(sed -n 's/^Recovery key: *//p' "$OUT" | head -n 1)
[ -n "$NEWRK" ] || fail "key recovery-rotate printed no 'Recovery key: ' line"
[ "$NEWRK" != "$RK" ] || fail "key recovery-rotate printed the old key"
printf '%s\n' "$NEWRK" >"$TESTDIR/rk2"
expect_exit 12 env -u COFFRE_PASSWORD_FILE "$COFFRE" --recovery-key-file "$TESTDIR/rk" snapshots
one_error_line "$ERR"
expect_exit 0 env -u COFFRE_PASSWORD_FILE "$COFFRE" --recovery-key-file "$TESTDIR/rk2" restore latest --target "$TESTDIR/r2"
compare_trees "$SRC" "$TESTDIR/r2$SRC"
expect_exit 0 cf snapshots

pass
