#!/bin/bash
# Proves the lab works on this machine, end to end, and that it leaves nothing behind:
# build, up N, a hidden host behind h1, smoke, ssh, fault cut/restore and kill/start,
# down, then checks that no netns, link, route, mount, cgroup or process of the lab is left.
# Usage: tests/lab/selftest.sh [N]     (N >= 2, default 3; the lab must be down before)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root "$@"
N=${1:-3}
((N >= 2)) || die "selftest needs N >= 2"
HID=h$((N + 1))
ls "$HOSTS"/h*/nspawn.pid >/dev/null 2>&1 && die "a lab is up; run tests/lab/down.sh first"
S=(ssh -F "$HOSTS/ssh_config" -o ControlMaster=no -o ControlPath=none)
T=()
step() { # name command...
  local t=$EPOCHREALTIME name=$1; shift
  echo "== $name" >&2
  "$@" || die "selftest: step '$name' failed"
  T+=("$(printf '%-34s %6.2f s' "$name" "$(since "$t")")")
}
leftovers() {
  ip netns list
  ip -br link | awk '{ print $1 }' | grep -E '^(labbr|vb-h|jb-h|jc-h)' || true
  ip route | grep -E "$NET0\.|$NET1\." || true
  grep -E "$LAB|lab-h" /proc/mounts || true
  for c in "${CGS[@]}"; do [ -d "$c/lab" ] && echo "cgroup $c/lab"; done
  # (zombies are skipped: this machine's PID 1 reaps orphans a second or two late)
  for f in $(grep -ls '/lab/h' /proc/[0-9]*/cgroup 2>/dev/null); do
    [ "$(awk '{ print $3 }' "${f%/cgroup}/stat" 2>/dev/null)" = Z ] || echo "${f%/cgroup} is in a lab cgroup"
  done
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -qE "systemd-nspawn .*--machine=h[0-9]|http.server --bind $NET0.1" &&
      echo "process ${p#/proc/}: $(tr '\0' ' ' < "$p/cmdline")"
  done
  ls /run/systemd/nspawn/locks /run/systemd/nspawn/propagate 2>/dev/null || true
}
before=$(leftovers)

step "build.sh" "$LAB/build.sh"
step "up.sh $N" "$LAB/up.sh" "$N"
step "up.sh --behind h1 1 ${HID#h}" "$LAB/up.sh" --behind h1 1 "${HID#h}"
step "smoke.sh ($((N + 1)) hosts)" "$LAB/smoke.sh"
st=$("${S[@]}" h1 systemctl is-system-running)
[ "$st" = running ] || die "h1: systemctl is-system-running says '$st'"
st=$("${S[@]}" "$HID" systemctl is-system-running)
[ "$st" = running ] || die "$HID (through h1): systemctl is-system-running says '$st'"
"${S[@]}" -o ProxyJump=none -o ConnectTimeout=2 "$HID" true 2>/dev/null && die "$HID is reachable without its jump host"
step "fault.sh cut h2" "$LAB/fault.sh" cut h2
"${S[@]}" -o ConnectTimeout=2 h2 true 2>/dev/null && die "h2 still answers after cut"
[ "$("$LAB/fault.sh" status h2)" = cut ] || die "fault.sh status h2 is not 'cut'"
step "fault.sh restore h2" "$LAB/fault.sh" restore h2
step "ssh h2 after restore" "${S[@]}" h2 true
step "fault.sh kill h2" "$LAB/fault.sh" kill h2
"${S[@]}" -o ConnectTimeout=2 h2 true 2>/dev/null && die "h2 still answers after kill"
step "fault.sh start h2" "$LAB/fault.sh" start h2
step "down.sh" "$LAB/down.sh"
after=$(leftovers)
if [ "$before" != "$after" ]; then
  echo "left behind:" >&2; diff <(echo "$before") <(echo "$after") >&2 || true
  die "selftest: the lab left something behind"
fi
echo "== selftest OK, nothing left behind" >&2
printf '%s\n' "${T[@]}" >&2
