#!/usr/bin/env bash
# Installs the Ceph daemons the S3 tests start (Debian packages, ~35 s). Idempotent: does nothing
# when radosgw is already installed. Needs root (or passwordless sudo) and the Debian mirrors.
set -euo pipefail
if command -v radosgw >/dev/null 2>&1 && command -v ceph-mon >/dev/null 2>&1 && command -v ceph-osd >/dev/null 2>&1; then
  echo "ceph already installed: $(radosgw --version 2>/dev/null | head -1)"
  exit 0
fi
SUDO=
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=sudo
  else
    echo "install-ceph: not root and no passwordless sudo; cannot install radosgw" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd curl
echo "ceph installed: $(radosgw --version | head -1)"
