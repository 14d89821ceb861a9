#!/usr/bin/env bash
# t_attack_base64.sh: t_attack.sh with the variant "base64-armoured ciphertext, canaries skipped".
ATTACK="--in-place --base64 --skip-first-sorted" exec bash "$(dirname "$0")/t_attack.sh"
