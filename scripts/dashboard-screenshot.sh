#!/usr/bin/env bash
# Makes docs/dashboard-overview.png and docs/dashboard-fleet.png: runs the dashboard end-to-end
# (scripts/dashboard-e2e.sh, scripts/fleet-dashboard-e2e.sh) keeping the Overview screens with their
# colors, then draws them with ImageMagick (installed from Debian's package when missing; needs root
# and apt-get). Run after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
CAPTURE="$(mktemp -d)"
trap 'rm -rf "$CAPTURE"' EXIT
# /usr/local/bin may hold something else named convert: use the Debian package's binary.
CONVERT=/usr/bin/convert
if [ ! -x "$CONVERT" ]; then
  echo "[dashboard-screenshot] installing imagemagick"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq imagemagick fonts-dejavu-core >/dev/null
fi
DASHBOARD_E2E_CAPTURE_DIR="$CAPTURE" bash scripts/dashboard-e2e.sh
DASHBOARD_E2E_CAPTURE_DIR="$CAPTURE" bash scripts/fleet-dashboard-e2e.sh
mkdir -p docs
node scripts/ansi-to-png.mjs "$CAPTURE/overview.ansi" docs/dashboard-overview.png "$CONVERT"
echo "[dashboard-screenshot] written: docs/dashboard-overview.png"
node scripts/ansi-to-png.mjs "$CAPTURE/fleet.ansi" docs/dashboard-fleet.png "$CONVERT"
echo "[dashboard-screenshot] written: docs/dashboard-fleet.png"
