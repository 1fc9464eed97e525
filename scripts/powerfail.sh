#!/usr/bin/env bash
# The power-failure simulator (tests/powerfail/) on emulated pmem in /dev/shm.
#
#   scripts/powerfail.sh                 # the long run: 10,000 crash images -> results/powerfail.{json,txt}
#   scripts/powerfail.sh --images 300 ...  # any options of tests/powerfail/powerfail.py
#
# Sets up and builds what is missing first (libpftrace.so is part of the build).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PMEM_IS_PMEM_FORCE=1
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
if [ $# -eq 0 ]; then
    .venv/bin/python tests/powerfail/powerfail.py --transactions 400 --images 10000 \
        --seed 20261204 --json results/powerfail.json | tee results/powerfail.txt
    exit "${PIPESTATUS[0]}"
fi
exec .venv/bin/python tests/powerfail/powerfail.py "$@"
