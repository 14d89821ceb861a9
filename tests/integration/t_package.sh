#!/usr/bin/env bash
# t_package.sh: the package coffre_VERSION_ARCH.deb, built by scripts/package.sh from the
# source tree (deb_build.sh: the fixture package_build, or now when run by hand; lintian
# without errors, nothing written into the tree); `apt-get install ./coffre_*.deb`
# installs the binaries, the unit, the group, the folders, the man pages and the French
# catalogue; the installed coffred starts on a minimal configuration, answers on its socket
# and exits 0 on SIGTERM; the installed unit passes `systemd-analyze verify`.
# Then remove and purge, twice:
#   1. a spool left empty and a generated /etc/coffre/coffre.conf: after the purge, nothing
#      of the package is left (dpkg -L before, find after, in /usr, /etc, /lib and /var);
#   2. a spool holding a repository and /etc/coffre holding its password: the purge keeps
#      both (backups are never deleted by a purge; the password opens them) and the backup
#      still restores; the state, the cache and the configuration go.
# The cleanup purges the package whatever happens, and removes what the test made.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (installs and purges the package coffre)"
command -v dpkg >/dev/null || skip "dpkg is missing: not a Debian system"
setup
command -v apt-get >/dev/null || fail "apt-get is missing"
command -v systemd-analyze >/dev/null ||
	fail "systemd-analyze is missing (scripts/install-deps.sh installs systemd)"
. "$(dirname "$0")/pkg.sh"
ARCH=$(dpkg --print-architecture)
VERSION=$("$COFFRE" --version | sed -n 's/^coffre //p')
[ -n "$VERSION" ] || fail "no version from $COFFRE --version"
pkg_precheck
cleanup_hook() {
	if [ -n "${DPID:-}" ]; then kill "$DPID" 2>/dev/null || true; fi
	pkg_cleanup
}
pkg_deb
[ "$DEBNAME" = "coffre_${VERSION}_${ARCH}.deb" ] || fail "package named $DEBNAME"

log "the package's fields and contents"
[ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ] || fail "Version: $(dpkg-deb -f "$DEB" Version)"
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
info "Depends: $DEPENDS"
for lib in libcurl4 libsodium23 libzstd1 libarchive13 libsqlite3-0 libjansson4 libinih1 \
	libblkid1 libsystemd0 libcairo2 libfontconfig1 libqrencode4 fonts-dejavu-core; do
	[[ ", $DEPENDS," == *", $lib "* || ", $DEPENDS," == *", $lib,"* ]] || fail "Depends lacks $lib"
done
dpkg-deb -c "$DEB" >"$LOGDIR/contents"
awk '{print $1, $6}' "$LOGDIR/contents" >"$LOGDIR/modes"
for want in "drwxr-x--- ./etc/coffre/" "drwxr-x--- ./var/lib/coffre/" \
	"drwxr-x--- ./var/spool/coffre/" "-rwxr-xr-x ./usr/bin/coffre" "-rwxr-xr-x ./usr/sbin/coffred"; do
	grep -qxF -e "$want" "$LOGDIR/modes" || fail "the package lacks '$want'"
done
grep -q '\./etc/coffre/.' "$LOGDIR/contents" && fail "the package ships a file in /etc/coffre"
dpkg-deb --ctrl-tarfile "$DEB" | tar -t >"$LOGDIR/control-files"
grep -q conffiles "$LOGDIR/control-files" && fail "the package has conffiles"

log "apt-get install ./$DEBNAME"
# Which of the package's paths exist already (/usr/share/doc...), and every name with coffre
# in it in the places a package writes to: after the purge, both must be as they are now.
sed -e 's/^[^ ]* *[^ ]* *[^ ]* *[^ ]* *[^ ]* *\.//' -e 's#/$##' "$LOGDIR/contents" |
	grep -v '^$' | sort >"$LOGDIR/paths"
while IFS= read -r p; do
	if [ -e "$p" ]; then echo "$p"; fi
done <"$LOGDIR/paths" >"$LOGDIR/paths-before"
pkg_find_ours >"$LOGDIR/find-before"
pkg_install
dpkg -L coffre | grep -vx '/\.' | sort >"$LOGDIR/dpkg-L"
info "$(wc -l <"$LOGDIR/dpkg-L") paths in dpkg -L coffre"
[ "$(/usr/bin/coffre --version)" = "coffre $VERSION" ] ||
	fail "coffre --version says '$(/usr/bin/coffre --version)'"
info "$(/usr/bin/coffre --version)"
expect_exit 0 /usr/sbin/coffred --help
getent group coffre >/dev/null || fail "no group coffre after the install"
info "group: $(getent group coffre)"
[ "$(stat -c '%a %U:%G' /etc/coffre)" = "750 root:root" ] ||
	fail "/etc/coffre is $(stat -c '%a %U:%G' /etc/coffre)"
[ -d /var/spool/coffre ] && [ -d /var/lib/coffre ] || fail "no /var/spool/coffre or /var/lib/coffre"
[ ! -e /etc/coffre/coffre.conf ] || fail "the package installed /etc/coffre/coffre.conf"
for f in /usr/lib/sysusers.d/coffre.conf /usr/share/man/man1/coffre.1.gz \
	/usr/share/man/man5/coffre.conf.5.gz /usr/share/man/man8/coffred.8.gz \
	/usr/share/locale/fr/LC_MESSAGES/coffre.mo /usr/share/doc/coffre/examples/coffre.conf \
	/usr/share/doc/coffre/copyright; do
	[ -s "$f" ] || fail "$f is missing"
