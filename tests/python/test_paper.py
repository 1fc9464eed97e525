"""Every number in the paper comes from results/.

paper/generate.py turns results/*.json into LaTeX macros and tables and
records, for every number it prints, the file, key and operation it came
from (sources.json).  These tests run the generator into a temporary
directory (no TeX needed) and check that

- the prose (paper/**/*.tex outside generated/) contains no digits except
  a small allow-list of design constants and names (ALLOWED, each with why);
- every number-like macro the prose uses is one the generator defines;
- every recorded number re-reads from its key in results/ to the same
  value, and is printed with correct rounding;
- the generated tables contain no number that is not recorded;

and that the checks can fail: a hand-typed number, an unknown macro, a
tampered value and a mis-rounded print are each caught.

Some results may be missing from a run (generate.OPTIONAL: the sorted
map, the latency study, the crash torture's long run, the workloads of
issue #9, pynvm's own test suite, the growable pool's run, the reasons
for missed targets): the generator then defines no numbers for them and sets
\\ifHave<Group> false.  The prose uses a group's numbers only inside
\\ifHave<Group> ... \\fi (checked), and the generator and these checks
are run with each group left out and, for the crash run, the growth run
and the reasons, with stand-ins of the agreed fields.
"""

import copy
import importlib.util
import json
import math
import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "paper"
RESULTS = REPO / "results"

# Digits the prose may contain: constants of the design and names, never
# measurements.  Each pattern must match the whole token in its context.
ALLOWED = [
    r"16-byte",                      # the slot size (src/slot.h)
    r"64-bit",                       # the width of an inline integer
    r"64-byte",                      # the small allocation unit (tx.c)
    r"(?:1|2|4|32|256)\\,(?:KiB|MiB)",  # allocation-class units and bounds, the chunk size,
                                     # and the workload sizes named in results (1 MiB
                                     # write, 4 KiB blocks)
    r"64\\,MiB",                     # the pool size below which the 32 KiB class exists
    r"8-byte",                       # the width of a failure-atomic store (x86)
    r"64~pools",                     # pools the SIGBUS handler watches (PMO_IOFAIL_MAX,
                                     # src/iofail.h; test_design_constants_match_the_source)
    r"14~bytes",                     # the longest str stored in a slot (src/slot.h)
    r"256~bytes",                    # the largest object without an allocation
                                     # header (PMO_HEADLESS_MAX, src/pool.h)
    r"SipHash-1-3",                  # a hash function's name
    r"x86",                          # an architecture's name
    r"P(?:50|90|99\.9|99)\b",        # the names of the percentiles reported
    r"UTF-8",                        # an encoding's name
]
ALLOWED_RE = re.compile("|".join("(?:%s)" % a for a in ALLOWED))

# Arguments that name things rather than say them: labels, references,
# citations, files.
NON_PROSE = re.compile(
    r"\\(?:label|ref|cite|input|include|includegraphics|bibliography|"
    r"bibliographystyle|documentclass|usepackage|settopmatter|begin|end)"
    r"(?:\[[^\]]*\])?\{[^}]*\}")
# Macro definitions and layout lengths: argument counts, parameters and
# dimensions are not numbers the paper reports.
DEFINITION = re.compile(r"\\(?:re)?newcommand\{\\[A-Za-z]+\}\[\d\]|#\d|"
                        r"\\setlength\{\\[A-Za-z]+\}\{[\d.]+(?:em|pt|ex)\}")
# Commands of LaTeX itself that start with a capital letter; every other
# capitalised command in the prose must be a generated number.
LATEX_CAPITALISED = {"S", "TeX", "LaTeX"}


