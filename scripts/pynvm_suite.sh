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
# -s shows the runner's counts.  They are kept in results/pynvm_suite.json
# with where the tests came from and which commit of pmemobj they ran
# against, because CI (no GitHub) skips this test.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
.venv/bin/python -m pytest -q -p no:cacheprovider -rs -s tests/python/test_pynvm_suite.py "$@" \
  2>&1 | tee "$log" || status=$?
SOURCE="$(cat "$dest/SOURCE")" STATUS=$status LOG="$log" PYTHONPATH="experiments:$PYTHONPATH" \
  .venv/bin/python - <<'PY'
# Stamped by experiments/common.py's metadata, as every result is.
import ast, os, re
import common as C
m = re.search(r"^pynvm suite: (\{.*\})$", open(os.environ["LOG"]).read(), re.M)
out = C.metadata("pynvm_suite", False, tests_from=os.environ["SOURCE"])
out.update(passed=os.environ["STATUS"] == "0",
           outcomes=ast.literal_eval(m.group(1)) if m else None)
C.write_json("results/pynvm_suite.json", out)
print("pynvm_suite: wrote results/pynvm_suite.json:", out["outcomes"],
      "passed" if out["passed"] else "FAILED")
PY
exit $status
