#!/usr/bin/env bash
# t_attack_slow.sh: t_attack.sh with the variant "slow: one file every 20 s, canaries skipped".
ATTACK="--in-place --skip-first-sorted --delay-ms 20000" exec bash "$(dirname "$0")/t_attack.sh"
