#!/usr/bin/env bash
# t_attack_avoid.sh: t_attack.sh with the variant "canary-avoiding order (largest files first, names that sort first skipped)".
ATTACK="--in-place --skip-first-sorted --largest-first" exec bash "$(dirname "$0")/t_attack.sh"
