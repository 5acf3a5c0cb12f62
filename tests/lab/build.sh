#!/bin/bash
# Builds what the lab needs, once:
#   - installs the machine's tools with apt-get if any is missing;
#   - keys/id_ed25519, the client key every lab user accepts;
#   - images/base, the shared read-only Debian bookworm rootfs (mmdebstrap), cached as
#     images/base-<recipe>.tar.zst so a rebuild is an unpack (about 1 s) instead of a
#     download (20-60 s); images/debs/ holds real Debian .debs for the local repo;
#   - images/repo, the local apt repository (repo/mkrepo.sh).
# Idempotent: does nothing that is already done. Usage: tests/lab/build.sh
# Env: LAB_MIRROR, LAB_SECMIRROR  Debian mirrors (default: the ones of this machine's apt)
#      LAB_CACHE_DIR              where the tar.zst lives (default images/), e.g. a CI cache
#      LAB_REBUILD=1              ignore images/base and the tar.zst, run mmdebstrap again
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root "$@"
t0=$EPOCHREALTIME
SUITE=bookworm
CACHE=${LAB_CACHE_DIR:-$IMAGES}

# 1. tools on the machine ------------------------------------------------------------------
TOOLS=(systemd-container mmdebstrap iproute2 openssh-client dpkg-dev apt-utils zstd curl)
missing=()
for p in "${TOOLS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  note "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed; the first build needs a Debian mirror"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
fi
[ -x "$PY" ] || die "$PY is missing: install python3 (the local repo is served by python3 -m http.server)"

# 2. client key ----------------------------------------------------------------------------
mkdir -p "$KEYS/hostkeys"
[ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C tend-lab -f "$KEY"

# 3. rootfs --------------------------------------------------------------------------------
# Debian mirrors: this machine's own apt sources (deb822 and one-line), unless overridden.
sources() {
  awk 'BEGIN { RS = "" }
    { uri = ""; suites = ""; deb = 0; off = 0
      n = split($0, L, "\n")
      for (i = 1; i <= n; i++) {
        if (L[i] ~ /^Types:.*(^|[ \t])deb([ \t]|$)/) deb = 1
        if (L[i] ~ /^Enabled:[ \t]*no/) off = 1
        if (L[i] ~ /^URIs:/) { split(L[i], a, /[ \t]+/); uri = a[2] }
        if (L[i] ~ /^Suites:/) { s = L[i]; sub(/^Suites:[ \t]*/, "", s); suites = s } }
      if (deb && !off && uri != "") print uri, suites }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
  awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i, $(i + 1) }' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
}
MIRROR=${LAB_MIRROR:-} SECMIRROR=${LAB_SECMIRROR:-}
if grep -q '^ID=debian' /etc/os-release 2>/dev/null; then
  [ -n "$MIRROR" ] || MIRROR=$(sources | awk '$0 !~ /security/ && $1 ~ /^https?:/ { print $1; exit }')
  [ -n "$SECMIRROR" ] || SECMIRROR=$(sources | awk '$0 ~ /security/ && $1 ~ /^https?:/ { print $1; exit }')
