#!/usr/bin/env bash
# t_hostile.sh: snapshots forged by someone who holds the key (tests/tools/craft_hostile.c)
# are refused and contained; restore, ls, dump and check neither write outside the target,
# nor hang, nor crash.
#
# The cases, their layout (/x/dN/{-before.txt, HOSTILE, ok.txt}) and what the tree format
# can express at all are described in tests/tools/craft_hostile.c.
#
# Every case gets its own copy of one freshly initialised repository (and its own cache),
# then:
#  - restore into $TESTDIR/t-CASE/target, under `timeout` (and `ulimit -v` 2 GiB unless the
#    binary is built with ASan: COFFRE_SANITIZE=1): the exit code is 4 (0 for the legitimate
#    ones), stderr names each hostile entry on a line saying "refused", the restored tree
#    holds exactly the legit entries (every "-before.txt" and "ok.txt" next to a hostile
#    entry included, with the right content), and nothing appeared outside the target:
#    $TESTDIR/t-CASE holds only "target", $OUTSIDE (the directory the entries aim at) only
#    its two empty directories, /tmp/evil-abs does not exist, no "evil*"/"pwned*" file
#    appeared under /tmp or $TESTDIR;
#  - `ls ID` (stdout capped), `dump ID /` (stdout capped, its tar members checked for
#    absolute or ".." names) and `check`: any exit code but a hang (timeout), a crash (>= 128)
#    or a sanitizer report; ls/dump/check may exit 4 where damage is reported.
# Plus: `dump ID /x/d1/bomb` (one file, written as it is) and `prune` on listbomb, refused
# as damage within the timeout; symlink_over restored over symlink_escape's target (a path
# through an existing symlink), restore --verify with a FIFO sitting where a refused file would be, `check` on a
# repository holding every case at once, and a legitimately backed-up 300-deep tree.
#
# Knobs: HOSTILE_TIMEOUT (s, default 60) for each command; HOSTILE_DAG_TIMEOUT (s, default
# 20) for restoring the 2^40-path DAG to disk (every second of it costs disk space);
# HOSTILE_CASES="dotdot nul ..." to run a subset.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

CRAFT=
for c in ${COFFRE_TOOLS:+"$COFFRE_TOOLS/craft_hostile"} "$(dirname "$COFFRE")/../tests/craft_hostile"; do
	if [ -x "$c" ]; then
		CRAFT=$c
		break
	fi
done
[ -n "$CRAFT" ] || skip "no craft_hostile helper (set COFFRE_TOOLS to the build's tests/ dir)"
command -v timeout >/dev/null || skip "timeout(1) is needed"
TO=${HOSTILE_TIMEOUT:-60}
DAG_TO=${HOSTILE_DAG_TIMEOUT:-20}
ALL_CASES="dotdot absolute slash nul symlink_escape symlink_over longname hugesize deep selfref count listbomb"
CASES=${HOSTILE_CASES:-$ALL_CASES}
CAP=$((16 << 20))	# bytes of stdout kept from ls and dump

# ASan reserves terabytes of address space for its shadow memory: no ulimit -v then.
ASAN=${COFFRE_SANITIZE:-0}
info "craft_hostile: $CRAFT; timeout ${TO}s (DAG restore ${DAG_TO}s); asan=$ASAN"

OUTSIDE=$TESTDIR/outside
mkdir -p "$OUTSIDE/sym-abs" "$OUTSIDE/sym-rel"
TMP_EVIL_BEFORE=0
[ ! -e /tmp/evil-abs ] && [ ! -L /tmp/evil-abs ] || TMP_EVIL_BEFORE=1
SENTINEL=$TESTDIR/sentinel
touch "$SENTINEL"

# Problems are collected, not fatal, so that one run shows all of them.
PROBLEMS=()
bad() {
	PROBLEMS+=("$*")
	printf '   PROBLEM: %s\n' "$*"
}

