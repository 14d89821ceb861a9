#!/usr/bin/env bash
# demo.sh: install, build, then back up a demo shop folder into a local repository, restore
# it into a scratch folder, verify it, and say what happened.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/install-deps.sh"
bash "$top/scripts/build.sh" plain >/dev/null
coffre="$top/build/cli/coffre"
work=$(mktemp -d /tmp/coffre-demo.XXXXXX)
export XDG_CACHE_HOME="$work/cache"
export COFFRE_REPOSITORY="$work/repository"
export COFFRE_PASSWORD_FILE="$work/password"
echo "demo password $(date +%s)" >"$COFFRE_PASSWORD_FILE"
chmod 600 "$COFFRE_PASSWORD_FILE"
echo "== demo shop folder: $work/boutique"
python3 "$top/tests/gen-data.py" "$work/boutique" --size small --seed 7
echo "== coffre init"
"$coffre" init >"$work/init.txt"
grep -i 'recovery key:' "$work/init.txt" | sed 's/^/   /'
echo "== coffre backup (first)"
"$coffre" backup "$work/boutique"
echo "== one business day later"
python3 "$top/tests/gen-data.py" --mutate "$work/boutique" --day 1 --seed 7
echo "== coffre backup (second)"
"$coffre" backup "$work/boutique"
"$coffre" snapshots
echo "== coffre restore latest --verify"
"$coffre" restore latest --target "$work/restored" --verify
echo "== coffre check --read-data"
"$coffre" check --read-data
if diff -r --no-dereference "$work/boutique" "$work/restored$work/boutique" >/dev/null; then
	echo "== the restored folder is identical to the original ($work/restored$work/boutique)"
else
	echo "== DIFFERENCE between original and restore" >&2
	exit 1
fi
echo "everything is in $work (remove it when done)"
