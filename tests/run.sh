#!/usr/bin/env bash
# Installs everything the test-suite needs on a fresh Debian machine, then runs it:
#   - Debian's chromium + chromium-driver (the real-browser test drives /usr/bin/chromium),
#   - a virtual environment .venv with requirements-dev.txt (CPU torch from the pinned wheel),
#   - ruff, the import-linter layering contracts, then pytest. Extra arguments go to pytest (e.g. `bash tests/run.sh -k survey`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver fonts-noto-color-emoji >/dev/null
fi
# Debian's postgresql: tests/test_vote_postgres.py runs initdb and starts a throwaway server on a loopback port.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

# Debian's espeak-ng: tests/test_voice.py makes a spoken line with it (a face says it; lip-sync measured).
if ! command -v espeak-ng >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq espeak-ng >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt

.venv/bin/ruff check .
# Layering contracts (pyproject.toml [tool.importlinter]): core never imports streamlit or pages, ...
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
