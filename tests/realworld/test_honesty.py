"""The real-world cases are what they claim to be (format: tests/realworld/README.md).

Static half (no torch): every case's ``CASE`` metadata is valid, its docstring cites its report, it
has the files it needs (a reference with ``run()`` and ``oracle()`` and recorded values for a
hazard case, recorded values for a safe case), and the suite is as big and as varied as the issue
asks: at least 60 hazard cases, 15 safe cases and 20 distinct mechanisms.

Torch half: ``kit.check`` is empty for every case: the original really raises the named error or is
really silently wrong (or, safe, really computes its record), the reference reproduces the record,
and the independent oracle agrees with it.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kit  # noqa: E402  (beside this file)

try:
    CASES = kit.all_cases()
    LOAD_ERROR = ""
except ValueError as error:  # one malformed case must not hide the others' tests: reported below
    CASES, LOAD_ERROR = [], str(error)
HAZARDS = [case for case in CASES if case.kind == "hazard"]
SAFE = [case for case in CASES if case.kind == "safe"]
MIN_HAZARDS, MIN_SAFE, MIN_MECHANISMS = 60, 15, 20
_ID = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)+")
_URL = re.compile(r"https://\S+")


def _functions(path: Path) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _ids(cases: list[kit.Case]) -> list[str]:
    return [case.id for case in cases]


def test_every_case_metadata_loads():
    assert not LOAD_ERROR


def test_the_suite_is_as_big_as_the_issue_asks():
    assert len(SAFE) >= MIN_SAFE, f"{len(SAFE)} safe cases, the bar is {MIN_SAFE}"
    assert len(HAZARDS) >= MIN_HAZARDS, f"{len(HAZARDS)} hazard cases, the bar is {MIN_HAZARDS}"


def test_the_hazard_cases_cover_many_mechanisms():
    mechanisms = {case.meta["mechanism"] for case in HAZARDS}
    assert len(mechanisms) >= MIN_MECHANISMS, f"{len(mechanisms)} mechanisms: {sorted(mechanisms)}"


def test_every_case_file_is_found():
    """A ``.py`` file or a folder with ``main.py`` in a group folder is a case; nothing else hides there."""
    stray = [
        path
        for group in kit.CASES.iterdir()
        if group.is_dir()
        for path in group.iterdir()
        if not path.name.startswith((".", "_"))
        and not (path.suffix == ".py" or (path.is_dir() and (path / "main.py").is_file()))
    ]
    assert not stray, f"not a case (a .py file, or a folder with main.py): {stray}"


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_case_metadata_and_docstring(case: kit.Case):
    meta = case.meta
    assert _ID.fullmatch(case.id), f"{case.id}: case ids are snake_case"
    assert meta["group"] == case.group, f"CASE says group {meta['group']!r}, the file is in {case.group!r}"
    assert (case.kind == "safe") == (case.group == "safe"), "safe cases, and only they, live in cases/safe/"
    assert _URL.fullmatch(meta["report"]), f"report is not a URL: {meta['report']!r}"
    assert meta["mechanism"] and meta["mechanism"] == meta["mechanism"].strip()
    docstring = ast.get_docstring(ast.parse(case.entry.read_text(encoding="utf-8"))) or ""
    label = "Pattern from:" if case.kind == "safe" else "Reproduces:"
    cited = [line for line in docstring.splitlines() if line.startswith(label)]
    assert cited, f"the docstring has no {label!r} line"
    assert meta["report"] in cited[0], f"the {label!r} line does not cite the report {meta['report']}"
    assert "In our words:" in docstring
    if case.kind == "safe":
        assert re.match(r"https://github\.com/[^/]+/[^/]+/blob/", meta["report"]), "a safe case cites a repository file"


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_case_defines_a_zero_argument_run_and_follows_the_rules(case: kit.Case):
    run = _functions(case.entry).get("run")
    assert run is not None, "no module-level run()"
    assert not (run.args.args or run.args.posonlyargs or run.args.kwonlyargs or run.args.vararg), "run() takes arguments"
    text = case.entry.read_text(encoding="utf-8")
    assert "set_default_dtype" not in text, "pass dtype= or call .double(); torch.set_default_dtype leaks"
    assert "manual_seed" in text, "run() seeds torch"


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_case_has_recorded_values(case: kit.Case):
    assert case.expected.is_file(), f"python tests/realworld/kit.py record {case.id}"
    data = json.loads(case.expected.read_text(encoding="utf-8"))
    assert data and all(set(item) == {"shape", "values"} for item in data.values())


@pytest.mark.parametrize("case", HAZARDS, ids=_ids(HAZARDS))
def test_hazard_case_has_a_reference_with_run_and_oracle(case: kit.Case):
    assert case.reference.is_file(), f"no reference: {case.reference.relative_to(kit.HERE)}"
    functions = _functions(case.reference)
    assert "run" in functions, "the reference has no run()"
    assert "oracle" in functions, "the reference has no oracle()"
    assert case.reference.read_bytes() != case.entry.read_bytes(), "the reference is the case itself"
    if case.meta["expect"] == "raises":
        assert case.meta.get("error"), "a case that raises names a substring of torch's message"


def test_case_ids_are_unique_and_references_belong_to_cases():
    ids = {case.id for case in CASES}
    assert len(ids) == len(CASES)
    orphans = sorted(
        path.name for path in kit.REFERENCE.iterdir() if not path.name.startswith((".", "_"))
        and (path.stem if path.suffix == ".py" else path.name) not in ids
    ) if kit.REFERENCE.is_dir() else []
    assert not orphans, f"references without a case: {orphans}"
    records = sorted(path.stem for path in kit.EXPECTED.glob("*.json") if path.stem not in ids)
    assert not records, f"recorded values without a case: {records}"


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_case_behaves_as_claimed_under_torch(case: kit.Case):
    pytest.importorskip("torch")
    problems = kit.check(case)
    assert not problems, "\n".join(problems)
