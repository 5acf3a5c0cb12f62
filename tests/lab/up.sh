#!/bin/bash
# Starts lab hosts h<FIRST> .. h<FIRST+N-1>: each one a systemd-nspawn container booting real
# systemd (PID 1) on an overlay of images/base, in its own network namespace on bridge
# labbr0 (the machine is 10.251.0.1; hN is 10.251.0.(10+N); no route out), with a real sshd.
# Then writes hosts/inventory, hosts/ssh_config, hosts/known_hosts, hosts/env and waits
# until every host's systemd is "running" and sshd answers.
#
# Usage: tests/lab/up.sh N [FIRST]                   hosts h<FIRST>.. (FIRST defaults to 1)
#        tests/lab/up.sh --behind hJ N [FIRST]       hidden hosts: only on bridge labbr1
#             (10.252.0.(10+N)), which the machine has no address on; hJ (running) gets a
#             second link eth1 10.252.0.(10+J) there, so hN is reachable only through hJ
#             (ssh -F hosts/ssh_config hN uses ProxyJump hJ). They use apt from file:/srv/labrepo.
# Env: LAB_IF_UP=restart (default: a host that is already up is restarted, fresh)
#                | keep (leave it as it is) | fail
#      LAB_WAIT=boot (default: systemd "running") | ssh (sshd answers)
#      LAB_TIMEOUT=120  seconds per host      LAB_NSPAWN_EXTRA="..."  more nspawn flags
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root "$@"
JUMP=
if [ "${1:-}" = --behind ]; then JUMP=${2:?usage: up.sh --behind hJ N [FIRST]}; shift 2; check_name "$JUMP"; fi
N=${1:?usage: up.sh [--behind hJ] N [FIRST]   (e.g. up.sh 3  starts h1 h2 h3)}
FIRST=${2:-1}
[[ $N =~ ^[0-9]+$ && $FIRST =~ ^[0-9]+$ ]] && ((N >= 1 && FIRST >= 1 && FIRST + N - 1 <= 244)) ||
  die "bad N/FIRST '$N' '$FIRST': hosts are h1 .. h244"
case ${LAB_IF_UP:-restart} in restart|keep|fail) ;; *) die "LAB_IF_UP must be restart, keep or fail";; esac
[ -d "$BASE/usr" ] || die "no base rootfs at $BASE; run tests/lab/build.sh first"
[ -f "$KEY" ] || die "no client key $KEY; run tests/lab/build.sh first"
command -v systemd-nspawn >/dev/null || die "systemd-nspawn is missing; run tests/lab/build.sh (installs systemd-container)"
t0=$EPOCHREALTIME

lab_lock
mkdir -p "$KEYS/hostkeys"
ensure_inotify $(( $(ls -d "$HOSTS"/h*/ 2>/dev/null | wc -l) + N ))
ensure_bridge "$BR0" "$NET0.1/24"
ensure_repo_server
if [ -n "$JUMP" ]; then
  [ -f "$HOSTS/$JUMP/ready" ] && host_alive "$JUMP" || die "jump host $JUMP is not up; start it first: tests/lab/up.sh 1 ${JUMP#h}"
  [ -f "$HOSTS/$JUMP/jump" ] && die "$JUMP is itself a hidden host; pick a host on labbr0 as the jump host"
  attach_jump "$JUMP"
fi

HS=()
for ((i = FIRST; i < FIRST + N; i++)); do
  H=h$i
  [ "$H" = "$JUMP" ] && die "$H cannot be its own jump host"
  if host_alive "$H"; then
    case ${LAB_IF_UP:-restart} in
      fail) die "$H is already up; run tests/lab/down.sh $H first (or set LAB_IF_UP=restart|keep)";;
      keep) note "$H is already up; keeping it (LAB_IF_UP=keep)"; HS+=("$H"); continue;;
      restart) note "$H is already up; restarting it with a fresh overlay"
               signal_host "$H" TERM; reap_host "$H";;
    esac
  elif [ -d "$HOSTS/$H" ]; then
    reap_host "$H" quiet   # leftovers of a killed or half-started host
  fi
  rm -rf "${HOSTS:?}/$H"
  if [ -n "$JUMP" ]; then mkdir -p "$HOSTS/$H"; echo "$JUMP" > "$HOSTS/$H/jump"; fi
  start_host "$H" 1
  HS+=("$H")
done
t1=$EPOCHREALTIME
lab_unlock

rc=0 pids=()
for H in "${HS[@]}"; do wait_host "$H" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || rc=1; done

lab_lock
for H in "${HS[@]}"; do host_alive "$H" && touch "$HOSTS/$H/ready"; done
# hosts hidden behind a host that was just restarted need the link to it again
for d in "$HOSTS"/h*/; do
  [ -f "$d/jump" ] && [ -f "$d/ready" ] || continue
  J=$(cat "$d/jump")
  for H in "${HS[@]}"; do [ "$H" = "$J" ] && host_alive "$J" && attach_jump "$J"; done
done
write_access_files
lab_unlock

note "up: ${HS[*]}: setup $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s, ready (${LAB_WAIT:-boot}) after $(since "$t0") s"
if [ $rc != 0 ]; then
  die "some hosts did not come up (above); inspect hosts/hN/console.log, then run tests/lab/down.sh"
fi
echo "source $HOSTS/env   # exports LAB_INVENTORY LAB_SSH_CONFIG LAB_SSH_KEY LAB_KNOWN_HOSTS" >&2
