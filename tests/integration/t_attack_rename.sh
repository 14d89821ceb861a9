#!/usr/bin/env bash
# t_attack_rename.sh: t_attack.sh with the variant "encrypt in place then rename to .locked, canaries skipped".
ATTACK="--rename locked --skip-first-sorted" exec bash "$(dirname "$0")/t_attack.sh"
