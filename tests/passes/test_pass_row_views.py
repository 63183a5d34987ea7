"""``gradsafe.transforms.row_views``: rows of an iterated tensor by indexing instead of ``unbind``.

The fixture pairs in ``tests/fixtures/row_views/`` are run under torch here: the original raises
(a row is an output of ``unbind``), the rewrite computes what ``reference()`` computes.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import libcst as cst
import pytest

from gradsafe.findings import Fix, FixKind, FixSafety, Span
from gradsafe.transforms.params import RowViewsParams
from gradsafe.transforms.row_views import PASS

torch = pytest.importorskip("torch")

PAIRS = Path(__file__).parent.parent / "fixtures" / "row_views"


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"row_views_{path.stem.replace('.', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("case", sorted(p.stem for p in PAIRS.glob("*.py") if not p.name.endswith(".fixed.py")
                                        and (PAIRS / f"{p.stem}.fixed.py").exists()))
def test_original_raises_and_rewrite_gives_the_reference(case: str) -> None:
    original = _load(PAIRS / f"{case}.py")
    with pytest.raises(RuntimeError, match="is a view and is being modified inplace"):
        original.run()
    fixed = _load(PAIRS / f"{case}.fixed.py")
    got, want = fixed.run(), fixed.reference()
    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], msg=key)


def _fix(line: int, col: int, end: int, name: str) -> Fix:
    return Fix(FixKind.ROW_VIEWS, Span(line, col, line, end), "rows", FixSafety.NEEDS_VERIFICATION,
               RowViewsParams(name=name))


def test_index_name_avoids_the_loop_statement_names() -> None:
    source = "def f(t, i):\n    for i, r in enumerate(t):\n        r.add_(i)\n"
    result = PASS.apply(cst.parse_module(source), [_fix(2, 26, 27, "t")])
    assert not result.declined
    assert result.module.code == "def f(t, i):\n    for i, r in enumerate(t[j] for j in range(len(t))):\n        r.add_(i)\n"


def test_declines_when_the_target_is_not_the_name() -> None:
    source = "def f(t):\n    for r in t:\n        r.add_(1)\n"
    result = PASS.apply(cst.parse_module(source), [_fix(2, 13, 14, "u")])
    assert [reason for _, reason in result.declined] == ["no iterated name at the target span"]
    assert result.module.code == source


def test_two_writes_to_the_same_loop_rewrite_it_once() -> None:
    source = "def f(t):\n    for r in t:\n        r.mul_(2).add_(1)\n"
    result = PASS.apply(cst.parse_module(source), [_fix(2, 13, 14, "t"), _fix(2, 13, 14, "t")])
    assert len(result.applied) == 2
    assert result.module.code.count("range(len(t))") == 1
