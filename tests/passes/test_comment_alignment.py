"""A rewrite that changes a line's length keeps an aligned trailing comment in its column."""

from __future__ import annotations

import pytest
from helpers.passes import augmented, code, method, rewrite

from gradsafe.findings import FixKind

OOP = FixKind.OUT_OF_PLACE
FLAG = FixKind.INPLACE_FLAG


def test_a_longer_line_keeps_its_aligned_comment_in_the_column() -> None:
    source = code("""
        def f(g, h):
            h = h * 3                            # triple
            g.mul_(2.0)                          # scale
            return g + h
    """)
    expected = source.replace("    g.mul_(2.0)                          # scale",
                              "    g = g.mul(2.0)                       # scale")
    assert rewrite(OOP, source, "g.mul_(2.0)", **method("g", "mul_")) == expected


def test_an_augmented_assignment_keeps_the_column() -> None:
    source = "def f(g):\n    g += 1          # bump\n    return g\n"
    expected = "def f(g):\n    g = g + 1       # bump\n    return g\n"
    assert rewrite(OOP, source, "g += 1", **augmented("g", "+=")) == expected


def test_code_that_reaches_the_column_keeps_two_spaces() -> None:
    source = "def f(g):\n    g.mul_(2.0)   # scale\n    return g\n"
    expected = "def f(g):\n    g = g.mul(2.0)  # scale\n    return g\n"
    assert rewrite(OOP, source, "g.mul_(2.0)", **method("g", "mul_")) == expected


@pytest.mark.parametrize("gap", [" ", "  "])
def test_a_comment_not_aligned_keeps_its_spacing(gap: str) -> None:
    source = f"def f(g):\n    g.mul_(2.0){gap}# scale\n    return g\n"
    expected = f"def f(g):\n    g = g.mul(2.0){gap}# scale\n    return g\n"
    assert rewrite(OOP, source, "g.mul_(2.0)", **method("g", "mul_")) == expected


def test_a_shorter_line_keeps_its_aligned_comment_in_the_column() -> None:
    source = "class Net:\n    def __init__(self):\n        self.act = nn.ReLU(inplace=True)      # memory\n"
    expected = "class Net:\n    def __init__(self):\n        self.act = nn.ReLU()                  # memory\n"
    assert rewrite(FLAG, source, "nn.ReLU(inplace=True)", mode="construction") == expected


def test_lines_not_rewritten_are_left_alone() -> None:
    source = "def f(g):\n    x = 1       # one\n    g.mul_(2.0)     # scale\n    return g\n"
    out = rewrite(OOP, source, "g.mul_(2.0)", **method("g", "mul_"))
    assert out.splitlines()[1] == "    x = 1       # one"
    assert out.splitlines()[2] == "    g = g.mul(2.0)  # scale"