def load_generator():
    spec = importlib.util.spec_from_file_location("paper_generate", PAPER / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def gen():
    return load_generator()


@pytest.fixture(scope="module")
def generated(gen, tmp_path_factory):
    out = tmp_path_factory.mktemp("generated")
    numbers, tables = gen.build(str(RESULTS))
    gen.write(numbers, tables, str(out))
    return out


def prose_files():
    # generated/ is the generator's output; diagrams/ holds drawings of the
    # design (TikZ coordinates, not measurements), included by the text.
    files = sorted(p for p in PAPER.rglob("*.tex")
                   if "generated" not in p.parts and "diagrams" not in p.parts)
    assert files, "no .tex sources under paper/"
    return files


def strip_comments(text):
    return re.sub(r"(?<!\\)%.*", "", text)


def stray_numbers(text):
    """(line number, token, line) for each digit sequence in the prose that
    is neither inside a non-prose argument nor allowed."""
    found = []
    for i, line in enumerate(text.splitlines(), 1):
        line = strip_comments(line)
        line = NON_PROSE.sub("", line)
        line = DEFINITION.sub("", line)
        line = ALLOWED_RE.sub("", line)
        for m in re.finditer(r"\d+(?:[.,]\d+)*", line):
            found.append((i, m.group(), line.strip()))
    return found


def used_macros(text):
    """Capitalised commands used in the text (the generator's are all
    capitalised; LaTeX's own are lowercase but for a few)."""
    text = strip_comments(text)
    return set(re.findall(r"\\([A-Z][A-Za-z]*)", text)) - LATEX_CAPITALISED


GUARD = re.compile(r"\\(ifHave[A-Za-z]+|if[A-Za-z]*|else|fi)(?![A-Za-z])|\\([A-Z][A-Za-z]*)")


def guarded_uses(text):
    """(macro, frozenset of groups) for each capitalised command used in
    the text: the groups whose \\ifHave<Group> true branch encloses it.
    Only \\ifHave conditionals may appear in the prose."""
    text = strip_comments(text)
    stack, uses = [], []        # stack: [group, in_else]
    for m in GUARD.finditer(text):
        word, macro = m.group(1), m.group(2)
        if macro:
            if macro not in LATEX_CAPITALISED:
                uses.append((macro, frozenset(g for g, e in stack if not e)))
        elif word.startswith("ifHave"):
            stack.append([word[len("ifHave"):], False])
        elif word == "else":
            assert stack, "\\else outside \\ifHave"
            stack[-1][1] = True
        elif word == "fi":
            assert stack, "\\fi outside \\ifHave"
            stack.pop()
        else:
            raise AssertionError("a conditional other than \\ifHave<Group>: \\" + word)
    assert not stack, "\\ifHave%s without \\fi" % stack[-1][0]
    return uses


def flags(generated):
    """Optional group -> present, from numbers.tex."""
    text = (generated / "numbers.tex").read_text()
    return {g: bool(t) for g, t in re.findall(r"\\newif\\ifHave([A-Za-z]+)(\\Have\1true)?",
                                                text)}


def undefined_uses(generated):
    """Macros the prose uses that the generator did not define, other than
    those inside the true branch of a group that is left out."""
    defined = set(defined_macros(generated))
    have = flags(generated)
    local = set()
    for path in prose_files():
        local |= set(re.findall(r"\\newcommand\{\\([A-Za-z]+)\}", path.read_text()))
    missing = {}
    for path in prose_files():
        for macro, groups in guarded_uses(path.read_text()):
            unknown = [g for g in groups if g not in have]
            assert not unknown, "%s: \\ifHave%s is no group of the generator" % (path, unknown)
            if macro in defined or macro in local or not all(have[g] for g in groups):
                continue
            missing.setdefault(macro, str(path.relative_to(REPO)))
    return missing


def unguarded_uses(generated):
    """Uses of an optional group's number outside its \\ifHave block."""
    entries = json.loads((generated / "sources.json").read_text())
    bad = []
    for path in prose_files():
        for macro, groups in guarded_uses(path.read_text()):
            group = entries.get(macro, {}).get("group")
            if group and group not in groups:
                bad.append("%s: \\%s outside \\ifHave%s" % (path.name, macro, group))
    return bad


def defined_macros(generated):
    text = (generated / "numbers.tex").read_text()
    return dict(re.findall(r"\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}$", text, re.M))


def check_entry(gen, ident, entry, results=RESULTS):
    """Raise AssertionError unless the entry re-reads from results/ to the
    recorded value and its printed number is that value, rounded."""
    values = []
    for src in entry["sources"]:
        assert src["file"].startswith("results/"), "%s: %s" % (ident, src["file"])
        path = Path(results) / src["file"][len("results/"):]
        assert path.parent == Path(results) and path.exists(), "%s: no file %s" % (ident, path)
        with open(path) as f:
            data = json.load(f)
        values.append(gen.lookup(data, src["key"]))
        if "label" in src:          # a target looked up by its label: still that target
            got = gen.lookup(data, src["key"][:2] + ["label"])
            assert got == src["label"], "%s: target %s is now %r, not %r" % (
                ident, src["key"][:2], got, src["label"])
    if entry["op"] == "text":
        assert values[0] == entry["value"], "%s: %r != %r" % (ident, values[0], entry["value"])
        return
    value = gen.OPS[entry["op"]](values)
    assert math.isclose(value, entry["value"], rel_tol=1e-12, abs_tol=1e-12), \
        "%s: results give %r, recorded %r" % (ident, value, entry["value"])
    printed = entry["number"]
    decimals = len(printed.partition(".")[2])
    want = (value + entry.get("offset", 0.0)) * entry["scale"]
    # Integers printed without decimals may be rounded to 3 significant
    # digits (1.81 us) or to a whole number (764 ns): half a unit of the
    # last printed digit either way.
    assert abs(float(printed) - want) <= 0.5 * 10 ** -decimals * (1 + 1e-9), \
        "%s: printed %s for %r" % (ident, printed, want)
    grouped = re.sub(r"(\d)(?=(\d{3})+$)", r"\1{,}", printed.partition(".")[0]) \
        if len(printed.partition(".")[0]) > 4 else printed.partition(".")[0]
    assert grouped in entry["latex"], "%s: %s not in %r" % (ident, printed, entry["latex"])


# -- the paper as committed ----------------------------------------------------------------

def test_design_constants_match_the_source():
    # a constant the prose states in digits is the one the code has
    iofail = (REPO / "src" / "iofail.h").read_text()
    assert re.search(r"#define PMO_IOFAIL_MAX 64\b", iofail)
    pool = (REPO / "src" / "pool.h").read_text()
    assert re.search(r"#define PMO_HEADLESS_MAX 256\b", pool)
    text = "".join(p.read_text() for p in prose_files())
    assert "64~pools" in text and "256~bytes" in text


def test_prose_has_no_hand_typed_numbers():
    bad = []
    for path in prose_files():
        for line, token, ctx in stray_numbers(path.read_text()):
            bad.append("%s:%d: %s   in: %s" % (path.relative_to(REPO), line, token, ctx))
    assert not bad, "numbers typed into the prose (use a macro from paper/generate.py):\n" \
        + "\n".join(bad)


def test_every_macro_used_is_generated(generated):
    missing = undefined_uses(generated)
    assert not missing, "macros the generator does not define: %s" % missing


def test_optional_numbers_are_guarded(generated):
    bad = unguarded_uses(generated)
    assert not bad, "numbers of an optional group used where it may be missing:\n" + \
        "\n".join(bad)


def test_checks_of_an_optional_group_can_fail(generated):
    # an \\ifHave without its \\fi, another conditional, a group the
    # generator does not know, and a guarded number used unguarded
    with pytest.raises(AssertionError):
        guarded_uses(r"\ifHaveLatency \LatN{}")
    with pytest.raises(AssertionError):
        guarded_uses(r"\ifdim x \fi")
    assert guarded_uses(r"\ifHaveLatency \LatN{} \else \Cores{} \fi \Rounds") == [
        ("LatN", frozenset({"Latency"})), ("Cores", frozenset()), ("Rounds", frozenset())]
    entries = json.loads((generated / "sources.json").read_text())
    guarded = [m for m, e in entries.items() if e.get("group")]
    if guarded:
        m = guarded[0]
        assert [(m, frozenset())] == guarded_uses("\\%s{}" % m)


def results_copy(tmp_path, drop=(), add=None, ops_without=(), patch=None):
    """A copy of results/ without the files in drop, with the files of add
    ({name: data}), with ops_vs_peers.json's workloads ops_without
    removed, and with patch ({name: function changing its data in place})
    applied: a run that lacks some results, or has newer ones."""
    out = tmp_path / "results"
    shutil.copytree(RESULTS, out, ignore=shutil.ignore_patterns("*.png", "quick"))
    for name in drop:
        (out / (name + ".json")).unlink(missing_ok=True)
    for name, data in (add or {}).items():
        (out / (name + ".json")).write_text(json.dumps(data))
    for name, change in (patch or {}).items():
        data = json.loads((out / (name + ".json")).read_text())
        change(data)
        (out / (name + ".json")).write_text(json.dumps(data))
    if ops_without:
        ops = json.loads((out / "ops_vs_peers.json").read_text())
        for w in ops_without:
            ops["results"].pop(w, None)
        (out / "ops_vs_peers.json").write_text(json.dumps(ops))
    return out


# The crash torture's long run (scripts/crash.sh), as its brief fixes it:
# a stand-in with those fields, to check the generator and the prose with
# the file present; the real file, where there is one, is checked by the
# tests above.
CRASH_FIELDS = {"runs": 200, "kills": 180, "violations": 0, "mid_transaction": 150,
                "seed": 1, "seconds": 600.0, "timeout_s": 30,
                "commit": {"commit": "0123456789abcdef0123456789abcdef01234567",
                           "dirty": False}}


# footprint.py's growth run (growable pools) and a reason beside every
# missed target of the summary (issue #9), as their branches write them:
# stand-ins to check the generator and the prose with them present.
GROWTH_FIELDS = {"n": 1000000, "grow_s": 0.2264, "fixed_s": 0.2161,
                 "grow_bytes": 46137344, "fixed_bytes": 67108864, "ratio": 0.2264 / 0.2161}


def without_growth_or_reasons(name):
    def change(data):
        if name == "footprint":
            data.pop("growth", None)
        else:
            for m in data.get("missed") or []:
                m.pop("why", None)
    return change


# experiments/misses.py's reasons start with their kind
WHY_KINDS = ["floor: %d: the raw libpmemobj tx with the op's ranges costs 1.21 us of 1.43 us",
             "noise at the edge: %d: off by 1.02x, within 1.05x; per-round ratios 0.9x-1.1x",
             "not a floor: %d: the binding's conversion costs 200 ns of 1.43 us; not done"]


def with_reasons(data):
    data["missed"] = [{"label": t["label"], "issue": t.get("issue"), "group": t.get("group"),
                       "off_by": 1 / t["margin"]}
                      for t in data["targets"] if t.get("met") is False]
    for i, m in enumerate(data["missed"]):
        m["why"] = WHY_KINDS[i % 3] % i


@pytest.mark.parametrize("case", ["without_any", "with_crash", "with_growth_and_reasons"])
def test_the_paper_builds_with_and_without_optional_results(gen, tmp_path, case):
    if case == "without_any":
        res = results_copy(tmp_path, drop=("sorted_map", "latency", "crash", "pynvm_suite"),
                           ops_without=gen.NEW_OPS,
                           patch={f: without_growth_or_reasons(f)
                                  for f in ("footprint", "summary")})
    elif case == "with_crash":
        res = results_copy(tmp_path, add={"crash": CRASH_FIELDS})
    else:
        res = results_copy(tmp_path, patch={
            "footprint": lambda d: d.update(growth=GROWTH_FIELDS), "summary": with_reasons})
    out = tmp_path / "generated"
    numbers, tables = gen.build(str(res))
    gen.write(numbers, tables, str(out))
    have = flags(out)
    assert set(have) == set(gen.OPTIONAL)
    if case == "without_any":
        assert not any(have.values())
        assert not any(e.get("group") for e in numbers.entries.values())
        table = (out / "tab-ops.tex").read_text()
        assert not any("{%s}" % gen.tex_escape(w) in table for w in gen.NEW_OPS)
    elif case == "with_crash":
        assert have["Crash"]
        assert numbers.entries["CrashRuns"]["value"] == CRASH_FIELDS["runs"]
        assert numbers.entries["CrashCommit"]["latex"] == "0123456"
    else:
        assert have["Growth"] and have["MissReasons"]
        assert numbers.entries["GrowN"]["latex"] == "1{,}000{,}000"
        assert numbers.entries["GrowOverFixed"]["latex"] == "1.05$\\times$"
        assert numbers.entries["GrowDisk"]["latex"] == "44\\,MiB"
        assert numbers.entries["GrowTime"]["latex"] == "226\\,ms"
        missed = json.loads((res / "summary.json").read_text())["missed"]
        table = (out / "tab-missed.tex").read_text()
        assert table.count(r"\tabularnewline") == len(missed) > 0
        assert all(gen.tex_escape(m["why"]) in table for m in missed)
    assert not undefined_uses(out)
    assert not unguarded_uses(out)
    for ident, entry in json.loads((out / "sources.json").read_text()).items():
        check_entry(gen, ident, entry, results=res)
    tabs = json.loads((out / "sources.json").read_text())
    for table in sorted(out.glob("tab-*.tex")):
        assert not unsourced_cells(table.read_text(), table_records(tabs, table)), table.name


def test_incomplete_optional_results_are_left_out(gen, tmp_path):
    # a pynvm suite run that failed is not described as a pass, and
    # reasons are cited only when every miss has one
    def some_reasons(data):
        with_reasons(data)
        data["missed"][0].pop("why")
    res = results_copy(tmp_path, patch={
        "summary": some_reasons,
        "pynvm_suite": lambda d: d.update(passed=False, outcomes={"pass": 100, "fail": 8}),
        "footprint": lambda d: d.update(growth={"error": "OSError: no space"})})
    numbers, _ = gen.build(str(res))
    assert not any(numbers.flags[g] is True for g in ("MissReasons", "PynvmSuite", "Growth"))
    res2 = results_copy(tmp_path / "stale", patch={
        "summary": lambda d: (with_reasons(d), d["missed"].pop())})
    assert gen.build(str(res2))[0].flags["MissReasons"] is not True
    assert not any(e.get("group") in ("MissReasons", "PynvmSuite", "Growth")
                   for e in numbers.entries.values())


def test_targets_table_is_two_halves_with_every_target_once(generated):
    # Over eighty targets do not fit one column of a page (LaTeX put the
    # rest off the page): two tabulars side by side, every target in one
    text = (generated / "tab-targets.tex").read_text()
    assert text.count(r"\begin{tabular}") == 2 and r"\hfill" in text
    summary = json.loads((RESULTS / "summary.json").read_text())
    judged = [t for t in summary["targets"] if t.get("goal") is not None]
    rows = re.findall(r"& (?:met|--|\\textbf\{missed\}) \\\\$", text, re.M)
    assert len(rows) == len(judged)
    left, right = text.split(r"\hfill")
    assert abs(left.count("\n") - right.count("\n")) < len(judged) / 3


def test_every_number_traces_to_results(gen, generated):
    entries = json.loads((generated / "sources.json").read_text())
    assert len(entries) > 100
    for ident, entry in entries.items():
        check_entry(gen, ident, entry)


def test_every_macro_has_a_source(generated):
    entries = json.loads((generated / "sources.json").read_text())
    for name, latex in defined_macros(generated).items():
        assert name in entries, "\\%s has no recorded source" % name
        assert entries[name]["latex"] == latex


def unsourced_cells(text, recorded):
    """Cells of a generated table that still hold a digit after removing
    the recorded numbers and texts of the table (longest first) and
    identifiers (\\texttt: benchmark and workload names)."""
    recorded = sorted(recorded, key=len, reverse=True)
    body = strip_comments(text)
    body = re.sub(r"\\begin\{tabular\}\{(?:[^{}]|\{[^{}]*\})*\}|\\multicolumn\{\d+\}\{[^}]*\}",
                  "", body)
    bad = []
    for cell in re.split(r"&|\\\\", body):
        # The recorded texts first: one may hold an allowed name (UTF-8),
        # which removed first would leave the rest of it unmatched.
        left = re.sub(r"\\texttt\{[^}]*\}", "", cell)
        for latex in recorded:
            left = left.replace(latex, "")
        left = ALLOWED_RE.sub("", left)
        if re.search(r"\d", left):
            bad.append(cell.strip())
    return bad


def table_records(entries, table):
    return [e["latex"] for i, e in entries.items() if i.startswith(table.stem + "/")]


def test_tables_hold_only_recorded_numbers(generated):
    entries = json.loads((generated / "sources.json").read_text())
    tables = sorted(generated.glob("tab-*.tex"))
    assert tables
    for table in tables:
        bad = unsourced_cells(table.read_text(), table_records(entries, table))
        assert not bad, "%s: numbers without a recorded source: %s" % (table.name, bad)


def test_paper_uses_every_table_and_figure():
    text = "".join(p.read_text() for p in prose_files())
    for name in ("tab-ops", "tab-flushes", "tab-perop", "tab-footprint", "tab-modes",
                 "tab-fuzz", "tab-targets", "tab-environment", "tab-sortedmap",
                 "tab-latency", "tab-missed"):
        assert "generated/%s.tex" % name in text, name
    figures = importlib.util.spec_from_file_location("paper_figures", PAPER / "figures.py")
    assert figures is not None
    for name in re.findall(r"generated/(fig-[a-z]+)\.pdf", text):
        assert '"%s.pdf"' % name in (PAPER / "figures.py").read_text(), name


# -- the checks can fail -----------------------------------------------------------------------

def test_checker_flags_a_hand_typed_number():
    text = (PAPER / "sections" / "evaluation.tex").read_text()
    assert not stray_numbers(text)
    tampered = text.replace(r"\DictSetIntPmemobj{}", r"1.81\,\textmu{}s", 1)
    assert tampered != text
    assert [t for _, t, _ in stray_numbers(tampered)] == ["1.81"]
    # a comment may hold digits; a digit inside a label may not be measured
    assert not stray_numbers("% measured 3.5x on 2024-01-01\n\\label{sec:3}\n")
    assert stray_numbers("about 42\\% faster") == [(1, "42", "about 42\\% faster")]


def test_checker_flags_an_unknown_macro(generated):
    text = r"costs \DictSetIntPmemobj{} and \DictSetIntPmemobjTypo{}"
    assert used_macros(text) - set(defined_macros(generated)) == {"DictSetIntPmemobjTypo"}


def test_checker_flags_a_tampered_or_misprinted_value(gen, generated):
    entries = json.loads((generated / "sources.json").read_text())
    entry = entries["DictSetIntPmemobj"]
    check_entry(gen, "DictSetIntPmemobj", entry)
    tampered = copy.deepcopy(entry)
    tampered["value"] *= 1.5
    with pytest.raises(AssertionError):
        check_entry(gen, "DictSetIntPmemobj", tampered)
    misprinted = copy.deepcopy(entry)
    misprinted["number"] = "%.2f" % (float(entry["number"]) + 0.1)
    with pytest.raises(AssertionError):
        check_entry(gen, "DictSetIntPmemobj", misprinted)
    elsewhere = copy.deepcopy(entry)
    elsewhere["sources"][0]["key"][-1] = "min_ns"
    with pytest.raises(AssertionError):
        check_entry(gen, "DictSetIntPmemobj", elsewhere)


def test_checker_flags_a_number_typed_into_a_table(generated):
    entries = json.loads((generated / "sources.json").read_text())
    table = generated / "tab-ops.tex"
    text = table.read_text()
    tampered = text.replace(r"\bottomrule", r"\texttt{extra} & op & 12.3\,ns \\" + "\n\\bottomrule")
    assert unsourced_cells(tampered, table_records(entries, table)) == [r"12.3\,ns"]


def test_targets_are_found_by_label(gen, generated):
    entries = json.loads((generated / "sources.json").read_text())
    entry = entries["GcTarget"]
    assert entry["sources"][0]["label"] == "gc per live object, C core, heap of 1000000"
    check_entry(gen, "GcTarget", entry)
    # a target that moved: the recorded position now holds another label
    moved = copy.deepcopy(entry)
    moved["sources"][0]["key"][1] += 1
    with pytest.raises(AssertionError):
        check_entry(gen, "GcTarget", moved)
    # the generator finds a target by label wherever it is, and refuses a missing one
    data = {"targets": [{"label": "b"}, {"label": "a"}]}
    assert gen.target_index(data, "a") == 1
    with pytest.raises(KeyError):
        gen.target_index(data, "c")


def test_missed_targets_come_from_the_summary(gen, generated):
    # The prose names the missed targets only through the generated list,
    # so a rerun of the main job cannot leave it wrong.
    text = "".join(p.read_text() for p in prose_files())
    assert r"\MissedTargets{}" in text and r"\MissedCount{}" in text
    entries = json.loads((generated / "sources.json").read_text())
    check_entry(gen, "MissedTargets", entries["MissedTargets"])
    targets = [{"label": "gc", "met": False, "issue": "#9"}, {"label": "open", "met": True},
               {"label": "sum", "met": False}, {"label": "info", "met": None}]
    assert gen.missed_targets(targets) == "gc (issue #9); sum"
    assert gen.OPS["count_missed"]([targets]) == 2
    # a target that turns met drops out of the list
    targets[0]["met"] = True
    assert gen.missed_targets(targets) == "sum"
