#!/usr/bin/env bash
# Installs what Safehold needs on Debian 12 (run as root): system packages, then a virtual
# environment in .venv with Safehold in it. Safe to run again; it only adds what is missing.
#   bash scripts/install.sh          # to run Safehold
#   bash scripts/install.sh --dev    # also the test and lint tools
set -euo pipefail
cd "$(dirname "$0")/.."

extra=""
[ "${1:-}" = "--dev" ] && extra="[dev]"

pkgs=(python3 python3-venv python3-dev g++ libmagic1 unar ffmpeg sleuthkit ewf-tools mtools
      e2fsprogs ntfs-3g dosfstools hashdeep p7zip-full zip zstd fdisk qemu-utils exfatprogs genisoimage xorriso apfsprogs)
missing=()
# --dev: Chromium for the browser end-to-end tests (Playwright drives /usr/bin/chromium; it never downloads one)
[ "${1:-}" = "--dev" ] && pkgs+=(chromium)
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".${extra}"
echo "Safehold installed: $(.venv/bin/safehold --help >/dev/null && echo ok) (.venv/bin/safehold)"
