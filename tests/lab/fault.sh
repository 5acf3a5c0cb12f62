#!/bin/bash
# Faults for one lab host, for tests of unreachable / dying / hanging hosts.
# Usage: tests/lab/fault.sh ACTION hN
#   cut      link down (ip link set vb-hN down): a network partition; packets are dropped
#            silently, open TCP connections hang, new ones time out. The host keeps running
#            and keeps its address.
#   restore  link up again (undoes cut); waits until sshd answers again (max 10 s)
#   stop     clean shutdown (like poweroff); the host's files are kept
#   kill     SIGKILL to the container and everything in it (like pulling the power);
#            the host's files are kept
#   start    boots a stopped or killed host again with its files (like a reboot) and
#            waits until it is "running"
#   freeze   freezes every process of the host (cgroup freezer): TCP connects still
#            succeed (the kernel answers) but sshd never speaks: a hung host
#   thaw     undoes freeze
#   status   prints up|down|cut|frozen
# A stopped or killed host stays in the inventory; tests/lab/up.sh 1 N gives a fresh one.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root "$@"
A=${1:-} H=${2:-}
[ -n "$A" ] && [ -n "$H" ] || die "usage: fault.sh cut|restore|stop|kill|start|freeze|thaw|status hN"
check_name "$H"
[ -d "$HOSTS/$H" ] || die "$H is not a lab host (start it with tests/lab/up.sh 1 ${H#h})"

need_alive() { host_alive "$H" || die "$H is not running (tests/lab/fault.sh start $H boots it again)"; }
freeze_file() {
  [ -n "$CG2" ] && [ -f "$CG2/lab/$H/cgroup.freeze" ] || die "no cgroup2 freezer for $H on this machine"
  echo "$CG2/lab/$H/cgroup.freeze"
}

case $A in
  cut)
    need_alive
    ip link set "vb-$H" down
    ;;
  restore)
    need_alive
    ip link set "vb-$H" up
    for _ in $(seq 100); do
      ssh -F "$HOSTS/ssh_config" -o ConnectTimeout=1 "$H" true 2>/dev/null && exit 0
      sleep 0.1
    done
    die "$H: link is up again but sshd does not answer after 10 s"
    ;;
  stop|kill)
    need_alive
    lab_lock
    if [ "$A" = stop ]; then signal_host "$H" TERM; else signal_host "$H" KILL; fi
    reap_host "$H" quiet
    ;;
  start)
    host_alive "$H" && { note "$H is already running"; exit 0; }
    [ -d "$HOSTS/$H/upper" ] || die "$H has no files to boot from; use tests/lab/up.sh 1 ${H#h}"
    lab_lock
    ensure_bridge "$BR0" "$NET0.1/24"
    ensure_repo_server
    if [ -f "$HOSTS/$H/jump" ]; then
      J=$(cat "$HOSTS/$H/jump"); host_alive "$J" || die "$H sits behind $J, which is not running"
      attach_jump "$J"
    fi
    reap_host "$H" quiet
    start_host "$H" 0
    lab_unlock
    wait_host "$H" || die "$H did not come up again (see $HOSTS/$H/console.log)"
    lab_lock
    touch "$HOSTS/$H/ready"
    for d in "$HOSTS"/h*/; do   # hosts hidden behind this one need their link again
      [ -f "$d/jump" ] && [ "$(cat "$d/jump")" = "$H" ] && { attach_jump "$H"; break; }
    done
    write_access_files
    ;;
  freeze)
    need_alive
    echo 1 > "$(freeze_file)"
    ;;
  thaw)
    need_alive
    echo 0 > "$(freeze_file)"
    ;;
  status)
    if ! host_alive "$H"; then echo down
    elif [ -n "$CG2" ] && [ "$(cat "$CG2/lab/$H/cgroup.freeze" 2>/dev/null)" = 1 ]; then echo frozen
    elif ip -br link show "vb-$H" 2>/dev/null | grep -q DOWN; then echo cut
    else echo up; fi
    ;;
  *) die "unknown action '$A': use cut|restore|stop|kill|start|freeze|thaw|status";;
esac
