#!/usr/bin/env bash
# Sets up what the tests need (see setup.sh), then runs the whole suite on tiny checkpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
exec .venv/bin/python -m pytest "$@"
