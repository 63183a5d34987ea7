"""The clone pass: its rewrites run under torch, and its edits of the syntax tree.

Each fixture pair in ``tests/fixtures/clone`` is a small program that fails under autograd (it
raises ``EXPECTED_ERROR``, or is ``SILENTLY_WRONG``) and the text ``gradsafe fix`` must turn it
into (checked byte for byte by ``test_fixture_pairs.py``).  Here both halves are *run*: a fixture defines ``inputs()`` (fresh
input tensors) and ``compute(*inputs)`` (the output, or a tuple of outputs).  The rewrite must
compute the same values as the original and the gradients the original's forward actually
defines, measured by float64 central differences of the original run under ``torch.no_grad()``
(where its autograd errors do not apply), with the inputs cloned for every evaluation.

The syntax-level tests call the pass directly with hand-made fixes, for layouts the fixtures do not
reach (comments, one-line bodies, several statements on a line) and for the fixes it must decline.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import textwrap
from pathlib import Path
from types import ModuleType
from collections.abc import Callable

import libcst as cst
import pytest

from gradsafe.analysis import analyse
from gradsafe.findings import Fix, FixKind, Span
from gradsafe.files.source import SourceFile
from gradsafe.transforms.clone import PASS

FIXTURES = Path(__file__).parent.parent / "fixtures" / "clone"
PAIRS = sorted(p for p in FIXTURES.glob("*.py") if not p.name.endswith(".fixed.py") and p.with_suffix(".fixed.py").exists())


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"clone_fixture_{path.stem.replace('.', '_')}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


# ---------------------------------------------------------------------- the oracle
def as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def check_against_original(original: Callable, rewrite: Callable, inputs: tuple) -> None:
    """``rewrite`` computes what ``original`` computes, with the gradients its forward defines.

    Values: the original under ``no_grad``.  Gradients (of a random weighting of the outputs that
    require grad): central differences of the original under ``no_grad``, in float64.
    """
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # tensors the code allocates itself match the inputs
    try:
        base = [x.detach().double() for x in inputs]
        wants_grad = [x.requires_grad for x in inputs]
        leaves = [x.clone().requires_grad_(g) for x, g in zip(base, wants_grad)]
        outputs = as_tuple(rewrite(*leaves))
        with torch.no_grad():
            expected = as_tuple(original(*[x.clone() for x in base]))
        torch.testing.assert_close(outputs, expected)

        generator = torch.Generator().manual_seed(0)
        weights = [torch.randn(o.shape, generator=generator) if o.requires_grad else None for o in outputs]
        assert any(w is not None for w in weights), "no output requires grad"

        def objective(outs) -> torch.Tensor:
            return sum((o * w).sum() for o, w in zip(outs, weights) if w is not None)  # type: ignore[return-value]

        differentiated = [leaf for leaf, g in zip(leaves, wants_grad) if g]
        grads = torch.autograd.grad(objective(outputs), differentiated, allow_unused=True)
        h = 1e-6
        for position, grad in zip((i for i, g in enumerate(wants_grad) if g), grads):
            numeric = torch.zeros_like(base[position])
            for j in range(base[position].numel()):
                values = []
                for sign in (1.0, -1.0):
                    args = [x.clone() for x in base]
                    args[position].view(-1)[j] += sign * h
                    with torch.no_grad():
                        values.append(objective(as_tuple(original(*args))))
                numeric.view(-1)[j] = (values[0] - values[1]) / (2 * h)
            actual = torch.zeros_like(numeric) if grad is None else grad
            torch.testing.assert_close(actual, numeric, rtol=1e-5, atol=1e-6)
    finally:
        torch.set_default_dtype(previous)


def backward_through(compute: Callable, inputs: tuple) -> None:
    out = as_tuple(compute(*inputs))[0]
    out.sum().backward()


@pytest.mark.torch
@pytest.mark.parametrize("case", PAIRS, ids=lambda p: p.stem)
def test_rewrite_computes_what_the_original_means(case: Path) -> None:
    pytest.importorskip("torch")
    original, fixed = load(case), load(case.with_suffix(".fixed.py"))
    if getattr(original, "SILENTLY_WRONG", False):
        with pytest.raises(AssertionError):  # the original's own gradients are not those of its forward
            check_against_original(original.compute, original.compute, original.inputs())
    else:
        with pytest.raises(RuntimeError, match=re.escape(original.EXPECTED_ERROR)):
            backward_through(original.compute, original.inputs())
    backward_through(fixed.compute, fixed.inputs())  # the rewrite runs under autograd
    check_against_original(original.compute, fixed.compute, original.inputs())


@pytest.mark.torch
def test_the_oracle_rejects_no_grad_in_place_of_a_clone() -> None:
    """Wrapping a write to a leaf's view in `no_grad` runs, but its gradient is wrong."""
    torch = pytest.importorskip("torch")
    original = load(FIXTURES / "argument_in_forward.py")

    def no_grad_instead(img):
        with torch.no_grad():
            img[:, 3].zero_()
            img[:, 0].mul_(0.5)
        return img[:, :3] * 2

    with pytest.raises(AssertionError):
        check_against_original(original.compute, no_grad_instead, original.inputs())