# run NAME TIMEOUT cmd...: run cmd under timeout (and ulimit -v without ASan); stdout in $OUT
# (first $CAP bytes), stderr in $ERR, exit code in $RC, seconds in $SECS.
run() {
	local name=$1 to=$2 t0 t1
	shift 2
	OUT=$LOGDIR/$name.out
	ERR=$LOGDIR/$name.err
	RUN_TO=$to
	t0=$(date +%s.%N)
	RC=0
	(
		set +e +o pipefail
		[ "$ASAN" = 1 ] || ulimit -v $((2 << 20))
		timeout -k 5 "$to" "$@" </dev/null 2>"$ERR" | { head -c "$CAP" >"$OUT"; cat >/dev/null; }
		exit "${PIPESTATUS[0]}"
	) || RC=$?
	t1=$(date +%s.%N)
	SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
}

# verdict WHAT ALLOWED: judge the last run: hang, crash, sanitizer report, exit code not in
# ALLOWED ("0|4"). Returns 1 on a hang.
verdict() {
	local what=$1 allowed=$2
	info "$what: exit $RC in ${SECS}s"
	if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$ERR"; then
		bad "$what: sanitizer report (see $ERR)"
		grep -E -m 5 'Sanitizer|runtime error|#[0-9] ' "$ERR" | sed 's/^/      /' | cut -c1-200
	fi
	if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
		bad "$what: still running after ${RUN_TO}s, killed (hang or unbounded work)"
		return 1
	fi
	if [ "$RC" -ge 128 ]; then
		bad "$what: crashed (exit $RC: signal $((RC - 128)))"
		return 0
	fi
	case "|$allowed|" in
	*"|$RC|"*) ;;
	*)
		bad "$what: exit $RC, expected $allowed"
		sed 's/^/      /' "$ERR" | head -n 10 | cut -c1-200
		;;
	esac
	return 0
}

# refused CASE PATH [NAMEPART]: stderr of the last run has a line saying "refused" that names
# PATH (and NAMEPART).
refused() {
	local c=$1 p=$2 part=${3:-} also=
	[ -z "$part" ] || also=" and \"$part\""
	if ! grep -qF -- "$part" <<<"$(grep -F 'refused' "$ERR" | grep -F -- "$p")"; then
		bad "$c: stderr has no 'refused' line naming \"$p\"$also"
	fi
}

# named CASE PATH: stderr of the last run names PATH (any message).
named() {
	grep -qF -- "'$2" "$ERR" || bad "$1: stderr does not name '$2'"
}

# tree_is CASE DIR SPEC: DIR holds exactly what SPEC says. SPEC lines, tab-separated:
#   req|opt  f|d|l|p  PATH  [CONTENT or symlink TARGET, with \n escapes]
#   optre    f|d|l|*  REGEX   (any number of entries whose path matches)
# req entries must exist (type and content as given), opt ones may; anything else is stray.
tree_is() {
	local c=$1 dir=$2 spec=$3 msg
	if ! msg=$(python3 - "$dir" "$spec" <<'PY'
import os, re, stat, sys
root, spec = os.fsencode(sys.argv[1]), sys.argv[2]
want, pats = {}, []
for ln in open(spec, "rb").read().split(b"\n"):
    if not ln:
        continue
    f = ln.split(b"\t")
    kind, typ, path = f[0].decode(), f[1].decode(), f[2]
    val = f[3].decode("unicode_escape").encode("latin-1") if len(f) > 3 else None
    if kind == "optre":
        pats.append((typ, re.compile(path + b"\\Z")))
    else:
        want[path] = (kind, typ, val)
have = {}
def walk(rel):
    full = os.path.join(root, rel) if rel else root
    for n in os.listdir(full):
        r = rel + b"/" + n if rel else n
        st = os.lstat(os.path.join(root, r))
        m = st.st_mode
        t = "d" if stat.S_ISDIR(m) else "f" if stat.S_ISREG(m) else "l" if stat.S_ISLNK(m) \
            else "p" if stat.S_ISFIFO(m) else "?"
        have[r] = t
        if t == "d":
            walk(r)
if os.path.isdir(root):
    walk(b"")
out = []
def show(p):
    return p.decode("utf-8", "backslashreplace") if len(p) < 120 else \
        p[:50].decode("utf-8", "backslashreplace") + "...(%d bytes)" % len(p)
for p, (kind, typ, val) in sorted(want.items()):
    if p not in have:
        if kind == "req":
            out.append("missing %s %s" % (typ, show(p)))
        continue
    if have[p] != typ:
        out.append("%s is %s, expected %s" % (show(p), have[p], typ))
        continue
    full = os.path.join(root, p)
    if val is not None and typ == "f" and open(full, "rb").read() != val:
        out.append("%s has the wrong content" % show(p))
    if val is not None and typ == "l" and os.readlink(full) != val:
        out.append("%s points to %r, expected %r" % (show(p), os.readlink(full), val))
for p, t in sorted(have.items()):
    if p in want or any((pt == "*" or pt == t) and r.match(p) for pt, r in pats):
        continue
    out.append("unexpected %s %s" % (t, show(p)))
print("; ".join(out[:12]) + (" (+%d more)" % (len(out) - 12) if len(out) > 12 else ""))
sys.exit(1 if out else 0)
PY
	); then
		bad "$c: restored tree: $msg"
	fi
}

