#!/usr/bin/env bash
# The main job: set up what is missing, build, and run the bench suite on
# emulated pmem (a file in /dev/shm with PMEM_IS_PMEM_FORCE=1).
# Pass --quick for a one-minute look.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PMEM_IS_PMEM_FORCE=1
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
exec .venv/bin/python experiments/run_all.py "$@"
