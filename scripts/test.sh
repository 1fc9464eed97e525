#!/usr/bin/env bash
# Run every test: set up what is missing, build, then the C tests (ctest)
# and the Python tests (pytest), on emulated pmem in /dev/shm.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

export PMEM_IS_PMEM_FORCE=1
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"

echo "== C tests (ctest)"
ctest --test-dir build --output-on-failure -j2

echo "== Python tests (pytest)"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@" tests/python
