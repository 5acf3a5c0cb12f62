#!/bin/bash
# Checks every lab host in the inventory, in parallel, and cleans up after itself:
#   ssh with strict host key checking; systemd "running"; a unit file through
#   daemon-reload / enable --now / disable --now; iptables (nft and legacy); an nginx
#   vhost + reload, fetched from outside the host; apt from the local repo (the seeded
#   lists, then apt-get update; http, or file: on hidden hosts); python3 with python3-apt;
#   users tester (sudo without password) and pwuser (sudo with password tend-test-pw).
#   Hidden hosts: reached through their jump host only, and the direct path must fail.
# Usage: tests/lab/smoke.sh [hN ...]     (default: every host in hosts/inventory)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -f "$HOSTS/inventory" ] || die "no lab is up ($HOSTS/inventory missing); run tests/lab/up.sh N first"
t0=$EPOCHREALTIME
S=(ssh -F "$HOSTS/ssh_config" -o ControlMaster=no -o ControlPath=none)

# runs as root on the host; prints OK at the end
CHECK='set -e
fail() { echo "$*" >&2; exit 1; }
st=$(systemctl is-system-running) || true; [ "$st" = running ] || fail "systemd state $st"
printf "[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n" > /etc/systemd/system/smoke.service
systemctl daemon-reload; systemctl enable -q --now smoke.service; systemctl is-active -q smoke || fail "smoke.service not active"
systemctl disable -q --now smoke.service; ! systemctl is-active -q smoke || fail "smoke.service still active"
rm /etc/systemd/system/smoke.service; systemctl daemon-reload
iptables -A INPUT -p tcp --dport 9 -j DROP; iptables -C INPUT -p tcp --dport 9 -j DROP; iptables -D INPUT -p tcp --dport 9 -j DROP
iptables-legacy -A INPUT -p tcp --dport 9 -j DROP; iptables-legacy -D INPUT -p tcp --dport 9 -j DROP
mkdir -p /srv/smoke; echo "smoke $(hostname)" > /srv/smoke/index.html
echo "server { listen 80; server_name smoke.test; root /srv/smoke; }" > /etc/nginx/sites-enabled/smoke
nginx -t -q; systemctl reload nginx
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq lab-hello >/dev/null || fail "apt-get install lab-hello (seeded lists) failed"
[ "$(lab-hello)" = "lab-hello 1.1" ] || fail "lab-hello: $(lab-hello)"
apt-get update -qq
apt-get install -y -qq --allow-downgrades lab-hello=1.0 hello >/dev/null || fail "apt-get install lab-hello=1.0 hello failed"
[ "$(lab-hello)" = "lab-hello 1.0" ] && hello >/dev/null || fail "lab-hello 1.0 / hello do not run"
python3 -c "import apt, apt_pkg" || fail "python3-apt missing"
su -s /bin/sh tester -c "sudo -n true" || fail "tester: sudo -n failed"
! su -s /bin/sh pwuser -c "sudo -n true" 2>/dev/null || fail "pwuser: sudo worked without a password"
[ "$(su -s /bin/sh pwuser -c "echo tend-test-pw | sudo -S -p \"\" id -u" 2>/dev/null)" = 0 ] || fail "pwuser: sudo with the password failed"
echo OK'
# leaves the host as it was (except the journal and the dpkg/apt logs)
CLEAN='export DEBIAN_FRONTEND=noninteractive
rm -rf /srv/smoke /etc/nginx/sites-enabled/smoke /var/lib/sudo/lectured/*; systemctl reload nginx
apt-get purge -y -qq lab-hello hello >/dev/null 2>&1; apt-get clean; rm -rf /var/lib/apt/lists/auxfiles
true'

fetch() { # host url-host : the page smoke.test from that host's point of view
  if [ "$1" = local ]; then curl -s -m 2 -H 'Host: smoke.test' "http://$2/"
  else "${S[@]}" "$1" "python3 -c 'import urllib.request as u; print(u.urlopen(u.Request(\"http://$2/\", headers={\"Host\": \"smoke.test\"}), timeout=2).read().decode().strip())'" 2>/dev/null; fi
}

check() {
  local H=$1 t=$EPOCHREALTIME out ip jump="" from=local
  ip=$(awk -v h="$H" '$1 == h { sub(/.*ansible_host=/, ""); print $1 }' "$HOSTS/inventory")
  [ -n "$ip" ] || { echo "$H FAIL: not in the inventory"; return 1; }
  if [ -f "$HOSTS/$H/jump" ]; then
    jump=$(cat "$HOSTS/$H/jump") from=$jump
    # the direct path must not exist
    if out=$("${S[@]}" -o ProxyJump=none -o ConnectTimeout=2 "$H" true 2>&1); then
      echo "$H FAIL: reachable without its jump host $jump"; return 1
    fi
  fi
  out=$("${S[@]}" "$H" "$CHECK" 2>&1) || { echo "$H FAIL: $out"; return 1; }
  local ok=
  for _ in $(seq 20); do   # nginx reload is asynchronous
    [ "$(fetch "$from" "$ip")" = "smoke $H" ] && { ok=1; break; }
    sleep 0.1
  done
  "${S[@]}" "$H" "$CLEAN" >/dev/null 2>&1 || true
  [ -n "$ok" ] || { echo "$H FAIL: nginx site not served to ${jump:-the machine}"; return 1; }
  echo "$H OK ($(since "$t") s${jump:+, through $jump})"
}

if [ $# -gt 0 ]; then HS=("$@")
else mapfile -t HS < <(awk '/^h[0-9]+ / { print $1 }' "$HOSTS/inventory"); fi
[ ${#HS[@]} -gt 0 ] || die "the inventory lists no hosts"
rc=0 pids=()
for H in "${HS[@]}"; do check "$H" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || rc=1; done
note "smoke: ${#HS[@]} host(s) in $(since "$t0") s: $([ $rc = 0 ] && echo all OK || echo FAILED)"
exit $rc