# no_escape CASE: nothing was written outside the case's target.
no_escape() {
	local c=$1 stray
	stray=$(find "$TESTDIR/t-$c" -mindepth 1 -maxdepth 1 ! -name target -printf '%f ' 2>/dev/null || true)
	[ -z "$stray" ] || bad "$c: written beside the target: $stray"
	stray=$(find "$OUTSIDE" -mindepth 1 ! -path "$OUTSIDE/sym-abs" ! -path "$OUTSIDE/sym-rel" -printf '%P ' || true)
	[ -z "$stray" ] || bad "$c: written into the outside directory: $stray"
	if [ "$TMP_EVIL_BEFORE" = 0 ] && { [ -e /tmp/evil-abs ] || [ -L /tmp/evil-abs ]; }; then
		bad "$c: /tmp/evil-abs was created"
		rm -rf /tmp/evil-abs
	fi
	stray=$( { find /tmp -xdev -maxdepth 2 -newer "$SENTINEL" \( -name 'evil*' -o -name 'pwned*' \) -print 2>/dev/null
		find "$TESTDIR" -maxdepth 3 -newer "$SENTINEL" \( -name 'evil*' -o -name 'pwned*' \) -print 2>/dev/null; } | sort -u | tr '\n' ' ' || true)
	[ -z "$stray" ] || bad "$c: escape targets exist: $stray"
}

# members_ok CASE TARFILE: the (possibly truncated) tar has no absolute or ".." member names.
members_ok() {
	local msg
	if ! msg=$(python3 - "$2" <<'PY'
import sys, tarfile
badn = []
try:
    with tarfile.open(sys.argv[1], "r|") as t:
        for m in t:
            parts = m.name.split("/")
            if m.name.startswith("/") or ".." in parts or "\0" in m.name:
                badn.append(m.name)
except (tarfile.TarError, EOFError, OSError):
    pass   # capped or cut short by a refused run: what was read is checked
print(" ".join(repr(n) for n in badn[:5]))
sys.exit(1 if badn else 0)
PY
	); then
		bad "$1: dump wrote hostile member names into the archive: $msg"
	fi
}

# std CASE DIR...: spec lines for x/ok.txt and, in each DIR, -before.txt and ok.txt.
std() {
	printf 'req\td\tx\n'
	printf 'req\tf\tx/ok.txt\tok\\n\n'
	local d
	for d in "$@"; do
		printf 'req\td\tx/%s\n' "$d"
		printf 'req\tf\tx/%s/-before.txt\tbefore\\n\n' "$d"
		printf 'req\tf\tx/%s/ok.txt\tok\\n\n' "$d"
	done
}

L255=$(printf 'L%.0s' $(seq 255))
M16=MMMMMMMMMMMMMMMM
UP=$(printf '../%.0s' $(seq 40))