# ---------------------------------------------------------------------- what the judge asks for
DECAY_THROUGH_ALIAS = textwrap.dedent(
    """
    import torch


    def decayed_loss(w, x, decay=0.5):
        loss = (w * x).sum()
        wd = w.detach()
        wd.mul_(decay)
        return loss


    def run():
        w = torch.randn(3, requires_grad=True)
        x = torch.randn(3, requires_grad=True)
        decayed_loss(w, x).backward()
    """
).lstrip()


def test_judge_does_not_copy_an_alias_of_the_callers_tensor() -> None:
    """The write through `w.detach()` decays the caller's weight: a copy would silently drop it."""
    fixes = [f.fix for f in analyse(SourceFile.from_text(DECAY_THROUGH_ALIAS)) if f.fix is not None]
    assert all(fix.kind is not FixKind.CLONE for fix in fixes)


# ---------------------------------------------------------------------- the pass on the syntax tree
def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def statement_fix(source: str, line: int, name: str, col: int | None = None) -> Fix:
    """A clone of ``name`` before the statement starting on ``line`` (at ``col``, if given)."""
    file = SourceFile.from_text(source)
    node = next(
        n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.stmt) and n.lineno == line and col in (None, n.col_offset)
    )
    return Fix(FixKind.CLONE, file.span_of(node), f"clone {name}", params={"name": name, "mode": "statement"})


def expression_fix(source: str, text: str) -> Fix:
    file = SourceFile.from_text(source)
    node = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.expr) and ast.get_source_segment(source, n) == text)
    return Fix(FixKind.CLONE, file.span_of(node), f"copy {text}", params={"mode": "expression"})


def apply(source: str, fixes: list[Fix]):
    return PASS.apply(cst.parse_module(source), fixes)


def test_same_clone_asked_twice_is_inserted_once() -> None:
    source = src(
        """
        def f(x):
            y = x.exp()
            y[0] = 1
            return y
        """
    )
    fixes = [statement_fix(source, 3, "y"), statement_fix(source, 3, "y")]
    result = apply(source, fixes)
    assert result.module.code == src(
        """
        def f(x):
            y = x.exp()
            y = y.clone()
            y[0] = 1
            return y
        """
    )
    assert result.applied == fixes and result.declined == []


def test_comment_directly_above_stays_with_its_statement() -> None:
    source = src(
        """
        def f(x):
            y = x.exp()

            # a paragraph of its own

            # the sentinel
            y[0] = 1  # keep
            return y
        """
    )
    result = apply(source, [statement_fix(source, 7, "y")])
    assert result.module.code == src(
        """
        def f(x):
            y = x.exp()

            # a paragraph of its own

            y = y.clone()
            # the sentinel
            y[0] = 1  # keep
            return y
        """
    )


def test_clone_hoisted_above_a_compound_statement() -> None:
    source = src(
        """
        def f(x, n):
            y = x.sigmoid()
            # fill
            while n:
                n -= 1
                y[n] = 0
            with open("log") as log:
                y[1] = 2
            return y
        """
    )
    result = apply(source, [statement_fix(source, 4, "y"), statement_fix(source, 7, "y")])
    assert result.module.code == src(
        """
        def f(x, n):
            y = x.sigmoid()
            y = y.clone()
            # fill
            while n:
                n -= 1
                y[n] = 0
            y = y.clone()
            with open("log") as log:
                y[1] = 2
            return y
        """
    )


