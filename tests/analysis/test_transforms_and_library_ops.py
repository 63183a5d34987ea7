"""Function transforms (GS730-GS732), expanded views (GS304) and the op table's measured library writes.

The fixture pairs in ``tests/fixtures/transform_pairs/`` must become their ``.fixed.py`` under
``gradsafe fix --no-verify``, and are run under torch: the original raises (or, under
``create_graph=True`` of ``torch.autograd.functional``, is silently wrong) and the rewrite computes
what ``reference()`` computes.  (They live apart from the per-pass pair folders, whose harnesses
compare with the original run under ``no_grad``: that run raises here too.)  The ``library_inplace`` section of the op table must be what torch measures today.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from gradsafe.analysis.names import ImportMap
from gradsafe.analysis.transformed import transformed_functions

FIXTURES = Path(__file__).parent.parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]

# (pair, what the original does: an error it raises, or None when it runs and is silently wrong)
PAIR_DIR = FIXTURES / "transform_pairs"
PAIRS = [
    ("expanded_gate_zeroed", "more than one element of the written-to tensor refers to a single memory location"),
    ("vjp_of_function_centring_its_input", "a leaf Variable that requires grad is being used in an in-place"),
    ("functional_vjp_of_inplace_tanh", None),
]


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"pair_{path.parent.name}_{path.stem.replace('.', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("pair", "error"), PAIRS, ids=[p for p, _ in PAIRS])
def test_original_is_broken_and_rewrite_gives_the_reference(pair: str, error: str | None) -> None:
    torch = pytest.importorskip("torch")
    original = _load(PAIR_DIR / f"{pair}.py")
    if error is not None:
        with pytest.raises(RuntimeError, match=error.replace("(", r"\(")):
            original.run()
    else:
        got, want = original.run(), original.reference()
        assert any(not torch.allclose(got[k], want[k]) for k in want), "the original is not wrong"
    fixed = _load(PAIR_DIR / f"{pair}.fixed.py")
    got, want = fixed.run(), fixed.reference()
    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], msg=key)


@pytest.mark.parametrize("pair", [p for p, _ in PAIRS])
def test_fix_turns_the_pair_into_its_fixed_file(pair: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gradsafe.cli import app

    target = tmp_path / f"{pair}.py"
    target.write_text((PAIR_DIR / f"{pair}.py").read_text(encoding="utf-8"), encoding="utf-8")
    CliRunner().invoke(app, ["fix", "--no-verify", "--isolated", "--quiet", str(target)])
    assert target.read_text(encoding="utf-8") == (PAIR_DIR / f"{pair}.fixed.py").read_text(encoding="utf-8")


def _transformed(source: str) -> dict[str, list[tuple[str, tuple[int, ...] | None, bool]]]:
    tree = ast.parse(source)
    found = transformed_functions(tree, ImportMap.from_module(tree), source)
    return {name: [(u.transform, u.differentiated[:2] if u.differentiated else u.differentiated, u.create_graph)
                   for u in uses] for name, uses in found.items()}


def test_transforms_are_found_through_the_imports() -> None:
    source = (
        "import torch\nfrom torch import func\nfrom torch.func import grad, vmap as batched\n"
        "import torch.autograd.functional as AF\n"
        "g = grad(loss)\nh = func.jacrev(loss, argnums=1)\nk = grad(other, argnums=(0, 1))\n"
        "v = batched(feats)\nw = torch.vmap(feats)\n"
        "out = AF.vjp(squash, x, v, create_graph=True)\np = func.vjp(unit, x)\n"
        "q = grad(lambda w: w)\nr = sorted(items)\n"
    )
    assert _transformed(source) == {
        "loss": [("torch.func.grad", (0,), False), ("torch.func.jacrev", (1,), False)],
        "other": [("torch.func.grad", None, False)],
        "feats": [("torch.func.vmap", (), False), ("torch.vmap", (), False)],
        "squash": [("torch.autograd.functional.vjp", (0, 1), True)],
        "unit": [("torch.func.vjp", (0, 1), False)],
    }


def test_a_local_function_named_like_a_transform_is_not_one() -> None:
    assert _transformed("def grad(f):\n    return f\n\ng = grad(loss)\n") == {}


def test_library_section_is_what_torch_measures() -> None:
    pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from optable_library_ops import library_table
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    stored = json.loads((ROOT / "codemod" / "analysis" / "data" / "optable.json").read_text(encoding="utf-8"))
    assert stored["library_inplace"] == library_table([])


def test_library_facts_the_analysis_relies_on() -> None:
    from gradsafe.analysis.optable import load

    library = load().library
    assert library.modules["torch.nn.Embedding(max_norm=1.0)"]["train"] == ("weight",)
    assert library.modules["torch.nn.Embedding"]["train"] == ()
    assert library.functions["torch.nn.utils.clip_grad_norm_"] == ("grad",)
    assert {"Tensor.expand", "Tensor.expand_as", "torch.broadcast_to"} <= library.overlapping_views
    assert "Tensor.view" not in library.overlapping_views
    assert library.refuses_overlap("__setitem__") and library.refuses_overlap("mul_")
    assert not library.refuses_overlap("fill_") and not library.refuses_overlap("zero_")


TRACE_FIXTURES = FIXTURES / "trace"


@pytest.mark.torch
@pytest.mark.parametrize(("script", "code"), [("expanded_view.py", "GS304"), ("transform_captured.py", "GS731")])
def test_trace_reports_the_error_torch_raises_at_the_call(script: str, code: str) -> None:
    pytest.importorskip("torch")
    from gradsafe.trace import run_traced

    result = run_traced([sys.executable, script], root=TRACE_FIXTURES, cwd=TRACE_FIXTURES, capture=True, timeout=120)
    assert result.stdout == b"RuntimeError\n"  # the program runs as it does untraced
    marked = [n for n, text in enumerate((TRACE_FIXTURES / script).read_text().splitlines(), 1) if "# <- overwrite" in text]
    assert [(f.finding.code, f.finding.span.line) for f in result.findings] == [(code, marked[0])]
