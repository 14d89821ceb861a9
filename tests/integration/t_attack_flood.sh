#!/usr/bin/env bash
# t_attack_flood.sh: t_attack.sh with the variant "a flood of 20,000 files first (the watch's queue overflows), then in place, canaries skipped".
ATTACK="--in-place --flood 20000 --skip-first-sorted" exec bash "$(dirname "$0")/t_attack.sh"
