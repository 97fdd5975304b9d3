#!/usr/bin/env bash
# Installs what the end-to-end tests need from Debian when it is missing:
# chromium (driven through playwright-core; no browser download) and a CJK
# font (fonts-wqy-zenhei, ~10 MB), without which Chinese labels would be
# drawn as empty boxes; and pdftoppm (poppler-utils), which turns the
# incident report's PDF into a PNG in the report test.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
if ! fc-list :lang=zh family 2>/dev/null | grep -q .; then
  need+=(fonts-wqy-zenhei)
fi
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y "${need[@]}"
/usr/bin/chromium --version
