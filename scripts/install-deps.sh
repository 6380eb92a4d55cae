#!/usr/bin/env bash
# Install every build and test dependency of fantasia.c from Debian's packages.
# Usage: sudo scripts/install-deps.sh   (root: apt-get; no other registry is used)
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config \
  libhdf5-dev hdf5-tools libopenblas-dev libsqlite3-dev sqlite3 zlib1g-dev \
  libyaml-dev libparasail-dev libcjson-dev libzip-dev libcmocka-dev \
  mmseqs2 python3 python3-numpy python3-h5py >/dev/null