# expectations CASE: exit codes allowed for restore, then the spec on stdout; refusal
# checks are in check_stderr.
expect_rc() {
	case $1 in
	symlink_over) echo 0 ;;
	selfref) echo "0|4" ;;
	*) echo 4 ;;
	esac
}

spec() {
	case $1 in
	dotdot) std d1 d2 d3 ;;
	absolute) std d1 d2 ;;
	slash)
		std d1
		printf 'req\td\tx/d1/a\n'
		;;
	nul) std d1 ;;
	symlink_escape)
		std d1 d2 d3 d4
		printf 'req\tl\tx/d1/link\t%s\n' "$OUTSIDE/sym-abs"
		printf 'req\tl\tx/d1/link2\t%s\n' "$UP${OUTSIDE#/}/sym-rel"
		# duplicates: the first of the two "a" may be restored, the second never
		printf 'opt\tl\tx/d2/a\t%s\n' "$OUTSIDE"
		printf 'opt\td\tx/d3/a\n'
		printf 'opt\tf\tx/d3/a/pwned\tpwned\\n\n'
		printf 'req\tl\tx/d4/s\t..\n'
		printf 'req\td\tx/d4/t\n'
		printf 'req\tf\tx/d4/t/pwned-t\tpwned-t\\n\n'
		;;
	symlink_over)
		std d1 d2
		printf 'req\td\tx/d1/link\nreq\tf\tx/d1/link/pwned\tpwned\\n\n'
		printf 'req\td\tx/d1/link2\nreq\tf\tx/d1/link2/pwned\tpwned\\n\n'
		printf 'req\td\tx/d2/a\nreq\tf\tx/d2/a/pwned\tpwned\\n\n'
		;;
	longname)
		std d1
		printf 'req\tf\tx/d1/%s\tlong\\n\n' "$L255"
		;;
	hugesize) std d1 ;;
	deep)
		printf 'req\td\tx\nreq\tf\tx/ok.txt\tok\\n\nreq\tf\tx/-before.txt\tbefore\\n\n'
		printf 'optre\td\tx(/d){1,300}\n'
		;;
	selfref)
		printf 'req\td\tx\nreq\tf\tx/ok.txt\tok\\n\nreq\tf\tx/-before.txt\tbefore\\n\n'
		printf 'opt\td\tx/dag\noptre\td\tx/dag(/[lr]){1,40}\n'
		;;
	count)
		std d1 d2 d3 d4 d5
		printf 'opt\tf\tx/d3/zzz.txt\tbeyond the count\\n\n'
		;;
	listbomb) std d1 ;;
	esac
}

check_stderr() {
	local c=$1
	case $c in
	dotdot)
		refused "$c" "/x/d1" ".."
		refused "$c" "/x/d2" "evil2"
		refused "$c" "/x/d3" "evil3"
		;;
	absolute)
		refused "$c" "/x/d1" "evil-abs"
		refused "$c" "/x/d2" "evil-abs"
		;;
	# A / inside a name is shown escaped, so the message cannot read as a nested path.
	slash) refused "$c" "/x/d1" 'a\x2fb' ;;
	nul) refused "$c" "/x/d1" "evil" ;;
	symlink_escape)
		refused "$c" "/x/d2/a"
		refused "$c" "/x/d3/a"
		;;
	longname) refused "$c" "/x/d1" "$M16" ;;
	hugesize)
		refused "$c" "/x/d1/huge"
		refused "$c" "/x/d1/none"
		refused "$c" "/x/d1/small"
		;;
	deep) refused "$c" "/x/d/d/d" "nested too deep" ;;
	count)
		named "$c" "/x/d1"
		named "$c" "/x/d2"
		named "$c" "/x/d3"
		named "$c" "/x/d4/f"
		named "$c" "/x/d5/f"
		;;
	listbomb) refused "$c" "/x/d1/bomb" ;;
	esac
}

