#!/usr/bin/env bash
# Build the web pages' front-end assets into static/ from the npm registry's govuk-frontend.
#
#   bash scripts/build_assets.sh          # npm ci, then compile and copy
#   SKIP_NPM_CI=1 bash scripts/build_assets.sh   # reuse node_modules as it is
#
# The stylesheet is compiled from registry/web/assets/app.scss with a system font: the GDS
# Transport typeface and the crown belong to GOV.UK, and Gatehouse is not on GOV.UK.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${SKIP_NPM_CI:-0}" != "1" ]; then
  npm ci --omit=optional --no-audit --no-fund --loglevel=error
fi

GOVUK=node_modules/govuk-frontend/dist/govuk
rm -rf static/govuk static/app.css static/app.js
mkdir -p static/govuk/assets
cp "$GOVUK/govuk-frontend.min.js" static/govuk/
cp -r "$GOVUK/assets/images" static/govuk/assets/images
cp "$GOVUK/assets/manifest.json" static/govuk/assets/
node_modules/.bin/sass --pkg-importer=node --style=compressed --no-source-map \
  registry/web/assets/app.scss static/app.css
cp registry/web/assets/app.js static/app.js
echo "assets built in static/: $(du -sh static | cut -f1)"
