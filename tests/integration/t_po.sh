#!/usr/bin/env bash
# t_po.sh: every message that cli/*.c and agent/daemon/*.c mark for translation (_() and
# N_()) has a French translation in po/fr.po, none of them fuzzy, and the catalogue passes
# msgfmt --check. The sources are extracted afresh as po/coffre.pot is made, and merged with
# po/fr.po, so a new message fails the test until it is translated.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for t in xgettext msgmerge msgattrib msgfmt; do
	command -v "$t" >/dev/null || skip "$t is missing (apt-get install gettext)"
done
ROOT=$(cd "$COFFRE_TESTS/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/coffre-$TEST_NAME.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

log "msgfmt --check po/fr.po"
msgfmt --check -o /dev/null "$ROOT/po/fr.po" || fail "po/fr.po does not pass msgfmt --check"

log "xgettext cli/*.c agent/daemon/*.c, msgmerge with po/fr.po"
(cd "$ROOT" && xgettext --keyword=_ --keyword=N_ --from-code=UTF-8 --package-name=coffre \
	-o "$TMP/coffre.pot" cli/*.c agent/daemon/*.c) || fail "xgettext failed"
msgmerge --quiet -o "$TMP/fr.po" "$ROOT/po/fr.po" "$TMP/coffre.pot" || fail "msgmerge failed"

# msgids(FILE): each entry's msgid on one line, the header's (empty) left out.
msgids() {
	awk '
		/^msgid / { s = substr($0, 7); inid = 1; next }
		/^"/ && inid { s = s $0; next }
		/^msgstr/ && inid { gsub(/""/, "", s); if (s != "") print s; inid = 0 }
	' "$1"
}
msgattrib --force-po --untranslated --no-obsolete -o "$TMP/untranslated.po" "$TMP/fr.po"
msgattrib --force-po --only-fuzzy --no-obsolete -o "$TMP/fuzzy.po" "$TMP/fr.po"
msgids "$TMP/untranslated.po" >"$TMP/untranslated"
msgids "$TMP/fuzzy.po" >"$TMP/fuzzy"
msgids "$TMP/fr.po" >"$TMP/all"
info "$(wc -l <"$TMP/all") messages, $(wc -l <"$TMP/untranslated") untranslated," \
	"$(wc -l <"$TMP/fuzzy") fuzzy"
[ -s "$TMP/all" ] || fail "no message found in the sources"
bad=0
if [ -s "$TMP/untranslated" ]; then
	printf 'no French for:\n' >&2
	sed 's/^/  /' "$TMP/untranslated" >&2
	bad=1
fi
if [ -s "$TMP/fuzzy" ]; then
	printf 'fuzzy French (to check, then drop the fuzzy flag) for:\n' >&2
	sed 's/^/  /' "$TMP/fuzzy" >&2
	bad=1
fi
[ "$bad" = 0 ] || fail "po/fr.po lacks translations (update it: see po/CMakeLists.txt)"
pass
