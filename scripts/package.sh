#!/usr/bin/env bash
# package.sh [OUTDIR]: build the Debian package coffre_VERSION_ARCH.deb from this source tree,
# put it in OUTDIR (default: build-deb/ in the repository) and print its path.
#
# The build runs in a temporary copy of the tree (the files git knows of, or everything but
# build*/ without git) with packaging/debian copied to the copy's root as debian/: nothing is
# written into the source tree. VERSION is the project's (project(... VERSION) in
# CMakeLists.txt, what `coffre --version` prints); debian/changelog is written with it.
# Missing build tools and build dependencies are installed with apt-get (root or sudo).
# lintian checks the package: an error fails the build, its report goes to stderr.
# DEB_BUILD_OPTIONS is honoured; without parallel=N in it, parallel=$(nproc).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build-deb}
die() { printf 'package.sh: %s\n' "$*" >&2; exit 1; }

version=$(sed -n 's/^project(coffre VERSION \([0-9][0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
[ -n "$version" ] || die "no project version in $top/CMakeLists.txt"
mkdir -p "$out"
out=$(cd "$out" && pwd)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_updated=0
apt() {
	export DEBIAN_FRONTEND=noninteractive
	if [ "$apt_updated" = 0 ]; then
		$SUDO apt-get update -qq >&2
		apt_updated=1
	fi
	$SUDO apt-get "$@" -y -qq --no-install-recommends >&2
}
tools=()
command -v dpkg-buildpackage >/dev/null || tools+=(dpkg-dev)
command -v dh >/dev/null || tools+=(debhelper)
command -v lintian >/dev/null || tools+=(lintian)
command -v fakeroot >/dev/null || tools+=(fakeroot)
[ "${#tools[@]}" -eq 0 ] || apt install "${tools[@]}"

work=$(mktemp -d "${TMPDIR:-/tmp}/coffre-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/coffre-$version
mkdir "$src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Tracked and untracked files, not the ignored ones (build dirs); not the deleted ones.
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
		done | tar --null -T - -cf -) | tar -xf - -C "$src"
else
	(cd "$top" && tar --exclude='./build*' --exclude=./.git \
		--exclude=./tests/servers/node_modules -cf - .) | tar -xf - -C "$src"
fi
rm -rf "$src/debian"
cp -rL "$src/packaging/debian" "$src/debian"

# The date of the last commit keeps two builds of one commit identical (SOURCE_DATE_EPOCH
# comes from the changelog).
date=$(git -C "$top" log -1 --format=%cD 2>/dev/null || date -R)
maint=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
cat >"$src/debian/changelog" <<EOF
coffre ($version) unstable; urgency=medium

  * coffre $version, packaged by scripts/package.sh.

 -- $maint  $date
EOF

if ! (cd "$src" && dpkg-checkbuilddeps) 2>/dev/null; then
	apt build-dep "$src"
fi

opts=${DEB_BUILD_OPTIONS:-}
case " $opts " in
*" parallel="*) ;;
*) opts="$opts parallel=$(nproc)" ;;
esac
(cd "$src" && DEB_BUILD_OPTIONS="$opts nocheck" dpkg-buildpackage -b -us -uc) >&2 ||
	die "dpkg-buildpackage failed"
deb=$(find "$work" -maxdepth 1 -name "coffre_${version}_*.deb")
[ -n "$deb" ] && [ -f "$deb" ] || die "no coffre_${version}_*.deb was built"

echo "== lintian $(basename "$deb")" >&2
lintian --fail-on error "$deb" >&2 || die "lintian reports errors in $(basename "$deb")"

# One package in OUTDIR, so that `apt-get install ./OUTDIR/coffre_*.deb` names one file.
rm -f "$out"/coffre_*.deb "$out"/coffre-dbgsym_*.deb
cp "$deb" "$out/"
find "$work" -maxdepth 1 -name "coffre-dbgsym_${version}_*.deb" -exec cp {} "$out/" \;
echo "$out/$(basename "$deb")"
