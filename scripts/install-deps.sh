#!/usr/bin/env bash
# Installs the Debian 12 packages moedist needs to build, test and benchmark. Skips apt when
# everything is already installed. Uses sudo when not run as root.
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config make
  libcli11-dev libfmt-dev nlohmann-json3-dev libgtest-dev libgmock-dev
  libssl-dev libzstd-dev libarchive-dev libopenblas-dev
  clang libclang-rt-14-dev python3 python3-jsonschema bc time)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
