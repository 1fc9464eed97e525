"""Run pynvm's own pmemobj tests against pmemobj (a child of test_pynvm_suite.py).

    python pynvm_runner.py PYNVM_DIR REVIEWED_LIST

PYNVM_DIR holds pynvm's ``tests`` package (from its repository; the sdist
ships none).  ``nvm`` and ``nvm.pmemobj`` are aliased to stand-ins whose
``pmemobj`` is this project's package, so ``from nvm import pmemobj`` in
pynvm's tests gets ours and pynvm itself is never imported.  Tests named in
REVIEWED_LIST (``module.Class.test: reason``) check pynvm's internals rather
than its API and are skipped with their reason.  Pool files go to the
current directory (the caller runs this in a scratch directory).  Prints
one JSON object: {"outcomes": {test id: "pass" | "fail" | "error" |
"skip"}, "details": {test id: traceback}, "unknown": [listed ids that
name no test]}.
"""

import json
import sys
import types
import unittest


def load_reviewed(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.partition(": ")
                out[name.strip()] = reason.strip()
    return out


def all_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from all_tests(t)
        else:
            yield t


def main(pynvm_dir, reviewed_path):
    import pmemobj

    nvm = types.ModuleType("nvm")
    nvm.__path__ = []            # a package, with no submodules of its own
    nvm.pmemobj = pmemobj
    sys.modules["nvm"] = nvm
    sys.modules["nvm.pmemobj"] = pmemobj
    sys.path.insert(0, pynvm_dir)

    reviewed = load_reviewed(reviewed_path)
    loader = unittest.TestLoader()
    suite = loader.discover(start_dir=f"{pynvm_dir}/tests", pattern="test_pmemobj_*.py",
                            top_level_dir=pynvm_dir)
    tests = list(all_tests(suite))
    outcomes, details = {}, {}
    ids = set()
    for test in tests:
        tid = test.id().removeprefix("tests.")
        ids.add(tid)
        if tid in reviewed:
            outcomes[tid] = "skip"
            continue
        result = unittest.TestResult()
        test.run(result)
        if result.failures:
            outcomes[tid] = "fail"
            details[tid] = result.failures[0][1]
        elif result.errors:
            outcomes[tid] = "error"
            details[tid] = result.errors[0][1]
        elif result.skipped:
            outcomes[tid] = "skip"
            details[tid] = result.skipped[0][1]
        else:
            outcomes[tid] = "pass"
    unknown = sorted(set(reviewed) - ids)
    print(json.dumps({"outcomes": outcomes, "details": details, "unknown": unknown}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
