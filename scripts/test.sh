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
  cmake -S . -B build-planted -DPMO_PLANT_BUGS=ON -DPMO_INTREE_EXT=OFF \
        -DPMO_BENCH=OFF -DPython_EXECUTABLE="$PWD/.venv/bin/python" >/dev/null
fi
cmake --build build-planted -j"$(nproc)" -- --no-print-directory -s

echo "== Style: ruff (Python), clang-format (C and C++)"
.venv/bin/ruff check --quiet .
scripts/format.sh --check

# -n auto: one pytest worker per core (pytest-xdist); every test makes its
# own pools in its own directory, so they run side by side.
echo "== Python tests (pytest)"
.venv/bin/python -m pytest -q -p no:cacheprovider -n auto "$@" tests/python

echo "== Python tests again, the extension built with AddressSanitizer and UBSan"
if [ ! -f build-asan-py/CMakeCache.txt ]; then
  cmake -S . -B build-asan-py -DCMAKE_BUILD_TYPE=Debug -DPMO_SANITIZE=ON -DPMO_WERROR=ON \
        -DPMO_INTREE_EXT=OFF -DPMO_BENCH=OFF -DPMO_TESTS=OFF \
        -DPython_EXECUTABLE="$PWD/.venv/bin/python" >/dev/null
fi
cmake --build build-asan-py -j"$(nproc)" -- --no-print-directory -s
# The interpreter is not instrumented, so the runtimes are preloaded.
# abort_on_error and handle_segv=0: a finding (or a segfault) kills the
# process with a signal, which the crash and fuzz tests count as a crash.
# Leaks are not checked: CPython keeps memory until exit by design.
# test_scripts runs valgrind, which cannot run under a preloaded ASan.
PMEMOBJ_EXT_DIR="$PWD/build-asan-py" \
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:handle_segv=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  .venv/bin/python -m pytest -q -p no:cacheprovider -n auto "$@" --ignore=tests/python/test_scripts.py \
  tests/python
