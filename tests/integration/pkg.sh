# pkg.sh: what the tests that install the Debian package share (t_package, t_fed_chain);
# sourced after lib.sh and setup.
#
# The package is built once per test run: the ctest fixture package_build (deb_build.sh)
# leaves it in COFFRE_DEB_DIR; a test run by hand without it builds its own (pkg_deb).
# These tests install and purge the package on this machine: pkg_precheck refuses to start
# when coffre is installed and sets aside its folders if they exist, and pkg_cleanup (call it from cleanup_hook)
# purges the package and removes what the test made there, so the machine is as before.

PLACES=(/etc/coffre /var/lib/coffre /var/spool/coffre)

pkg_status() { dpkg-query -W -f='${Status}' coffre 2>/dev/null || true; }

# apt_get ARGS...: apt-get, non-interactive, waiting for the dpkg lock if another apt holds it.
apt_get() {
	DEBIAN_FRONTEND=noninteractive apt-get -y -o DPkg::Lock::Timeout=120 "$@"
}

# pkg_deb: sets DEB (the package's path), DEBDIR and DEBNAME: the fixture's package, or
# one built now into $TESTDIR/deb (deb_build.sh).
pkg_deb() {
	local t0=$EPOCHSECONDS
	if [ -n "${COFFRE_DEB_DIR:-}" ] && [ -s "$COFFRE_DEB_DIR/deb.path" ]; then
		DEB=$(cat "$COFFRE_DEB_DIR/deb.path")
		info "the package built by the fixture package_build: $DEB"
	else
		log "scripts/package.sh builds the package from the source tree (parallel=2)"
		expect_exit 0 bash "$COFFRE_TESTS/integration/deb_build.sh" "$TESTDIR/deb"
		DEB=$(tail -n 1 "$OUT")
		info "built $DEB in $((EPOCHSECONDS - t0)) s"
	fi
	[ -f "$DEB" ] || fail "$DEB does not exist"
	DEBDIR=$(dirname "$DEB")
	DEBNAME=$(basename "$DEB")
}

# pkg_precheck: fail unless coffre is absent from this machine and its folders too; note
# what the cleanup must put back (the cache, formatted man pages, the group).
pkg_precheck() {
	local p
	case "$(pkg_status)" in
	"" | *" not-installed") ;;
	*)	fail "the package coffre is on this machine (installed by hand, or left by a run of a test that was killed): remove it first (apt-get purge coffre)" ;;
	esac
	# A folder of coffre's already here (a coffre run by hand as root writes its state to
	# /var/lib/coffre by default): set aside under a name of the test's own, put back at the
	# end, so that the test starts from a clean machine and loses nothing.
	SAVED_PLACES=()
	for p in "${PLACES[@]}"; do
		[ -e "$p" ] || continue
		mv "$p" "$p.saved-by-$TEST_NAME.$$" || fail "$p exists and cannot be set aside"
		SAVED_PLACES+=("$p")
		info "$p exists: set aside as $p.saved-by-$TEST_NAME.$$, put back at the end"
	done
	# coffre run as root without XDG_CACHE_HOME keeps its cache there: the purge removes it
	# (a cache: nothing is lost); the cleanup puts back what was there.
	CACHE_SAVED=0
	if [ -e /var/cache/coffre ]; then
		cp -a /var/cache/coffre "$TESTDIR/var-cache-coffre"
		CACHE_SAVED=1
		info "/var/cache/coffre exists: saved, put back at the end"
	fi
	CAT_PAGES=()
	for p in /var/cache/man/cat1/coffre.1.gz /var/cache/man/cat5/coffre.conf.5.gz \
		/var/cache/man/cat8/coffred.8.gz; do
		[ -e "$p" ] || CAT_PAGES+=("$p")
	done
	HAD_GROUP=0
	getent group coffre >/dev/null && HAD_GROUP=1
	OWNED=0
}

# pkg_put_back: the folders pkg_precheck set aside, back in their place.
pkg_put_back() {
	local p
	for p in ${SAVED_PLACES[@]+"${SAVED_PLACES[@]}"}; do
		[ ! -e "$p" ] || rm -rf "$p"
		mv "$p.saved-by-$TEST_NAME.$$" "$p" || echo "cleanup: cannot put $p back" >&2
	done
	SAVED_PLACES=()
}

# pkg_cleanup: purge the package if this test installed it, remove its folders and what
# coffre made outside them; the cache and the group as they were.
pkg_cleanup() {
	local p
	if [ "${OWNED:-0}" != 1 ]; then
		pkg_put_back
		return 0
	fi
	case "$(pkg_status)" in
	*" not-installed" | "") ;;
	*) dpkg --purge coffre >"$LOGDIR/cleanup-purge.log" 2>&1 ||
		echo "cleanup: dpkg --purge coffre failed (see $LOGDIR/cleanup-purge.log)" >&2 ;;
	esac
	rm -rf "${PLACES[@]}"
	pkg_put_back
	# man's formatted pages of the man pages checked by systemd-analyze verify.
	for p in "${CAT_PAGES[@]}"; do rm -f "$p"; done
	if [ "$CACHE_SAVED" = 0 ]; then
		rm -rf /var/cache/coffre
	elif [ ! -e /var/cache/coffre ]; then
		cp -a "$TESTDIR/var-cache-coffre" /var/cache/coffre
	fi
	if [ "$HAD_GROUP" = 0 ]; then groupdel coffre 2>/dev/null || true; fi
}

# pkg_install: apt-get install ./$DEBNAME, from its folder; the package must be installed.
pkg_install() {
	OWNED=1
	expect_exit 0 sh -c 'cd "$1" && shift && DEBIAN_FRONTEND=noninteractive \
		apt-get -y -o DPkg::Lock::Timeout=120 install "$@"' sh "$DEBDIR" "./$DEBNAME"
	[ "$(pkg_status)" = "install ok installed" ] || fail "after apt-get install: $(pkg_status)"
}

# pkg_find_ours: every name with coffre in it where a package writes (the cache and man's
# formatted pages aside): after the purge, the same as before the install.
pkg_find_ours() {
	find /usr /etc /lib /var/lib /var/spool /var/cache -xdev -name '*coffre*' \
		-not -path '/var/lib/dpkg/*' -not -path '/var/cache/coffre*' \
		-not -path '/var/cache/man/*' 2>/dev/null | sort
}

# pkg_purged: fail unless dpkg says coffre is gone.
pkg_purged() {
	case "$(pkg_status)" in
	"" | *" not-installed") ;;
	*) fail "after purge: $(pkg_status)" ;;
	esac
}

# pkg_daemon_answers: true once the installed coffred ($DPID, its stderr in
# $LOGDIR/coffred.log) answers on $SOCK ($LOGDIR/status.json: its status); fails if it died.
pkg_daemon_answers() {
	kill -0 "$DPID" 2>/dev/null || { cat "$LOGDIR/coffred.log" >&2; fail "coffred died"; }
	[ -S "$SOCK" ] && /usr/bin/coffre status --json --socket "$SOCK" >"$LOGDIR/status.json" 2>/dev/null
}

# pkg_daemon_stop: SIGTERM to coffred ($DPID); fail unless it exits 0 within 30 s.
pkg_daemon_stop() {
	local rc=0
	kill -TERM "$DPID"
	wait_for 30 "coffred gone after SIGTERM" gone "$DPID"
	wait "$DPID" || rc=$?
	DPID=
	[ "$rc" = 0 ] || { cat "$LOGDIR/coffred.log" >&2; fail "coffred exited with $rc after SIGTERM"; }
}
