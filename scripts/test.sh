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

echo "== C tests under AddressSanitizer and UBSan"
if [ ! -f build-asan/CMakeCache.txt ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPMO_SANITIZE=ON -DPMO_WERROR=ON \
        -DPMO_PYTHON=OFF -DPMO_BENCH=OFF >/dev/null
fi
cmake --build build-asan -j"$(nproc)" -- --no-print-directory -s
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j2

echo "== The planted-bug build the crash checkers must catch (build-planted/)"
if [ ! -f build-planted/CMakeCache.txt ]; then
  cmake -S . -B build-planted -DPMO_PLANT_BUG=skip_len_snapshot -DPMO_INTREE_EXT=OFF \
        -DPMO_BENCH=OFF -DPython_EXECUTABLE="$PWD/.venv/bin/python" >/dev/null
fi
cmake --build build-planted -j"$(nproc)" -- --no-print-directory -s

echo "== Style: ruff (Python)"
.venv/bin/ruff check --quiet .

echo "== Python tests (pytest)"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@" tests/python
