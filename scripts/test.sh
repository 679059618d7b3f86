#!/usr/bin/env bash
# Sets up what the tests need (see setup.sh), then runs the whole suite on tiny checkpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# Two worker processes (pytest-xdist), one OpenMP thread each: on two cores the suite took 23
# minutes, against 47 in one process with two threads (AVX-512 AMD EPYC). The tests that talk to
# the app share one worker and one app (tests/conftest.py, pytest_xdist_make_scheduler).
# QWENLAB_TEST_WORKERS=0 runs it all in this process, as does `-p no:xdist` (which has no -n).
case " $* " in
  *" no:xdist "* | *" -pno:xdist "*) exec .venv/bin/python -m pytest "$@" ;;
esac
exec .venv/bin/python -m pytest -n "${QWENLAB_TEST_WORKERS:-2}" "$@"
