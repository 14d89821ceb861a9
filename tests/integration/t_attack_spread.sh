#!/usr/bin/env bash
# t_attack_spread.sh: t_attack.sh with the variant "encrypt 5% of each file's blocks, spread, the head kept, canaries skipped".
ATTACK="--in-place --spread 5 --skip-first-sorted" exec bash "$(dirname "$0")/t_attack.sh"
