#!/usr/bin/env bash
# Install what cloud502's tests and demo need on a Debian machine: nginx (Debian's nginx-light),
# and moto_server (PyPI `moto`, with boto3) for the AWS tests plus prometheus-client (the reference
# parser the audit tests check the metrics textfile with), in ./.venv unless the machine's python3
# already has them; chromium for the HTML report test. Idempotent: does nothing when all are there.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.1"
PROMETHEUS_CLIENT_VERSION="0.21.1"
have_moto() {
    "$1" -c 'import moto, moto.server, boto3, flask, prometheus_client.parser' >/dev/null 2>&1
}
if [ -z "${CLOUD502_PYTHON:-}" ] && ! have_moto python3 && ! { [ -x .venv/bin/python3 ] && have_moto .venv/bin/python3; }; then
    echo "setup: installing moto[server]==$MOTO_VERSION and prometheus-client==$PROMETHEUS_CLIENT_VERSION into .venv for the tests" >&2
    if ! python3 -m venv .venv >/dev/null 2>&1; then
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        $SUDO apt-get install -y --no-install-recommends python3-venv >/dev/null 2>&1 || { $SUDO apt-get update -qq; $SUDO apt-get install -y --no-install-recommends python3-venv >/dev/null; }
        python3 -m venv .venv
    fi
    .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" "prometheus-client==$PROMETHEUS_CLIENT_VERSION"
    have_moto .venv/bin/python3 || { echo "setup: moto installed but does not import" >&2; exit 1; }
fi

# Headless Chromium and a font for the HTML report's browser test (tests/tests/html_report.rs).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium and fonts-dejavu-core (Debian) for the HTML report test" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1; then
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null
    fi
fi

# Node.js for the keep-alive probe test against a real Node server (tests/tests/nginx_provider.rs).
if ! command -v node >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing nodejs (Debian) for the keep-alive probe test" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends nodejs >/dev/null 2>&1; then
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends nodejs >/dev/null
    fi
fi

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
