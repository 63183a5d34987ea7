"""The inplace-flag pass: run-tests of its fixture pairs, and its edits on exact CST forms."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.passes import FIXTURES, check_run_pair, code, declined, fixture_pairs, load_text, rewrite

from gradsafe.findings import FixKind

FLAG = FixKind.INPLACE_FLAG
CONSTRUCTION = {"mode": "construction"}


@pytest.mark.torch
# The `clobbered_*` pairs are GS602's unsafe fixes, which change the values on purpose: they are run
# against hand-written references in tests/analysis/test_clobbered_read.py.
@pytest.mark.parametrize("source", [p for p in fixture_pairs("inplace_flag") if not p.stem.startswith("clobbered_")],
                         ids=lambda p: p.stem)
def test_rewrite_computes_what_the_original_meant(source: Path) -> None:
    check_run_pair(source)


@pytest.mark.parametrize(
    ("construction", "expected"),
    [
        ("nn.ReLU(inplace=True)", "nn.ReLU()"),
        ("nn.ReLU(True)", "nn.ReLU()"),
        ("torch.nn.Dropout2d( inplace=True )", "torch.nn.Dropout2d()"),
        ("ReLU(inplace=True)", "ReLU()"),
        # Not the only argument, not a torch module known to default to off, or a comment to keep:
        ("nn.Dropout(0.1, inplace=True)", "nn.Dropout(0.1, inplace=False)"),
        ("MyActivation(inplace=True)", "MyActivation(inplace=False)"),
        ("layers.ReLU(inplace=True)", "layers.ReLU(inplace=False)"),
        ("nn.ReLU(\n            inplace=True,  # memory\n        )", "nn.ReLU(\n            inplace=False,  # memory\n        )"),
        ("nn.LeakyReLU(0.1, True)", "nn.LeakyReLU(0.1, False)"),
        ("nn.Hardtanh(-1.0, 1.0, inplace = True)", "nn.Hardtanh(-1.0, 1.0, inplace = False)"),
        ("nn.Dropout(\n            p=0.5,\n            inplace=True,  # memory\n        )",
         "nn.Dropout(\n            p=0.5,\n            inplace=False,  # memory\n        )"),
        ("functools.partial(nn.ReLU, inplace=True)", "functools.partial(nn.ReLU, inplace=False)"),
    ],
)
def test_a_construction_turns_only_the_flag_off(construction: str, expected: str) -> None:
    source = f"class Net(nn.Module):\n    def __init__(self):\n        self.act = {construction}\n"
    assert rewrite(FLAG, source, construction, **CONSTRUCTION) == source.replace(construction, expected)


def test_a_layer_built_in_a_dict_is_flipped_where_it_is_constructed() -> None:
    source = code("""
        LAYERS = {
            "relu": nn.ReLU(inplace=True),
            "tanh": nn.Tanh(),
        }
    """)
    expected = source.replace("nn.ReLU(inplace=True)", "nn.ReLU()")
    assert rewrite(FLAG, source, "nn.ReLU(inplace=True)", **CONSTRUCTION) == expected


@pytest.mark.parametrize(
    ("construction", "reason"),
    [
        ("nn.ReLU(inplace=self.inplace)", "set from an expression"),
        ("nn.ReLU()", "no `inplace` flag"),
        ("nn.ReLU(*flags)", "no `inplace` flag"),
        ("nn.ReLU(**cfg)", "no `inplace` flag"),
    ],
)
def test_a_construction_without_a_literal_flag_is_declined(construction: str, reason: str) -> None:
    source = f"class Net(nn.Module):\n    def __init__(self, flags, cfg):\n        self.act = {construction}\n"
    assert reason in declined(FLAG, source, construction, **CONSTRUCTION)


def test_a_functional_call_loses_its_flag_and_keeps_its_layout() -> None:
    source = code("""
        def f(h, p, training):
            return F.dropout(
                h,
                p,
                training,
                inplace=True,
            )
    """)
    call = source[source.index("F.dropout("):source.rindex(")") + 1]
    assert rewrite(FLAG, source, call, mode="call") == source.replace("        inplace=True,\n", "")


def test_a_flag_in_the_middle_of_the_arguments_is_removed_with_its_comma() -> None:
    source = "def f(h):\n    return F.leaky_relu(h, inplace=True, negative_slope=0.2)\n"
    call = "F.leaky_relu(h, inplace=True, negative_slope=0.2)"
    assert rewrite(FLAG, source, call, mode="call") == source.replace("inplace=True, ", "")


def test_a_call_statement_relying_on_the_write_is_rebound() -> None:
    source = code("""
        def f(x):
            y = x.tanh()
            F.relu(y, inplace=True)  # activate
            return y
    """)
    assert rewrite(FLAG, source, "F.relu(y, inplace=True)", mode="call", rebind="y") == source.replace(
        "F.relu(y, inplace=True)", "y = F.relu(y)")


CANNOT_REBIND = {
    "not-a-statement": ("""
        def f(x):
            y = x.tanh()
            print(F.relu(y, inplace=True))
            return y
    """, "F.relu(y, inplace=True)", "not a statement of its own"),
    "closure-variable": ("""
        def f(y):
            def g():
                F.relu(y, inplace=True)
            g()
            return y
    """, "F.relu(y, inplace=True)", "not a local variable"),
    "argument-of-helper": ("""
        def activate_(y):
            F.relu(y, inplace=True)
    """, "F.relu(y, inplace=True)", "returns nothing"),
    "another-tensor": ("""
        def f(x, y):
            F.relu(x, inplace=True)
            return y
    """, "F.relu(x, inplace=True)", "does not write `y`"),
    "flag-from-a-variable": ("""
        def f(y, flag):
            F.relu(y, inplace=flag)
            return y
    """, "F.relu(y, inplace=flag)", "set from an expression"),
}


@pytest.mark.parametrize("case", CANNOT_REBIND)
def test_a_call_that_cannot_be_rebound_is_declined(case: str) -> None:
    source, call, reason = CANNOT_REBIND[case]
    assert reason in declined(FLAG, code(source), call, mode="call", rebind="y")


def _head(construction: str) -> str:
    """A module whose activation overwrites tanh's output, which tanh saved for backward."""
    return code(f"""
        import torch
        from torch import nn


        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
                self.act = {construction}

            def forward(self, x):
                return self.act(torch.tanh(self.fc(x)))
    """)


