#!/usr/bin/env bash
# Takes a screenshot of a silo's Orleans dashboard with headless Chromium (Debian: apt-get install -y chromium).
#   deploy/dashboard-screenshot.sh [URL] [OUT.png]
# Defaults: the dashboard of instance 0 (http://127.0.0.1:8080/) and dashboard.png. The dashboard is a single-page
# app that fills itself from /DashboardCounters: --virtual-time-budget lets it load before the picture is taken.
set -euo pipefail
url="${1:-http://127.0.0.1:8080/}"
out="${2:-dashboard.png}"
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [ -z "$browser" ]; then
  echo "no Chromium found: apt-get install -y chromium" >&2
  exit 2
fi
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --window-size=1400,1000 --virtual-time-budget=8000 --screenshot="$(realpath -m "$out")" "$url" >/dev/null 2>&1
echo "wrote $out"
