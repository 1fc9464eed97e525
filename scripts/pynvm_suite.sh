#!/usr/bin/env bash
# Run pynvm's own pmemobj tests against pmemobj (tests/python/test_pynvm_suite.py).
#
# pynvm's sdist on PyPI ships no tests, so they come from its repository at
# the tag of the release the benchmarks use (v0.3.1), cloned once into
# .cache/pynvm (not part of the repository).  PYNVM_REPO names another
# clone source (a mirror, a local clone) when GitHub is out of reach.
# Nothing of pynvm is installed or imported: the runner aliases nvm.pmemobj
# to pmemobj.  Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.3.1
dest=.cache/pynvm
repo=${PYNVM_REPO:-https://github.com/pmem/pynvm.git}

if [ ! -f "$dest/tests/support.py" ]; then
  echo "pynvm_suite: fetching pynvm v$version's tests from $repo"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  git -c advice.detachedHead=false clone --quiet --branch "v$version" "$repo" "$tmp/pynvm"
  mkdir -p "$dest"
  rm -rf "$dest/tests"
  cp -r "$tmp/pynvm/tests" "$dest/tests"
  echo "pynvm v$version $(git -C "$tmp/pynvm" rev-parse HEAD) from $repo" > "$dest/SOURCE"
fi

scripts/setup.sh
export PMEM_IS_PMEM_FORCE=1
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
# -s shows the runner's counts; they are kept in results/ with where the
# tests came from and which commit of pmemobj they ran against, because CI
# (no GitHub) skips this test.
out=results/pynvm_suite.txt
status=0
{
  echo "# pynvm's own pmemobj tests against pmemobj $(git rev-parse --short HEAD), $(date -u +%FT%TZ)"
  echo "# tests: $(cat "$dest/SOURCE")"
  echo "# machine: $(uname -srm), $(nproc) cores, Python $(.venv/bin/python -c 'import platform; print(platform.python_version())')"
  .venv/bin/python -m pytest -q -p no:cacheprovider -rs -s tests/python/test_pynvm_suite.py "$@" 2>&1
} | tee "$out.tmp" || status=$?
mv "$out.tmp" "$out"
exit $status
