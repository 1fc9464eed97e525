#!/usr/bin/env bash
# The kill torture (tests/crash/torture.py) on emulated pmem in /dev/shm:
# children running the random workload (tests/workload/) are SIGKILLed at
# random moments; each recovered pool must hold the state after exactly
# the last acknowledged transaction or the one in flight, check clean and
# stay usable.
#
#   scripts/crash.sh                     # the long run: 300 runs x 10 kills -> results/crash.{json,txt}
#   scripts/crash.sh --runs 20 ...       # any options of tests/crash/torture.py (no results written)
#
# Sets up and builds what is missing first, like the other scripts.  The
# long run takes about 9 minutes on the 2-core VM.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PMEM_IS_PMEM_FORCE=1
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
if [ $# -eq 0 ]; then
    .venv/bin/python tests/crash/torture.py --runs 300 --kills-per-run 10 --seed 20261204 \
        --json results/crash.json | tee results/crash.txt
    exit "${PIPESTATUS[0]}"
fi
exec .venv/bin/python tests/crash/torture.py "$@"
