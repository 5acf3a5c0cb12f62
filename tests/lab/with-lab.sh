#!/bin/bash
# Runs a command with a lab of N hosts: build (cached), up, smoke, the command with
# LAB_INVENTORY LAB_SSH_CONFIG LAB_SSH_KEY LAB_KNOWN_HOSTS exported, then down (always).
# Usage: tests/lab/with-lab.sh N COMMAND [ARG...]    e.g. tests/lab/with-lab.sh 3 cargo test
# Env: LAB_SMOKE=0 skips the smoke test; LAB_HIDDEN=hJ:hN also starts hN behind hJ.
set -euo pipefail
L=$(cd "$(dirname "$0")" && pwd)
N=${1:?usage: with-lab.sh N COMMAND [ARG...]}; shift
[ $# -gt 0 ] || { echo "usage: with-lab.sh N COMMAND [ARG...]" >&2; exit 2; }
"$L/build.sh"
trap '"$L/down.sh"' EXIT
"$L/up.sh" "$N"
if [ -n "${LAB_HIDDEN:-}" ]; then "$L/up.sh" --behind "${LAB_HIDDEN%%:*}" 1 "${LAB_HIDDEN##*:h}"; fi
[ "${LAB_SMOKE:-1}" = 0 ] || "$L/smoke.sh"
. "$L/hosts/env"
"$@"