log "init (one pristine repository, copied for each case)"
PRISTINE=$TESTDIR/pristine
expect_exit 0 cf --repo "$PRISTINE" init

declare -A SNAP=()
for c in $CASES; do
	cp -a "$PRISTINE" "$TESTDIR/repo-$c"
	run "craft-$c" "$TO" env XDG_CACHE_HOME="$TESTDIR/cache-$c" \
		"$CRAFT" "$TESTDIR/repo-$c" "$COFFRE_PASSWORD_FILE" "$c" "$OUTSIDE"
	[ "$RC" = 0 ] || { cat "$ERR" >&2; fail "craft_hostile $c: exit $RC"; }
	SNAP[$c]=$(cat "$OUT")
	check_hex64 "${SNAP[$c]}" "craft_hostile $c output"
done

# in_case CASE: sets CFC to the command that runs coffre on the case's repository and cache.
in_case() {
	CFC=(env COFFRE_REPOSITORY="$TESTDIR/repo-$1" XDG_CACHE_HOME="$TESTDIR/cache-$1" "$COFFRE")
}

for c in $CASES; do
	id=${SNAP[$c]}
	log "$c: snapshot ${id:0:8}"
	T=$TESTDIR/t-$c/target
	mkdir -p "$TESTDIR/t-$c"
	to=$TO
	[ "$c" != selfref ] || to=$DAG_TO
	in_case "$c"
	run "restore-$c" "$to" "${CFC[@]}" restore "$id" --target "$T"
	if verdict "$c: restore" "$(expect_rc "$c")"; then
		check_stderr "$c"
		spec "$c" >"$LOGDIR/spec-$c"
		tree_is "$c" "$T" "$LOGDIR/spec-$c"
	elif [ "$c" = selfref ]; then
		info "selfref: $(find "$T" -type d | wc -l) directories written before the timeout"
	fi
	no_escape "$c"
	if [ "$c" = deep ] && [ -d "$T/x/d" ]; then
		info "deep: $(find "$T/x/d" -type d | wc -l) nested directories restored"
	fi
	[ "$c" != selfref ] || rm -rf "$T"	# possibly a great many directories

	in_case "$c"
	run "ls-$c" "$TO" "${CFC[@]}" ls "$id"
	verdict "$c: ls" "0|4" || true
	in_case "$c"
	run "dump-$c" "$TO" "${CFC[@]}" dump "$id" /
	verdict "$c: dump /" "0|4" || true
	members_ok "$c" "$OUT"
	rm -f "$OUT"
	in_case "$c"
	run "check-$c" "$TO" "${CFC[@]}" check
	verdict "$c: check" "0|4" || true
done

if [[ " $CASES " == *" listbomb "* ]]; then
	# The chunk list's inner nodes repeat one child: its refs are endless, its file 10 bytes.
	# Walks of it stop at the declared size, and say the file is damaged.
	log "listbomb: dump of the file alone, and prune, walk its chunk list bounded by its size"
	in_case listbomb
	run "dump-file-listbomb" "$TO" "${CFC[@]}" dump "${SNAP[listbomb]}" /x/d1/bomb
	verdict "listbomb: dump /x/d1/bomb" 4 || true
	grep -qF "chunk list does not match its size" "$ERR" || bad "listbomb: dump of the file does not say its chunk list is wrong"
	in_case listbomb
	run "prune-listbomb" "$TO" "${CFC[@]}" prune
	verdict "listbomb: prune" 4 || true
	grep -qF "damaged" "$ERR" || bad "listbomb: prune does not refuse for damage"
fi