done

log "systemd-analyze verify the installed unit"
UNIT=$(grep '/systemd/system/coffred\.service$' "$LOGDIR/dpkg-L" || true)
[ -n "$UNIT" ] && [ -f "$UNIT" ] || fail "no coffred.service in dpkg -L coffre"
grep -qx 'ExecStart=/usr/sbin/coffred --config /etc/coffre/coffre.conf' "$UNIT" ||
	fail "ExecStart is '$(grep ^ExecStart= "$UNIT")'"
# With man installed, Documentation= is checked too: the pages are the package's.
man=no
command -v man >/dev/null && man=yes
expect_exit 0 systemd-analyze verify --man=$man "$UNIT"
if [ -s "$ERR" ]; then cat "$ERR" >&2; fail "systemd-analyze verify complained about $UNIT"; fi
info "$UNIT: verified (man pages checked: $man)"

log "the installed coffred: start on a minimal configuration, answer, stop on SIGTERM"
chmod 600 "$COFFRE_PASSWORD_FILE"
mkdir -p "$TESTDIR/src"
echo "facture 1" >"$TESTDIR/src/FAC-0001.txt"
expect_exit 0 /usr/bin/coffre init
CONF=$TESTDIR/coffre.conf
SOCK=$TESTDIR/run/coffred.sock
daemon_conf "$CONF" "daily 03:00" "$SOCK" "$TESTDIR/state" -- "$TESTDIR/src"
expect_exit 0 /usr/bin/coffre config check --config "$CONF"
/usr/sbin/coffred --config "$CONF" 2>"$LOGDIR/coffred.log" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 60 "coffred answering on $SOCK" pkg_daemon_answers
info "coffred answers: state $(json_get "$LOGDIR/status.json" state)"
pkg_daemon_stop
[ ! -e "$SOCK" ] || fail "coffred left its socket behind"
info "coffred exited 0"

log "remove, then purge: a generated configuration and an empty spool go, nothing is left"
cp "$CONF" /etc/coffre/coffre.conf	# as the setup writes it
echo '{}' >/var/lib/coffre/status.json	# as coffred writes it
expect_exit 0 apt_get remove coffre
[ "$(pkg_status)" = "deinstall ok config-files" ] || fail "after remove: $(pkg_status)"
[ ! -e /usr/bin/coffre ] && [ ! -e /usr/sbin/coffred ] || fail "binaries left after remove"
[ -f /etc/coffre/coffre.conf ] || fail "remove took the configuration (only purge may)"
expect_exit 0 apt_get purge coffre
pkg_purged
while IFS= read -r p; do
	if [ -e "$p" ] || [ -L "$p" ]; then echo "$p"; fi
done <"$LOGDIR/dpkg-L" >"$LOGDIR/paths-after"
if ! diff -u "$LOGDIR/paths-before" "$LOGDIR/paths-after" >"$LOGDIR/paths.diff"; then
	cat "$LOGDIR/paths.diff" >&2
	fail "paths of dpkg -L coffre left after the purge"
fi
pkg_find_ours >"$LOGDIR/find-after"
if ! diff -u "$LOGDIR/find-before" "$LOGDIR/find-after" >"$LOGDIR/find.diff"; then
	cat "$LOGDIR/find.diff" >&2
	fail "names with coffre left in /usr, /etc, /lib or /var after the purge"
fi
for p in "${PLACES[@]}" /var/cache/coffre; do [ ! -e "$p" ] || fail "$p left after the purge"; done
info "nothing left: $(wc -l <"$LOGDIR/dpkg-L") paths checked, find identical to before the install"

log "install again; a spool holding a repository and its password survive the purge"
pkg_install
install -m 600 "$COFFRE_PASSWORD_FILE" /etc/coffre/password
cp "$CONF" /etc/coffre/coffre.conf
# As root without XDG_CACHE_HOME, coffre keeps its cache in /var/cache/coffre.
spool() {
	env -u XDG_CACHE_HOME /usr/bin/coffre --repo /var/spool/coffre \
		--password-file /etc/coffre/password "$@"
}
expect_exit 0 spool init
expect_exit 0 spool backup "$TESTDIR/src" -q
[ -d /var/cache/coffre ] || fail "coffre made no cache in /var/cache/coffre"
repo_state /var/spool/coffre >"$LOGDIR/spool-before"
expect_exit 0 apt_get purge coffre
grep -q "/var/spool/coffre is kept" "$ERR" "$OUT" || fail "the purge does not say it keeps the spool"
pkg_purged
[ ! -e /usr/bin/coffre ] || fail "/usr/bin/coffre left after the purge"
repo_state /var/spool/coffre >"$LOGDIR/spool-after"
cmp -s "$LOGDIR/spool-before" "$LOGDIR/spool-after" || {
	diff -u "$LOGDIR/spool-before" "$LOGDIR/spool-after" >&2
	fail "the purge changed the spool"
}
[ "$(ls -A /etc/coffre)" = password ] || fail "/etc/coffre after the purge: $(ls -A /etc/coffre)"
[ ! -e /var/lib/coffre ] || fail "/var/lib/coffre left after the purge"
[ ! -e /var/cache/coffre ] || fail "/var/cache/coffre left after the purge"
expect_exit 0 "$COFFRE" --repo /var/spool/coffre --password-file /etc/coffre/password \
	restore latest --target "$TESTDIR/restore"
compare_trees "$TESTDIR/src" "$TESTDIR/restore$TESTDIR/src"
info "the spool's backup restores after the purge"
pass
