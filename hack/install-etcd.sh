#!/usr/bin/env bash
# Installs etcd from Debian when it is missing (make run and make test need a real etcd).
set -euo pipefail
if command -v etcd >/dev/null 2>&1; then exit 0; fi
echo "installing etcd-server from Debian" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq etcd-server >/dev/null
command -v etcd >/dev/null