fi
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECMIRROR=${SECMIRROR:-http://deb.debian.org/debian-security}

PKGS=systemd,systemd-sysv,dbus,openssh-server,iptables,nginx-light,sudo,python3,python3-apt,iproute2,iputils-ping,procps,ca-certificates,less
REAL_DEBS="hello tree nginx nginx-light nginx-common libnginx-mod-http-echo"  # fetched from the same mirror into images/debs/ for the local repo
# The customize hooks run on the machine with $1 = the new rootfs. No key and nothing
# host-specific goes into the image: up.sh puts those into each host's overlay.
HOOKS=(
  # real .debs for the repo (before the Debian sources are disabled below)
  'mkdir -p "$1/tmp/lab-debs" && cd "$1/tmp/lab-debs" && APT_CONFIG="$MMDEBSTRAP_APT_CONFIG" apt-get download -q '"$REAL_DEBS"' >/dev/null 2>&1 || echo "lab: could not download '"$REAL_DEBS"'" >&2'
  # users: tester (NOPASSWD sudo), pwuser (sudo asks for the password tend-test-pw)
  'chroot "$1" useradd -m -s /bin/bash -G sudo tester'
  'chroot "$1" useradd -m -s /bin/bash -G sudo pwuser'
  'echo pwuser:tend-test-pw | chroot "$1" chpasswd'
  'echo "tester ALL=(ALL) NOPASSWD:ALL" > "$1/etc/sudoers.d/tester"; chmod 440 "$1/etc/sudoers.d/tester"'
  'for u in root tester pwuser; do chroot "$1" sh -c "install -d -m 700 -o $u -g $u ~$u/.ssh"; done'
  # sshd: one ed25519 host key per host (written by up.sh), no DNS, keys only,
  # room for many parallel connections from the tests
  'rm -f "$1"/etc/ssh/ssh_host_*'
  'printf "HostKey /etc/ssh/ssh_host_ed25519_key\nUseDNS no\nPasswordAuthentication no\nMaxStartups 100:30:200\nMaxSessions 50\n" > "$1/etc/ssh/sshd_config.d/lab.conf"'
  # nothing may take the dpkg lock behind the tests' back
  'for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer dpkg-db-backup.timer fstrim.timer; do ln -sf /dev/null "$1/etc/systemd/system/$u"; done'
  # networkd configures host0 (the address file is per host, written by up.sh)
  'ln -sf /lib/systemd/system/systemd-networkd.service "$1/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"'
  'mkdir -p "$1/etc/systemd/system/sockets.target.wants" && ln -sf /lib/systemd/system/systemd-networkd.socket "$1/etc/systemd/system/sockets.target.wants/"'
  ': > "$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id"'
  'echo labhost > "$1/etc/hostname"; : > "$1/etc/resolv.conf"'
  # apt: only the local repo (the hosts cannot reach the internet)
  'for f in "$1"/etc/apt/sources.list "$1"/etc/apt/sources.list.d/*.sources; do [ -e "$f" ] && mv "$f" "$f.debian-disabled"; done; true'
  # (up.sh writes each host's lab.list again, with LAB_REPO_PORT; this is only the default)
  'echo "deb [trusted=yes] http://10.251.0.1:8000 ./" > "$1/etc/apt/sources.list.d/lab.list"'
  'install -d "$1/srv/labrepo"'
)
RECIPE=$(printf '%s\n' "$SUITE" "$PKGS" "${HOOKS[@]}" | sha256sum | cut -c1-12)
TAR=$CACHE/base-$RECIPE.tar.zst

if [ "${LAB_REBUILD:-0}" = 1 ] || [ "$(cat "$IMAGES/base.recipe" 2>/dev/null)" != "$RECIPE" ] || [ ! -d "$BASE/usr" ]; then
  if ls "$HOSTS"/h*/nspawn.pid >/dev/null 2>&1; then
    die "hosts are running on the old image; run tests/lab/down.sh first"
  fi
  rm -rf "$BASE" "$BASE.new" "$IMAGES/debs" "$IMAGES/base.recipe"
  mkdir -p "$IMAGES" "$CACHE"
  if [ "${LAB_REBUILD:-0}" != 1 ] && [ -f "$TAR" ]; then
    note "unpacking cached rootfs $TAR"
    tar -C "$IMAGES" --xattrs --xattrs-include='*' --acls --numeric-owner -I zstd -xf "$TAR"
  else
    note "building rootfs with mmdebstrap from $MIRROR (20-60 s)"
    args=(--variant=minbase --mode=root --include="$PKGS" --quiet)
    for h in "${HOOKS[@]}"; do args+=(--customize-hook="$h"); done
    # the downloaded .debs leave the image (the last hook runs after all of the above)
    args+=(--customize-hook='mkdir -p "'"$IMAGES"'/debs" && mv "$1"/tmp/lab-debs/*.deb "'"$IMAGES"'/debs/" 2>/dev/null; rm -rf "$1/tmp/lab-debs"')
    mmdebstrap "${args[@]}" "$SUITE" "$BASE.new" \
      "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECMIRROR $SUITE-security main" ||
      die "mmdebstrap failed (mirror $MIRROR reachable? set LAB_MIRROR/LAB_SECMIRROR to override)"
    mv "$BASE.new" "$BASE"
    mkdir -p "$IMAGES/debs"
    rm -f "$CACHE"/base-*.tar.zst
    tar -C "$IMAGES" --xattrs --xattrs-include='*' --acls --numeric-owner -I 'zstd -T0 -3' -cf "$TAR.tmp" base debs
    mv "$TAR.tmp" "$TAR"
    note "cached $TAR ($(du -h "$TAR" | cut -f1))"
  fi
  echo "$RECIPE" > "$IMAGES/base.recipe"
else
  note "rootfs images/base is up to date (recipe $RECIPE)"
fi

# 4. local apt repository ------------------------------------------------------------------
"$LAB/repo/mkrepo.sh"

note "build done in $(since "$t0") s: $BASE ($(du -sh "$BASE" | cut -f1))"
