#!/usr/bin/env bash
# Sets up .venv on first run (see setup.sh), then serves Qwen Lab on http://127.0.0.1:7860.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app
exec .venv/bin/python app.py "$@"
