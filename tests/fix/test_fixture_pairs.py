"""Fixture pairs: ``tests/fixtures/<pass>/<case>.py`` must become ``<case>.fixed.py`` under ``gradsafe fix``.

Adding a case is adding files, in a directory named after the pass module (``out_of_place``,
``clone``, ...):

* ``<case>.py`` with ``<case>.fixed.py``: after ``gradsafe fix`` the file is exactly the
  ``.fixed.py`` text, it compiles, and a second ``fix`` changes nothing;
* ``<case>.py`` alone: ``gradsafe fix`` leaves it byte-identical (a safe in-place op, or a hazard
  whose fix must be declined).

Every rule is enabled for these runs (opt-in rules included) under the default policy, with no
configuration file, and unsafe fixes are applied (``--unsafe-fixes``: the ``assign_back`` pairs are
the repairs of silent bugs).  The harness itself is proven below with the fake analysis and pass of
``tests/helpers/fake_fixes.py``, so it works before the first real pass lands.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradsafe.cli import app
from gradsafe.findings import FixKind
from gradsafe.rules import all_rules

FIXTURES = Path(__file__).parent.parent / "fixtures"
FIXED_SUFFIX = ".fixed.py"


@dataclass(frozen=True)
class Case:
    source: Path
    expected: Path | None  # None: the file must stay unchanged

    def __str__(self) -> str:
        return f"{self.source.parent.name}/{self.source.stem}"


# Fixture directories of rewrite passes are named like the pass modules (`out_of_place`, `clone`);
# other directories under tests/fixtures (the analysis' own fixtures) belong to other tests.
PASS_DIRS = frozenset(kind.value.replace("-", "_") for kind in FixKind)


def collect_cases(root: Path, pass_dirs: frozenset[str] = PASS_DIRS) -> list[Case]:
    cases = []
    for pass_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name in pass_dirs) if root.is_dir() else ():
        for source in sorted(pass_dir.glob("*.py")):
            if source.name.endswith(FIXED_SUFFIX):
                continue
            expected = source.with_name(source.stem + FIXED_SUFFIX)
            cases.append(Case(source, expected if expected.exists() else None))
    return cases


def fix(path: Path) -> None:
    every_rule = ",".join(rule.code for rule in all_rules())
    args = ["fix", "--no-verify", "--unsafe-fixes", "--isolated", "--quiet", "--extend-select", every_rule, str(path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 1), result.output


def check_case(case: Case, workdir: Path) -> None:
    target = workdir / case.source.name
    shutil.copyfile(case.source, target)
    fix(target)
    after_first = target.read_bytes()
    if case.expected is None:
        assert after_first == case.source.read_bytes(), f"{case}: must stay unchanged"
    else:
        assert after_first.decode() == case.expected.read_text(), f"{case}: differs from {case.expected.name}"
        compile(after_first, str(target), "exec", dont_inherit=True)
    fix(target)
    assert target.read_bytes() == after_first, f"{case}: a second fix run changed the file"


@pytest.mark.parametrize("case", collect_cases(FIXTURES), ids=str)
def test_fixture_pair(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path)


# The harness, proven with the fake analysis and pass.


def write_cases(root: Path, cases: dict[str, str]) -> Path:
    for name, text in cases.items():
        path = root / "out_of_place" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


FAKE_CASES = {
    "rebind.py": "def f(y):\n    y.add_(1)\n    y.add_(2)\n    return y\n",
    "rebind.fixed.py": "def f(y):\n    y = y.add(1)\n    y.add_(2)\n    return y\n",
    "untouched.py": "def f(y):\n    y.add_(1)  # decline\n",
}


def test_harness_collects_pairs_and_unchanged_inputs(tmp_path: Path) -> None:
    root = write_cases(tmp_path / "fixtures", FAKE_CASES)
    (root / "analysis").mkdir()
    (root / "analysis" / "pos_case.py").write_text("y.add_(1)\n")
    cases = collect_cases(root)
    assert [(str(c), c.expected.name if c.expected else None) for c in cases] == [
        ("out_of_place/rebind", "rebind.fixed.py"),
        ("out_of_place/untouched", None),
    ]


@pytest.mark.usefixtures("fake_engine")
def test_harness_passes_correct_cases(tmp_path: Path) -> None:
    root = write_cases(tmp_path / "fixtures", FAKE_CASES)
    for case in collect_cases(root):
        workdir = tmp_path / "work" / case.source.stem
        workdir.mkdir(parents=True)
        check_case(case, workdir)


@pytest.mark.parametrize(
    "cases",
    [
        {"wrong.py": "y.add_(1)\n", "wrong.fixed.py": "y = y.add(2)\n"},
        {"changed.py": "y.add_(1)\n"},
    ],
    ids=["wrong-expected-text", "changed-but-should-stay"],
)
@pytest.mark.usefixtures("fake_engine")
def test_harness_fails_wrong_cases(tmp_path: Path, cases: dict[str, str]) -> None:
    root = write_cases(tmp_path / "fixtures", cases)
    (case,) = collect_cases(root)
    with pytest.raises(AssertionError):
        check_case(case, tmp_path)