if [[ " $CASES " == *" symlink_escape "* && " $CASES " == *" symlink_over "* ]]; then
	log "symlink_over restored into symlink_escape's target (entries through existing symlinks)"
	T=$TESTDIR/t-symlink_escape/target
	# both repositories are copies of one (same keys): merge symlink_over's into
	# symlink_escape's
	cp -a "$TESTDIR/repo-symlink_over/data/." "$TESTDIR/repo-symlink_escape/data/"
	cp -a "$TESTDIR/repo-symlink_over/index/." "$TESTDIR/repo-symlink_escape/index/"
	cp -a "$TESTDIR/repo-symlink_over/snapshots/." "$TESTDIR/repo-symlink_escape/snapshots/"
	in_case symlink_escape
	run "restore-over" "$TO" "${CFC[@]}" restore "${SNAP[symlink_over]}" --target "$T"
	if verdict "symlink_over over symlink_escape: restore" "0|4"; then
		for p in x/d1/link x/d1/link2 x/d2/a; do
			if [ -L "$T/$p" ]; then
				info "$p: still a symlink (the entry below it was refused)"
				grep -qF refused <<<"$(grep -F "'/$p" "$ERR")" || bad "symlink_over: /$p/pwned not written and not reported as refused"
			elif [ -d "$T/$p" ]; then
				[ "$(cat "$T/$p/pwned" 2>/dev/null)" = pwned ] || bad "symlink_over: $p/pwned missing"
			else
				bad "symlink_over: $T/$p is neither the old symlink nor the new directory"
			fi
		done
	fi
	no_escape symlink_escape
	[ -z "$(find "$OUTSIDE/sym-abs" "$OUTSIDE/sym-rel" -mindepth 1)" ] || bad "symlink_over: written through a symlink into $OUTSIDE"
fi

if [[ " $CASES " == *" hugesize "* ]]; then
	log "hugesize: restore --verify where a FIFO sits at the refused file's path"
	T=$TESTDIR/t-fifo/target
	mkdir -p "$T/x/d1"
	mkfifo "$T/x/d1/huge"
	in_case hugesize
	run "restore-fifo" "$TO" "${CFC[@]}" restore "${SNAP[hugesize]}" --target "$T" --verify
	verdict "hugesize: restore --verify over a FIFO" 4 || true
	no_escape fifo
fi

log "all cases in one repository: check"
cp -a "$PRISTINE" "$TESTDIR/repo-all"
run craft-all "$TO" env XDG_CACHE_HOME="$TESTDIR/cache-all" \
	"$CRAFT" "$TESTDIR/repo-all" "$COFFRE_PASSWORD_FILE" all "$OUTSIDE"
[ "$RC" = 0 ] || { cat "$ERR" >&2; fail "craft_hostile all: exit $RC"; }
n=$(grep -cE '^[a-z_]+ [0-9a-f]{64}$' "$OUT" || true)
[ "$n" = "$(echo "$ALL_CASES" | wc -w)" ] || fail "craft_hostile all printed $n 'case id' lines"
in_case all
run check-all "$TO" "${CFC[@]}" check
verdict "all cases: check" 4 || true

log "legitimate counterpart of deep: a 300-level tree backed up for real"
SRC=$TESTDIR/deepsrc
p=$SRC
for _ in $(seq 300); do p=$p/d; done
mkdir -p "$p"
echo bottom >"$p/bottom.txt"
cp -a "$PRISTINE" "$TESTDIR/repo-legit"
in_case legit
run backup-legit "$TO" "${CFC[@]}" backup "$SRC"
verdict "legit deep: backup" "0|3" || true
if [ "$RC" = 0 ]; then
	# backup saved all 300 levels: restore must give them back
	in_case legit
	run restore-legit "$TO" "${CFC[@]}" restore latest --target "$TESTDIR/t-legit/target"
	verdict "legit deep: restore of what backup saved without a warning" 0 || true
	[ -f "$TESTDIR/t-legit/target$p/bottom.txt" ] || bad "legit deep: bottom.txt (300 levels down) not restored"
	in_case legit
	run check-legit "$TO" "${CFC[@]}" check
	verdict "legit deep: check" 0 || true
fi

if [ ${#PROBLEMS[@]} -gt 0 ]; then
	printf '%d problems:\n' "${#PROBLEMS[@]}" >&2
	printf '  - %s\n' "${PROBLEMS[@]}" >&2
	fail "${#PROBLEMS[@]} problems with hostile snapshots (see above)"
fi
pass
