"""The out-of-place pass: run-tests of its fixture pairs under torch, and its decisions on exact CST forms.

``tests/fix/test_fixture_pairs.py`` checks that ``gradsafe fix`` turns each ``tests/fixtures/<pass>/<case>.py``
into ``<case>.fixed.py``.  The run-tests here check that the rewritten code computes what the original
meant.  Each fixture pair defines ``inputs()`` (the tensors to feed), ``compute(*inputs)`` (a pure
forward returning one tensor) and declares what the *original* does under autograd:

* ``ORIGINAL_RAISES = "substring"``: the original fails (at the write or at backward); the rewrite is
  compared with the original's forward evaluated under ``no_grad`` and with float64 central finite
  differences of it (inputs cloned for every evaluation, RNG reseeded);
* ``ORIGINAL_SILENTLY_WRONG = True``: the original runs but its gradient is wrong; the test checks that
  it differs from finite differences, and that the rewrite's matches them;
* neither: both run; outputs and gradients must agree.

The harness (``check_run_pair``) is shared by the run-tests of the companion passes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gradsafe.findings import FixKind, FixSafety

from helpers.passes import (  # the harness, shared with the other pass tests
    FIXTURES,
    apply,
    augmented,
    check_run_pair,
    code,
    declined,
    fixture_pairs,
    load_text,
    method,
    rewrite,
    span_of,
)


@pytest.mark.torch
@pytest.mark.parametrize("source", fixture_pairs("out_of_place"), ids=lambda p: p.stem)
def test_rewrite_computes_what_the_original_meant(source: Path) -> None:
    check_run_pair(source)


OOP = FixKind.OUT_OF_PLACE


# ---------------------------------------------------------------------- statement forms
def test_a_statement_write_of_an_attribute_rebinds_the_attribute() -> None:
    source = code("""
        def step(self, x):
            self.h.add_(x)  # state
            return self.h
    """)
    assert rewrite(OOP, source, "self.h.add_(x)", **method("self.h", "add_")) == code("""
        def step(self, x):
            self.h = self.h.add(x)  # state
            return self.h
    """)


def test_a_chain_is_renamed_up_to_the_first_call_without_an_out_of_place_form() -> None:
    source = code("""
        def f(x):
            y = x.exp()
            y.add_(1).mul_(2).zero_().sub_(1)
            return y
    """)
    assert rewrite(OOP, source, "y.add_(1)", **method("y", "add_")) == source.replace(
        "    y.add_(1).mul_(2).zero_().sub_(1)", "    y = y.add(1).mul(2).zero_().sub_(1)")


def test_a_write_above_in_place_calls_keeps_them_and_binds_the_top() -> None:
    # `mul_` is the hazard; `add_` below it stays an in-place write on `y`, as in the original.
    source = code("""
        def f(x):
            y = x.exp()
            y.add_(1).mul_(2)
            return y
    """)
    assert rewrite(OOP, source, "y.add_(1).mul_(2)", **method("y", "mul_")) == source.replace(
        "    y.add_(1).mul_(2)", "    y = y.add_(1).mul(2)")


def test_an_assignment_binds_the_written_name_first() -> None:
    # `d[y]` is evaluated after the value: with `y` bound first it sees the new tensor, as the
    # original saw the written one.
    source = code("""
        def f(x, d):
            y = x.exp()
            d[y] = y.clamp_(0)
            return y
    """)
    assert rewrite(OOP, source, "y.clamp_(0)", **method("y", "clamp_", read_later=False)) == source.replace(
        "d[y] = y.clamp_(0)", "y = d[y] = y.clamp(0)")


def test_an_assignment_to_the_written_name_only_needs_the_rename() -> None:
    source = code("""
        def f(x):
            y = x.exp()
            y = y.clamp_(0)
            return y
    """)
    assert rewrite(OOP, source, "y.clamp_(0)", **method("y", "clamp_")) == source.replace("clamp_", "clamp")


def test_a_returned_attribute_write_gets_a_statement_before_the_return() -> None:
    source = code("""
        class C:
            def f(self):
                # out
                return self.h.tanh_()  # done
    """)
    assert rewrite(OOP, source, "self.h.tanh_()", **method("self.h", "tanh_")) == code("""
        class C:
            def f(self):
                # out
                self.h = self.h.tanh()
                return self.h  # done
    """)


def test_a_split_inside_a_one_line_body_uses_a_semicolon() -> None:
    source = code("""
        def f(x, c):
            y = x.exp()
            if c: return y.tanh_()
            return y
    """)
    assert rewrite(OOP, source, "y.tanh_()", **method("y", "tanh_")) == source.replace(
        "if c: return y.tanh_()", "if c: y = y.tanh(); return y")


def test_an_annotated_assignment_is_split_too() -> None:
    source = code("""
        def f(x):
            y = x.exp()
            z: Tensor = y.sigmoid_()
            return y + z
    """)
    assert rewrite(OOP, source, "y.sigmoid_()", **method("y", "sigmoid_")) == source.replace(
        "    z: Tensor = y.sigmoid_()", "    y = y.sigmoid()\n    z: Tensor = y")


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("h += 1", "h = h + 1"),
        ("h -= a - b", "h = h - (a - b)"),
        ("h *= a + b", "h = h * (a + b)"),
        ("h /= a * b", "h = h / (a * b)"),
        ("h //= a", "h = h // a"),
        ("h %= a", "h = h % a"),
        ("h **= a ** b", "h = h ** a ** b"),
        ("h **= -a", "h = h ** -a"),
        ("h *= -a", "h = h * -a"),
        ("h <<= a + 1", "h = h << a + 1"),
        ("h >>= a | b", "h = h >> (a | b)"),
        ("h &= a < b", "h = h & (a < b)"),
        ("h |= a if c else b", "h = h | (a if c else b)"),
        ("h ^= not a", "h = h ^ (not a)"),
        ("h+=(a + b)", "h=h+(a + b)"),
        ("self.h += a", "self.h = self.h + a"),
    ],
)
def test_augmented_assignment_keeps_the_operator_and_what_it_computes(statement: str, expected: str) -> None:
    source = f"def f(self, a, b, c, h):\n    {statement}  # note\n    return h\n"
    name = "self.h" if statement.startswith("self.") else "h"
    operator = statement.split()[1] if " " in statement else "+="
    result = rewrite(OOP, source, statement, **augmented(name, operator))
    assert result == source.replace(statement, expected)
    if name == "h":  # on plain numbers `x op= v` and `x = x op v` are the same thing
        arguments = (None, 3, 2, True, 7)
        assert load_text(result, "aug_after").f(*arguments) == load_text(source, "aug_before").f(*arguments)


def _expressions() -> Any:  # a hypothesis strategy
    """Random operand expressions over `a`, `b`, `c` and small numbers, printed by `ast.unparse`.

    ``ast.unparse`` adds exactly the parentheses Python needs, so the right-hand sides come in the
    bare forms that decide whether the rewrite must add its own.
    """
    import ast

    from hypothesis import strategies as st

    leaves = st.one_of(st.sampled_from("abc").map(ast.Name), st.integers(1, 3).map(ast.Constant))
    binary = st.sampled_from([ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.LShift, ast.RShift,
                              ast.BitAnd, ast.BitOr, ast.BitXor])
    unary = st.sampled_from([ast.USub, ast.Not, ast.Invert])

    def extend(inner: Any) -> Any:
        return st.one_of(
            st.builds(lambda left, op, right: ast.BinOp(left, op(), right), inner, binary, inner),
            st.builds(lambda op, operand: ast.UnaryOp(op(), operand), unary, inner),
            st.builds(lambda left, right: ast.Compare(left, [ast.Lt()], [right]), inner, inner),
            st.builds(lambda left, right: ast.BoolOp(ast.Or(), [left, right]), inner, inner),
            st.builds(ast.IfExp, inner, inner, inner),
        )

    return st.recursive(leaves, extend, max_leaves=5).map(ast.unparse)


@pytest.mark.parametrize("operator", ["+=", "-=", "*=", "//=", "%=", "&=", "|=", "^=", "<<=", ">>="])
def test_augmented_assignment_keeps_the_value_for_any_right_hand_side(operator: str) -> None:
    """Property: whatever the right-hand side, `h op= v` and the rewrite compute the same (or fail alike)."""
    from hypothesis import given, settings

    @settings(max_examples=60, deadline=None)
    @given(_expressions())
    def check(value: str) -> None:
        source = f"def f(a, b, c, h):\n    h {operator} {value}\n    return h\n"
        result = rewrite(OOP, source, f"h {operator} {value}", **augmented("h", operator))
        outcomes = []
        for text in (source, result):
            try:
                outcomes.append(load_text(text, "aug").f(3, 2, 1, 5))
            except (ArithmeticError, ValueError) as exc:
                outcomes.append(type(exc))
        assert outcomes[0] == outcomes[1], result

    check()


def test_augmented_matrix_multiplication_is_not_in_place() -> None:
    source = "def f(h, w):\n    h @= w\n    return h\n"
    assert declined(OOP, source, "h @= w", **augmented("h", "@=")) == "`@=` is not an in-place operation"


def test_an_out_argument_in_the_middle_is_dropped_with_its_comma() -> None:
    source = code("""
        def f(a, b):
            buf = a.new_empty(3)
            torch.add(a, out=buf, alpha=2, other=b)
            return buf
    """)
    call = "torch.add(a, out=buf, alpha=2, other=b)"
    assert rewrite(OOP, source, call, form="out", name="buf", read_later=True) == source.replace(
        call, "buf = torch.add(a, alpha=2, other=b)")


def test_an_in_place_function_imported_by_name_is_declined() -> None:
    source = code("""
        from torch import relu_

        def f(x):
            y = x.exp()
            relu_(y)
            return y
    """)
    reason = declined(OOP, source, "relu_(y)", form="function", name="y", function="torch.relu_",
                      replacement="torch.relu", read_later=True)
    assert "called through its module" in reason


# ---------------------------------------------------------------------- expression forms; when a rename is enough
def test_a_rename_is_not_enough_inside_a_loop() -> None:
    # `y` is not read after the statement, but the next iteration reads the written `y` again.
    source = code("""
        def f(x, out):
            y = x.exp()
            for _ in range(3):
                out.append(torch.sum(y.mul_(2)))
    """)
    assert rewrite(OOP, source, "y.mul_(2)", **method("y", "mul_", read_later=False)) == source.replace(
        "torch.sum(y.mul_(2))", "torch.sum(y := y.mul(2))")


def test_a_rename_is_not_enough_when_the_same_statement_reads_the_name_again() -> None:
    source = code("""
        def f(x):
            y = x.exp()
            z = y.mul_(2) + y
            return z
    """)
    reason = declined(OOP, source, "y.mul_(2)", **method("y", "mul_", read_later=False))
    assert "read elsewhere in the same statement" in reason


def test_a_rename_is_enough_when_the_statement_assigns_the_name_anyway() -> None:
    source = code("""
        def f(x, g):
            for _ in range(3):
                x = torch.maximum(x.mul_(0.9), g)
            return x
    """)
    assert rewrite(OOP, source, "x.mul_(0.9)", **method("x", "mul_")) == source.replace("x.mul_(0.9)", "x.mul(0.9)")


def test_a_comprehension_in_a_statement_that_assigns_the_name_still_needs_the_rebinding() -> None:
    source = code("""
        def f(x):
            x = torch.stack([x.mul_(0.5).sum() for _ in range(3)])
            return x
    """)
    assert rewrite(OOP, source, "x.mul_(0.5)", **method("x", "mul_")) == source.replace(
        "[x.mul_(0.5).sum()", "[(x := x.mul(0.5)).sum()")


def test_a_rename_at_module_level_would_hide_the_write_from_functions_so_it_rebinds() -> None:
    source = "y = torch.rand(3).exp()\nz = y.clamp_(0.5)\n"
    assert rewrite(OOP, source, "y.clamp_(0.5)", **method("y", "clamp_", read_later=False)) == (
        "y = torch.rand(3).exp()\ny = z = y.clamp(0.5)\n")


def test_a_write_in_a_keyword_argument_gets_a_parenthesised_assignment_expression() -> None:
    source = code("""
        def f(x):
            y = x.exp()
            s = torch.sum(input=y.mul_(2))
            return s + y
    """)
    assert rewrite(OOP, source, "y.mul_(2)", **method("y", "mul_")) == source.replace(
        "input=y.mul_(2)", "input=(y := y.mul(2))")


def test_a_write_in_a_while_condition_rebinds_on_every_test() -> None:
    source = code("""
        def f(x):
            y = x.exp()
            while y.mul_(0.5).sum() > 1:
                pass
            return y
    """)
    assert rewrite(OOP, source, "y.mul_(0.5)", **method("y", "mul_", read_later=False)) == source.replace(
        "while y.mul_(0.5).sum()", "while (y := y.mul(0.5)).sum()")


DECLINED = {
    "lambda": ("""
        def f(x):
            y = x.exp()
            g = lambda: y.mul_(2)
            return g
    """, "y.mul_(2)", "y", "inside a lambda"),
    "iteration-variable": ("""
        def f(hs):
            return [h.mul_(2).sum() for h in hs]
    """, "h.mul_(2)", "h", "comprehension iteration variable"),
    "iterable": ("""
        def f(x):
            y = x.exp()
            return [v for v in y.mul_(2)], y
    """, "y.mul_(2)", "y", "comprehension's iterable"),
    "kept-by-comprehension": ("""
        def f(x):
            y = x.exp()
            out = [y.mul_(2) for _ in range(3)]
            return out, y
    """, "y.mul_(2)", "y", "keeps the written tensor"),
    "class-body": ("""
        class C:
            y = torch.ones(2).exp()
            s = [y.mul_(2).sum() for _ in range(2)]
    """, "y.mul_(2)", "y", "class body"),
    "attribute-in-expression": ("""
        def f(self, x):
            return torch.sum(self.h.mul_(2))
    """, "self.h.mul_(2)", "self.h", "attribute cannot be assigned inside an expression"),
    "closure-variable": ("""
        def f(x):
            y = x.exp()
            def inner():
                y.mul_(2)
            inner()
            return y
    """, "y.mul_(2)", "y", "not a local variable"),
    "global-in-function": ("""
        y = torch.ones(2).exp()
        def f():
            y.mul_(2)
            return y
    """, "y.mul_(2)", "y", "not a local variable"),
    "decorator": ("""
        def f(x):
            y = x.exp()
            @register(y.mul_(2))
            def g():
                pass
            return y
    """, "y.mul_(2)", "y", "decorator"),
    "argument-of-helper": ("""
        def scale_(t, s):
            t.mul_(s)
    """, "t.mul_(s)", "t", "returns nothing"),
    "chain-reads-name": ("""
        def f(x):
            y = x.sigmoid()
            y.mul_(2).add_(y)
            return y
    """, "y.mul_(2)", "y", "read again later in the chain"),
    "data-write-below-other-calls": ("""
        def f(x):
            y = x.exp()
            y.data.add_(1).clamp_(max=1)
            return y
    """, "y.data.add_(1).clamp_(max=1)", "y", "`y.data` directly"),
    "not-the-planned-call": ("""
        def f(x):
            y = x.exp()
            z = x.exp()
            z.add_(1)
            return y
    """, "z.add_(1)", "y", "the call does not write `y`"),
}


@pytest.mark.parametrize("case", DECLINED)
def test_writes_that_cannot_be_rebound_are_declined(case: str) -> None:
    source, target, name, reason = DECLINED[case]
    op = target.rsplit(".", 1)[1].split("(")[0]
    extra = {"through_data": True} if ".data." in target else {}
    assert reason in declined(OOP, code(source), target, **method(name, op, **extra))


def test_a_comprehension_that_consumes_the_write_at_once_gets_an_assignment_expression() -> None:
    source = code("""
        def f(x):
            y = x.exp()
            out = [y.mul_(2).sum() for _ in range(3)]
            return out, y
    """)
    assert rewrite(OOP, source, "y.mul_(2)", **method("y", "mul_")) == source.replace(
        "[y.mul_(2).sum()", "[(y := y.mul(2)).sum()")


def test_fixes_in_several_functions_are_applied_in_one_pass_and_a_declined_one_leaves_no_trace() -> None:
    source = code("""
        def f(x):
            y = x.exp()
            y.mul_(2)
            return y

        def g(x):
            y = x.exp()
            print(y.mul_(2), y)
            return y

        def h(x):
            y = x.exp()
            y += 1
            return y
    """)
    fixes = [
        (span_of(source, "y.mul_(2)", 0), method("y", "mul_")),
        (span_of(source, "y.mul_(2)", 1), method("y", "mul_")),
        (span_of(source, "y += 1"), augmented("y", "+=")),
    ]
    result = apply(OOP, source, fixes)
    assert [f.description for f in result.applied] == ["0", "2"]
    assert [(f.description, "read elsewhere" in reason) for f, reason in result.declined] == [("1", True)]
    assert result.module.code == source.replace("    y.mul_(2)\n", "    y = y.mul(2)\n").replace("y += 1", "y = y + 1")


# ---------------------------------------------------------------------- semantics the pass must keep
# What the naive out-of-place rewrite of each negative fixture would be, and the function to run.
NAIVE_REWRITES = {
    "alias_kept": ("    y += 1\n", "    y = y + 1\n", "doubled_exp"),
    "read_in_chain": ("    y.mul_(2).add_(y)\n", "    y = y.mul(2).add(y)\n", "quadruple"),
}


@pytest.mark.torch
@pytest.mark.parametrize("case", sorted(NAIVE_REWRITES))
def test_the_rewrites_kept_out_of_negative_fixtures_would_change_results(case: str) -> None:
    """The fixtures that must stay unchanged are not just caution: the naive rewrite computes something else."""
    torch = pytest.importorskip("torch")
    source = (FIXTURES / "out_of_place" / f"{case}.py").read_text()
    statement, naive, function = NAIVE_REWRITES[case]
    assert source.count(statement) == 1
    x = torch.randn(5)
    with torch.no_grad():
        original = getattr(load_text(source, f"{case}_original"), function)(x.clone())
        changed = getattr(load_text(source.replace(statement, naive), f"{case}_naive"), function)(x.clone())
    assert not torch.allclose(original, changed)


DTYPE_AND_SHAPE = code("""
    import torch


    def blend_half(x, w):
        h = torch.exp(x.half())
        h += w
        return h


    def broadcast(x, bias):
        h = torch.exp(x)
        h += bias
        return h


    def run():
        x = torch.randn(3, requires_grad=True)
        blend_half(x, torch.randn(3)).sum().backward()
        broadcast(x, torch.randn(2, 3)).sum().backward()
