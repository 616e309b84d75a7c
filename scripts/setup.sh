#!/usr/bin/env bash
# Install what cloud502's tests and demo need on a Debian machine: nginx (Debian's nginx-light).
# Idempotent: does nothing when nginx is already there.
set -euo pipefail

have_nginx() {
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || [ -n "${NGINX:-}" ]
}

if have_nginx; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: nginx is missing and this is not a Debian machine: install nginx, or set NGINX=/path/to/nginx" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "setup: installing nginx-light (Debian) for the tests and the demo" >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine: update once if the install fails.
if ! $SUDO apt-get install -y --no-install-recommends nginx-light >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y --no-install-recommends nginx-light >/dev/null
fi
# The package may start a system nginx on port 80; the tests run their own instances and need none.
if command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl stop nginx >/dev/null 2>&1 || true
fi
have_nginx || { echo "setup: nginx-light installed but nginx is not on PATH" >&2; exit 1; }
