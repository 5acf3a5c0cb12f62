#!/bin/bash
# Builds the lab's local apt repository in images/repo (flat, unsigned: hosts use
# "deb [trusted=yes] http://10.251.0.1:8000 ./", or file:/srv/labrepo, bound read-only):
#   lab-hello 1.0 and 1.1  /usr/bin/lab-hello prints "lab-hello <version>"; ships
#                          lab-hello.service (python3 http.server on :8081), not enabled
#   lab-other 0.1          /usr/bin/lab-other, lab-other.service (same, port 8082)
#   hello, tree, nginx-light (and the nginx packages it needs): real Debian packages: from images/debs/ (downloaded by build.sh
#                          from the image's mirror) or else this machine's apt-get download
# The .debs are reproducible (fixed timestamps), so rebuilding the repo while hosts run does
# not invalidate the package lists they hold. Usage: tests/lab/repo/mkrepo.sh
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
for t in dpkg-deb dpkg-scanpackages apt-ftparchive; do
  command -v "$t" >/dev/null || die "$t is missing; run tests/lab/build.sh (it installs dpkg-dev apt-utils)"
done
export SOURCE_DATE_EPOCH=1700000000
OUT=$REPO
rm -rf "$OUT.new"; mkdir -p "$OUT.new"

mk() { # name version port
  local n=$1 v=$2 port=$3 d
  d=$(mktemp -d)
  mkdir -p "$d/DEBIAN" "$d/usr/bin" "$d/lib/systemd/system"
  printf '#!/bin/sh\necho "%s %s"\n' "$n" "$v" > "$d/usr/bin/$n"
  chmod 755 "$d/usr/bin/$n"
  printf '[Unit]\nDescription=%s %s test service\n[Service]\nExecStart=/usr/bin/python3 -m http.server %s\n[Install]\nWantedBy=multi-user.target\n' \
    "$n" "$v" "$port" > "$d/lib/systemd/system/$n.service"
  printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: tend lab <lab@example.invalid>\nDepends: python3\nSection: misc\nPriority: optional\nDescription: tend lab test package %s\n' \
    "$n" "$v" "$n" > "$d/DEBIAN/control"
  chmod -R go-w "$d"
  find "$d" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  dpkg-deb --root-owner-group -Zxz --build "$d" "$OUT.new/${n}_${v}_all.deb" >/dev/null
  rm -rf "$d"
}
mk lab-hello 1.0 8081
mk lab-hello 1.1 8081
mk lab-other 0.1 8082

for p in ${LAB_REAL_DEBS-hello tree nginx nginx-light nginx-common libnginx-mod-http-echo}; do
  if ls "$IMAGES/debs/${p}_"*.deb >/dev/null 2>&1; then
    cp "$IMAGES/debs/${p}_"*.deb "$OUT.new/"
  elif (cd "$OUT.new" && apt-get download -q "$p" >/dev/null 2>&1); then
    note "mkrepo: $p taken from this machine's apt (not in images/debs/)"
  else
    note "mkrepo: warning: no .deb for $p (not in images/debs/, apt-get download failed); the repo lacks it"
  fi
done

(
  cd "$OUT.new"
  dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null
  gzip -9nk Packages
  apt-ftparchive -o APT::FTPArchive::Release::Origin=tend-lab -o APT::FTPArchive::Release::Label=tend-lab \
    release . > ../repo-Release.tmp
  mv ../repo-Release.tmp Release
)
if [ -f "$OUT/Packages" ] && cmp -s "$OUT/Packages" "$OUT.new/Packages"; then
  rm -rf "$OUT.new"       # unchanged: keep the served files as they are
elif [ -d "$OUT" ]; then  # replace the contents, keep the directory (running hosts bind it)
  find "$OUT" -mindepth 1 -delete; cp -a "$OUT.new/." "$OUT/"; rm -rf "$OUT.new"
else
  mv "$OUT.new" "$OUT"
fi
note "repo $OUT: $(cd "$OUT" && ls -- *.deb | tr '\n' ' ')"
