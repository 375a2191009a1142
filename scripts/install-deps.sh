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
        libjson-c-dev libcmocka-dev libssl-dev libxml2-dev
        # the Korean font embedded in PDF reports
        fonts-nanum
        # tools the tests check outputs with
        sqlite3 poppler-utils qpdf openssl python3 python3-openpyxl
        util-linux locales libnss3-tools
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
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                --no-install-recommends "${missing[@]}"
fi

# The XLSX and PDF tests render under a comma-decimal locale.
if ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
        localedef -i de_DE -f UTF-8 de_DE.UTF-8
fi
