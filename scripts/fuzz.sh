#!/usr/bin/env bash
# The corruption fuzzer (tests/fuzz/corrupt.py) on emulated pmem in /dev/shm.
#
#   scripts/fuzz.sh                      # the long run: 10,000 trials -> results/fuzz.{json,txt}
#   scripts/fuzz.sh --trials 300 ...     # any options of tests/fuzz/corrupt.py (no results written)
#
# Sets up and builds what is missing first, like the other scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PMEM_IS_PMEM_FORCE=1
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
if [ $# -eq 0 ]; then
    .venv/bin/python tests/fuzz/corrupt.py --trials 10000 --seed 20261204 --timeout 10 \
        --json results/fuzz.json | tee results/fuzz.txt
    exit "${PIPESTATUS[0]}"
fi
exec .venv/bin/python tests/fuzz/corrupt.py "$@"