def _judge_file(text: str) -> list:
    from gradsafe.analysis import analyse
    from gradsafe.files.source import SourceFile

    return analyse(SourceFile.from_bytes(text.encode(), Path("head.py")))


@pytest.mark.parametrize(
    ("construction", "expected"),
    [("nn.ReLU(True)", "nn.ReLU()"), ("nn.LeakyReLU(0.2, True)", "nn.LeakyReLU(0.2, False)"),
     ("nn.Dropout(0.5, True)", "nn.Dropout(0.5, False)")],
)
def test_the_judge_plans_a_flip_for_a_positional_flag(construction: str, expected: str) -> None:
    from gradsafe.fix.loop import fix_text

    source = _head(construction)
    assert any(f.fix is not None and f.fix.kind is FLAG for f in _judge_file(source))
    assert f"self.act = {expected}\n" in fix_text(source, _judge_file).text


def test_a_true_in_another_position_is_not_the_flag() -> None:
    """`nn.LeakyReLU(True)` is a negative slope of 1, computed out of place."""
    assert not _judge_file(_head("nn.LeakyReLU(True)"))


@pytest.mark.torch
def test_turning_the_flag_off_in_the_negative_fixture_would_change_its_output() -> None:
    """`a = F.relu(h, inplace=True); a + h` is 2*relu(h): the declined flip computes relu(h) + h."""
    torch = pytest.importorskip("torch")
    source = (FIXTURES / "inplace_flag" / "intentional_overwrite.py").read_text()
    flipped = source.replace("F.relu(h, inplace=True)", "F.relu(h)")
    x, w = torch.randn(3, 4), torch.randn(4, 4)
    with torch.no_grad():
        original = load_text(source, "overwrite_before").residual(x, w)
        changed = load_text(flipped, "overwrite_after").residual(x, w)
    torch.testing.assert_close(original, 2 * torch.relu(x @ w))
    assert not torch.allclose(original, changed)