def test_one_line_body_becomes_an_indented_block() -> None:
    source = src(
        """
        def f(x, c):
            y = x.exp()
            if c: z = 1; y[0] = z  # note
            return y
        """
    )
    result = apply(source, [statement_fix(source, 3, "y", col=17)])
    assert result.module.code == src(
        """
        def f(x, c):
            y = x.exp()
            if c:
                z = 1
                y = y.clone()
                y[0] = z  # note
            return y
        """
    )


def test_clone_joins_the_line_of_the_statement_before() -> None:
    source = "y = x.exp();  y[0] = 1\n"
    result = apply(source, [statement_fix(source, 1, "y", col=14)])
    assert result.module.code == "y = x.exp();  y = y.clone();  y[0] = 1\n"


def test_expression_clone_parenthesises_where_needed() -> None:
    source = "a = x.detach()\nb = x + 1\nc = (x + 1)\n"
    fixes = [expression_fix(source, "x.detach()"), expression_fix(source, "x + 1")]
    result = apply(source, fixes)
    assert result.module.code == "a = x.detach().clone()\nb = (x + 1).clone()\nc = (x + 1)\n"


@pytest.mark.parametrize(
    ("source", "line", "col"),
    [
        ("def f(x):\n    y = x.exp()\n    y = y.clone()\n    y[0] = 1\n", 4, None),
        ("def f(x):\n    y = x.exp()\n    y = y.clone(); y[0] = 1\n", 3, 19),
        ("def f(x, c):\n    y = x.exp()\n    if c: y = y.clone(); y[0] = 1\n", 3, 25),
        ("def f(x):\n    y = x.exp()\n    y = y.clone()\n    for i in range(2):\n        y[i] = 1\n", 4, None),
        ("def f(x):\n    y = x.exp()\n    y = y.clone()\n    z = z.clone()\n    y[0] = z\n", 5, None),
    ],
    ids=["line", "same-line", "one-line-body", "loop", "among-clones"],
)
def test_declines_a_clone_already_made_just_before(source: str, line: int, col: int | None) -> None:
    """A plan that is still asked for after its clone would otherwise add one on every run."""
    fix = statement_fix(source, line, "y", col=col)
    result = apply(source, [fix])
    assert result.declined == [(fix, "`y` is already cloned just before this statement")]
    assert result.module.code == source


@pytest.mark.parametrize(
    ("fix", "reason"),
    [
        (Fix(FixKind.CLONE, Span(2, 4, 2, 12), "", params={"mode": "sideways"}), "unknown clone mode 'sideways'"),
        (Fix(FixKind.CLONE, Span(2, 4, 2, 12), "", params={"mode": "statement", "name": "self.y"}), "'self.y' is not a plain local name"),
        (Fix(FixKind.CLONE, Span(2, 4, 2, 9), "", params={"mode": "statement", "name": "y"}), "no statement at the target span"),
        (Fix(FixKind.CLONE, Span(2, 4, 2, 12), "", params={"mode": "expression"}), "no expression at the target span"),
        (Fix(FixKind.CLONE, Span(3, 8, 3, 18), "", params={"mode": "expression"}), "the expression is already cloned"),
        (
            Fix(FixKind.CLONE, Span(6, 4, 7, 16), "", params={"mode": "statement", "name": "y"}),
            "the target is an `elif` branch, not a statement of a block",
        ),
    ],
    ids=["mode", "name", "statement-span", "expression-span", "expression-cloned", "elif"],
)
def test_declines_what_it_cannot_locate_or_is_done(fix: Fix, reason: str) -> None:
    source = "def f(y, c):\n    y[0] = 1\n    h = y.detach().clone()\n    if c:\n        pass\n    elif y:\n        y[1] = 2\n"
    result = apply(source, [fix])
    assert result.declined == [(fix, reason)]
    assert result.applied == [] and result.module.code == source
