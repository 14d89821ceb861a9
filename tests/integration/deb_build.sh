#!/usr/bin/env bash
# deb_build.sh OUTDIR: build the Debian package once for the tests that install it (the ctest
# fixture package_build; t_package and t_fed_chain when run without it). scripts/package.sh
# builds it from the source tree (parallel=2, lintian without errors) into OUTDIR; this checks
# that it is named coffre_VERSION_ARCH.deb (VERSION: what $COFFRE --version says) and that
# the build wrote nothing into the source tree, then writes its path into OUTDIR/deb.path and
# prints it on the last line.
set -euo pipefail
out=${1:?usage: deb_build.sh OUTDIR}
. "$(dirname "$0")/lib.sh"
command -v dpkg >/dev/null || skip "dpkg is missing: not a Debian system"
[ "$(id -u)" = 0 ] || skip "needs root (the package's build dependencies are installed)"
_find_coffre
TOP=$(cd "$COFFRE_TESTS/.." && pwd)
ARCH=$(dpkg --print-architecture)
VERSION=$("$COFFRE" --version | sed -n 's/^coffre //p')
[ -n "$VERSION" ] || fail "no version from $COFFRE --version"
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/deb.path"
had_debian=0
[ -e "$TOP/debian" ] && had_debian=1
work=$(mktemp -d "${TMPDIR:-/tmp}/coffre-debbuild.XXXXXX")
trap 'rm -rf "$work"' EXIT
t0=$EPOCHSECONDS
TMPDIR=$work DEB_BUILD_OPTIONS=parallel=2 bash "$TOP/scripts/package.sh" "$out" \
	>"$work/out" 2>"$work/err" || { tail -n 40 "$work/err" >&2; fail "scripts/package.sh failed"; }
DEB=$(tail -n 1 "$work/out")
info "built $DEB in $((EPOCHSECONDS - t0)) s, $(stat -c %s "$DEB") bytes"
grep '^[EWI]: ' "$work/err" | sed 's/^/   lintian: /' || info "lintian: no tag"
[ "$(basename "$DEB")" = "coffre_${VERSION}_${ARCH}.deb" ] || fail "package named $(basename "$DEB")"
[ -f "$DEB" ] || fail "$DEB does not exist"
[ "$had_debian" = 1 ] || [ ! -e "$TOP/debian" ] || fail "package.sh wrote debian/ into the source tree"
compgen -G "$TOP/obj-*" >/dev/null && fail "package.sh built in the source tree ($TOP/obj-*)"
echo "$DEB" >"$out/deb.path"
echo "$DEB"
