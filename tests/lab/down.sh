#!/bin/bash
# Stops lab hosts and removes everything they left: processes (by recorded PID and by the
# host's own cgroup, never by name), cgroups, overlay mount, links, nspawn runtime files,
# and hosts/hN. When the last host goes: the repo http server, labbr0, labbr1, the
# cgroups lab/, and the inventory files. Hosts behind a removed jump host stay up but
# unreachable until the jump host is started again.
# Usage: tests/lab/down.sh [hN ...]     (default: every host)
# Env:   LAB_KEEP=1 keeps hosts/hN (overlay upper, console.log) for inspection.
#        LAB_DOWN=kill  no clean shutdown (SIGKILL + cgroup kill): faster, same cleanup
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root "$@"
t0=$EPOCHREALTIME
[ -d "$HOSTS" ] || { note "down: no hosts"; exit 0; }
lab_lock

if [ $# -gt 0 ]; then
  HS=()
  for H in "$@"; do
    check_name "$H"
    if [ -d "$HOSTS/$H" ]; then HS+=("$H"); else note "down: $H is not up"; fi
  done
else
  HS=(); for d in "$HOSTS"/h*/; do [ -d "$d" ] && HS+=("$(basename "$d")"); done
fi

rms=()
# SIGTERM to every nspawn at once: systemd inside shuts down cleanly, in parallel
# (LAB_DOWN=kill: SIGKILL instead, about 0.3 s per host; the cleanup is the same)
SIG=TERM; [ "${LAB_DOWN:-}" = kill ] && SIG=KILL
for H in "${HS[@]}"; do signal_host "$H" "$SIG"; done
for H in "${HS[@]}"; do
  reap_host "$H" "$([ "$SIG" = KILL ] && echo quiet)"
  rm -f "$HOSTS/$H/ready"
  # deleting an upper dir takes up to ~0.6 s after apt work: do it in parallel
  [ "${LAB_KEEP:-0}" = 1 ] || { rm -rf "${HOSTS:?}/$H" & rms+=($!); }
done
for p in "${rms[@]}"; do wait "$p"; done

if ! ls -d "$HOSTS"/h*/nspawn.pid >/dev/null 2>&1 && ! ls -d "$HOSTS"/h*/ready >/dev/null 2>&1; then
  # no host left: the shared pieces
  f=$HOSTS/repo-http.pid
  if [ -f "$f" ]; then
    p=$(cat "$f")
    # (a zombie has an empty cmdline: this machine's PID 1 may reap it late)
    if repo_server_pid "$p"; then
      kill -TERM "$p"
      for _ in $(seq 30); do repo_server_pid "$p" || break; sleep 0.05; done
    fi
    rm -f "$f" "$HOSTS/repo-http.log"
  fi
  ip link del "$BR0" 2>/dev/null || true
  remove_hidden_net
  for c in "${CGS[@]}"; do [ -d "$c/lab" ] && rmdir "$c/lab" 2>/dev/null || true; done
  rm -f "$HOSTS"/{inventory,ssh_config,known_hosts,env}
  if [ -f "$HOSTS/inotify.orig" ]; then
    sysctl -qw fs.inotify.max_user_instances="$(cat "$HOSTS/inotify.orig")" || true
    rm -f "$HOSTS/inotify.orig"
  fi
  rmdir /run/systemd/nspawn/locks /run/systemd/nspawn/propagate /run/systemd/nspawn 2>/dev/null || true
  note "down: all hosts gone ($(since "$t0") s)"
else
  if ! grep -qs . "$HOSTS"/h*/jump; then remove_hidden_net; fi
  write_access_files
  note "down: ${HS[*]} gone ($(since "$t0") s)"
fi
