#!/usr/bin/env bash
# The main job on this host: installs what is missing, builds, runs the
# collector for about a minute on the real /sys, /proc and cgroups, then
# the nightly run for today (KST), and prints the signed reports' paths
# and the verify result. Files go to demo-out/ in the source folder.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
seconds=${DEMO_SECONDS:-60}

bash scripts/install-deps.sh
bash scripts/build.sh carbonledger carbonledger-collector

out="$top/demo-out"
mkdir -p "$out"
db="$out/carbonledger.db"
bin="$top/build"

if [ ! -f "$out/keys/key.pem" ]; then
        echo "demo: creating a self-signed demo key; real reports need a key and certificate from your CA"
        "$bin/pipeline/carbonledger" keygen --out "$out/keys"
else
        echo "demo: using the self-signed demo key in $out/keys"
fi

echo "demo: sampling this host for ${seconds} s (interval 5 s) into $db"
"$bin/collector/carbonledger-collector" --db "$db" --interval 5 --verbose &
pid=$!
sleep "$seconds"
kill -TERM "$pid"
wait "$pid"

today=$(TZ=Asia/Seoul date +%F)
echo "demo: nightly run for $today (KST)"
"$bin/pipeline/carbonledger" run --db "$db" --date "$today" \
        --out "$out/reports" --sign-key "$out/keys/key.pem" \
        --sign-cert "$out/keys/cert.pem"

echo "demo: verifying"
"$bin/pipeline/carbonledger" verify "$out/reports/carbonledger-$today.pdf" \
        --ca "$out/keys/cert.pem"
"$bin/pipeline/carbonledger" verify "$out/reports/carbonledger-$today.xlsx" \
        --ca "$out/keys/cert.pem"
