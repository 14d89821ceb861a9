#!/usr/bin/env bash
# t_attack_head.sh: t_attack.sh with the variant "intermittent: only the first 4 KiB, canaries skipped".
ATTACK="--in-place --head 4096 --skip-first-sorted" exec bash "$(dirname "$0")/t_attack.sh"
