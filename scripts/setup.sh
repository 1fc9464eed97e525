#!/usr/bin/env bash
# Install what is missing and build. Idempotent: on a machine that already
# has everything it only re-runs the (incremental) build, in a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
  build-essential cmake pkg-config
  libpmemobj-dev libpmempool-dev pmdk-tools libpmemobj1-debug
  libpmemlog-dev libpmemblk-dev        # pynvm (a benchmark peer) binds these too
  libbenchmark-dev
  linux-perf valgrind
  clang-format                         # scripts/format.sh, checked by scripts/test.sh
)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q "${missing[@]}"
fi

# Python packages into .venv; re-run pip only when the requirements change.
[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/.requirements-stamp
if ! cmp -s requirements-dev.txt "$stamp"; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements-dev.txt
  cp requirements-dev.txt "$stamp"
fi

# One CMake build: core library, extension (copied into python/pmemobj),
# C tests and benchmarks.
build_type=${PMO_BUILD_TYPE:-RelWithDebInfo}
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE="$build_type" -DPMO_WERROR=ON \
        -DPython_EXECUTABLE="$PWD/.venv/bin/python" >/dev/null
fi
cmake --build build -j"$(nproc)" -- --no-print-directory -s
