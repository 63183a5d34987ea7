"""The safety check run on every rewrite: it compiles, and the ast changed only where the fixes reach."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest
from helpers.fake_fixes import FakePass, fake_analyse
from typer.testing import CliRunner

import gradsafe.transforms
from gradsafe.cli import app
from gradsafe.findings import Fix, FixKind, Span
from gradsafe.fix.loop import RewriteError, fix_text
from gradsafe.fix.safety_check import check_rewrite, touched_spans
from gradsafe.files.source import SourceFile


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def span(text: str, snippet: str, occurrence: int = 0) -> Span:
    """The span of the ``occurrence``-th ``snippet`` in ``text`` (on one line)."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(snippet, start + 1)
    line = text.count("\n", 0, start) + 1
    col = start - (text.rfind("\n", 0, start) + 1)
    return Span(line, col, line, col + len(snippet))


def accepted(original: str, rewritten: str, *touched: Span) -> bool:
    try:
        check_rewrite(original, rewritten, "m.py", touched)
    except RewriteError:
        return False
    return True


TWO_FUNCTIONS = src(
    """
    import torch


    def f(x):
        y = x.sigmoid()
        y.mul_(2)
        return y


    def g(x):
        z = x.exp()
        return z
    """
)


def test_text_that_does_not_compile_is_refused() -> None:
    for broken in ("def f(:\n", "return 1\n", "def f():\n    nonlocal q\n"):
        with pytest.raises(RewriteError, match="does not compile"):
            check_rewrite("x = 1\n", broken, "m.py", [])


def test_an_unchanged_ast_is_accepted_whatever_the_formatting() -> None:
    assert accepted("x = (1 +\n     2)\n", "x = 1 + 2  # same tree\n")


def test_the_body_of_the_function_a_fix_targets_may_change_freely() -> None:
    rewritten = TWO_FUNCTIONS.replace("    y.mul_(2)\n    return y", "    y = y.clone()\n    y = y.mul(2)\n    return y")
    assert accepted(TWO_FUNCTIONS, rewritten, span(TWO_FUNCTIONS, "y.mul_(2)"))


def test_a_change_in_another_function_is_refused_with_its_line() -> None:
    rewritten = TWO_FUNCTIONS.replace("y.mul_(2)", "y = y.mul(2)").replace("x.exp()", "x.exp() + 0")
    with pytest.raises(RewriteError, match=r"changed line 11 \(`z = x.exp\(\)`\), outside the code its fixes touch"):
        check_rewrite(TWO_FUNCTIONS, rewritten, "m.py", [span(TWO_FUNCTIONS, "y.mul_(2)")])
    renamed_g = TWO_FUNCTIONS.replace("y.mul_(2)", "y = y.mul(2)").replace("def g(x):\n    z = x", "def g(w):\n    z = w")
    assert not accepted(TWO_FUNCTIONS, renamed_g, span(TWO_FUNCTIONS, "y.mul_(2)"))


def test_the_header_of_the_targeted_function_must_stay() -> None:
    rewritten = TWO_FUNCTIONS.replace("def f(x):", "def f(x, scale=2):")
    assert not accepted(TWO_FUNCTIONS, rewritten, span(TWO_FUNCTIONS, "y.mul_(2)"))
    decorated = TWO_FUNCTIONS.replace("def f(x):", "@torch.no_grad()\ndef f(x):")
    assert not accepted(TWO_FUNCTIONS, decorated, span(TWO_FUNCTIONS, "y.mul_(2)"))


def test_a_deleted_or_added_statement_outside_the_reach_is_refused() -> None:
    touched = span(TWO_FUNCTIONS, "y.mul_(2)")
    assert not accepted(TWO_FUNCTIONS, TWO_FUNCTIONS.replace("import torch\n", ""), touched)
    assert not accepted(TWO_FUNCTIONS, TWO_FUNCTIONS.replace("import torch\n", "import torch\nimport os\n"), touched)
    assert not accepted(TWO_FUNCTIONS, TWO_FUNCTIONS + "\nprint('done')\n", touched)


def test_import_torch_may_be_added_at_module_level_only() -> None:
    original = src(
        """
        from torch import nn


        def step(params, lr):
            for p in params:
                p -= lr * p.grad


        def other(x):
            return x
        """
    )
    touched = span(original, "p -= lr * p.grad")
    wrapped = original.replace(
        "    for p in params:\n        p -= lr * p.grad", "    with torch.no_grad():\n        for p in params:\n            p -= lr * p.grad"
    )
    assert accepted(original, "import torch\n" + wrapped, touched)
    inside_other = wrapped.replace("def other(x):\n", "def other(x):\n    import torch\n")
    assert not accepted(original, inside_other, touched)