""")


@pytest.mark.torch
def test_dtype_and_broadcast_changes_are_left_to_verification() -> None:
    """`h += w` keeps h's dtype and shape (or raises); `h = h + w` promotes and broadcasts.

    The judge cannot see dtypes or shapes, marks these fixes needs-verification, and the pass applies
    them as asked: only running them (the verification stage) can tell that they change behaviour.
    """
    torch = pytest.importorskip("torch")
    from gradsafe.analysis import analyse
    from gradsafe.fix.loop import fix_text
    from gradsafe.files.source import SourceFile

    def find(text: str) -> list:
        return analyse(SourceFile.from_bytes(text.encode(), Path("dtype.py")))

    safety = {f.scope: f.fix.safety for f in find(DTYPE_AND_SHAPE) if f.fix is not None}
    assert safety == {"blend_half": FixSafety.NEEDS_VERIFICATION, "broadcast": FixSafety.NEEDS_VERIFICATION}
    fixed = fix_text(DTYPE_AND_SHAPE, find).text
    assert "    h = h + w\n" in fixed and "    h = h + bias\n" in fixed
    before, after = load_text(DTYPE_AND_SHAPE, "dtype_before"), load_text(fixed, "dtype_after")
    x = torch.randn(3)
    with torch.no_grad():
        assert before.blend_half(x, torch.randn(3)).dtype == torch.float16
        assert after.blend_half(x, torch.randn(3)).dtype == torch.float32
        with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
            before.broadcast(x, torch.randn(2, 3))
        assert after.broadcast(x, torch.randn(2, 3)).shape == (2, 3)
