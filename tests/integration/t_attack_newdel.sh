#!/usr/bin/env bash
# t_attack_newdel.sh: t_attack.sh with the variant "encrypt to a new file, then delete the original".
ATTACK="--new-then-delete" exec bash "$(dirname "$0")/t_attack.sh"