def test_module_level_code_is_compared_statement_by_statement() -> None:
    original = src(
        """
        import torch

        x = torch.ones(3, requires_grad=True)
        y = x.exp()
        y.mul_(2)
        z = y.sum()
        if z > 0:
            w = z * 2
            w.add_(1)
            print(w)
        """
    )
    at_mul, at_add = span(original, "y.mul_(2)"), span(original, "w.add_(1)")
    cloned = original.replace("y.mul_(2)", "y = y.clone()\ny.mul_(2)")
    assert accepted(original, cloned, at_mul), "a statement may be inserted next to the touched one"
    assert not accepted(original, original.replace("z = y.sum()", "z = y.mean()"), at_mul)
    assert not accepted(original, original.replace("z = y.sum()", "z = y.sum()\nprint(z)"), at_mul)
    in_branch = original.replace("w.add_(1)", "w = w.add(1)")
    assert accepted(original, in_branch, at_add)
    assert not accepted(original, in_branch.replace("if z > 0:", "if z >= 0:"), at_add), "the test is a header"
    assert not accepted(original, in_branch.replace("print(w)", "print(w, z)"), at_add)


def test_a_fix_inside_a_nested_function_does_not_free_the_outer_one() -> None:
    original = src(
        """
        def outer(x):
            scale = 2

            def inner(y):
                y.mul_(scale)
                return y

            return inner(x.exp())
        """
    )
    touched = span(original, "y.mul_(scale)")
    assert accepted(original, original.replace("y.mul_(scale)", "y = y.mul(scale)"), touched)
    assert not accepted(original, original.replace("scale = 2", "scale = 3"), touched)


def test_handlers_and_methods_are_compared_one_by_one() -> None:
    original = src(
        """
        class Net:
            def forward(self, x):
                h = x.sigmoid()
                h.mul_(2)
                return h

            def extra(self, x):
                try:
                    return x.exp()
                except ValueError:
                    return x
        """
    )
    touched = span(original, "h.mul_(2)")
    fixed = original.replace("h.mul_(2)", "h = h.mul(2)")
    assert accepted(original, fixed, touched)
    assert not accepted(original, fixed.replace("except ValueError", "except TypeError"), touched)
    assert not accepted(original, fixed.replace("return x\n", "return x * 1\n"), touched)
    assert not accepted(original, fixed.replace("class Net:", "class Net(object):"), touched)


def test_spans_in_a_fix_s_parameters_extend_its_reach() -> None:
    original = src(
        """
        def scale_(h, s):
            h.mul_(s)


        def forward(x):
            h = x.tanh()
            scale_(h, 2)
            return h
        """
    )
    helper = Span(1, 0, 2, 13)
    call = span(original, "scale_(h, 2)")
    rewritten = original.replace("    h.mul_(s)\n", "    h = h.mul(s)\n    return h\n").replace(
        "    scale_(h, 2)", "    h = scale_(h, 2)"
    )
    fix = Fix(FixKind.HELPER_RETURN, helper, "return the argument", params={"calls": [call], "helper": "scale_"})
    assert touched_spans([fix]) == [helper, call]
    assert accepted(original, rewritten, *touched_spans([fix]))
    assert not accepted(original, rewritten, helper), "without the call site, the caller's change is out of reach"


# ---------------------------------------------------------------------- in the fix loop and on the CLI
class _AlsoEditsAnotherLine(FakePass):
    """The fake out-of-place pass, plus a stray edit to a line no fix touches."""

    def apply(self, module, fixes):
        result = super().apply(module, fixes)
        stray = cst.parse_module(result.module.code.replace("limit = 10", "limit = 11"))
        return type(result)(stray, result.applied, result.declined)


HAZARD_AND_BYSTANDER = "limit = 10\n\n\ndef f(a):\n    a.add_(1)\n    return a\n"


@pytest.mark.usefixtures("fake_engine")
def test_the_fix_loop_refuses_a_pass_that_edits_an_unrelated_line(monkeypatch) -> None:
    monkeypatch.setattr(gradsafe.transforms, "_PASSES", {FixKind.OUT_OF_PLACE: _AlsoEditsAnotherLine()})
    with pytest.raises(RewriteError, match=r"changed line 1 \(`limit = 10`\)"):
        fix_text(HAZARD_AND_BYSTANDER, lambda text: fake_analyse(SourceFile.from_text(text)), filename="m.py")


@pytest.mark.usefixtures("fake_engine")
def test_a_pass_that_edits_an_unrelated_line_writes_nothing_and_is_an_internal_error(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.py").write_text(HAZARD_AND_BYSTANDER)
    (tmp_path / "good.py").write_text("def f(a):\n    a.add_(1)\n    return a\n")
    monkeypatch.setattr(gradsafe.transforms, "_PASSES", {FixKind.OUT_OF_PLACE: _AlsoEditsAnotherLine()})

    diff = CliRunner().invoke(app, ["diff", "--no-verify", "."])
    assert "bad.py" not in diff.stdout and "+++ b/good.py" in diff.stdout
    fixed = CliRunner().invoke(app, ["fix", "--no-verify", "."])

    assert fixed.exit_code == 2
    [error] = [line for line in fixed.stdout.splitlines() if "E001" in line]
    assert error.startswith("bad.py:1:1: E001 internal error: the rewrite changed line 1 (`limit = 10`)")
    assert (tmp_path / "bad.py").read_text() == HAZARD_AND_BYSTANDER
    assert (tmp_path / "good.py").read_text() == "def f(a):\n    a = a.add(1)\n    return a\n"
