#!/usr/bin/env bash
# Installs the Debian 12 packages carbonledger builds with, runs with and
# tests with. Needs root; runs apt-get update only when a package is
# missing.
set -euo pipefail

packages=(
        # build
        build-essential cmake pkg-config clang-format
        # libraries
        libsqlite3-dev libxlsxwriter-dev libhpdf-dev libcurl4-openssl-dev
        libjson-c-dev libcmocka-dev libssl-dev libxml2-dev libmicrohttpd-dev
        # the Korean font embedded in PDF reports
        fonts-nanum
        # tools the tests check outputs with
        sqlite3 poppler-utils qpdf openssl python3 python3-openpyxl
        util-linux locales libnss3-tools fonts-dejavu-core
        # a real Prometheus for the cluster test, started on 127.0.0.1
        prometheus
        # peers measured by tests/bench (not needed for the tests)
        prometheus-node-exporter prometheus-process-exporter valgrind time
)

missing=()
for p in "${packages[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
                grep -q "install ok installed"; then
                missing+=("$p")
        fi
done
if [ ${#missing[@]} -eq 0 ]; then
        echo "install-deps: all ${#packages[@]} packages present"
elif [ "$(id -u)" != 0 ]; then
        echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
        exit 1
else
        echo "install-deps: installing ${missing[*]}"
        # The tests start Prometheus and the exporters themselves on
        # 127.0.0.1; mask the packages' services so installing them does
        # not start daemons listening on every address.
        if [ -d /run/systemd/system ]; then
                for unit in prometheus prometheus-node-exporter \
                        prometheus-process-exporter; do
                        systemctl mask "$unit.service" >/dev/null 2>&1 || true
                done
        fi
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                --no-install-recommends "${missing[@]}"
fi

# The XLSX and PDF tests render under a comma-decimal locale.
if ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
        localedef -i de_DE -f UTF-8 de_DE.UTF-8
fi
