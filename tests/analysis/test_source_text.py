"""Messages quote literals as the source spells them (`1e-6`, not `1e-06`)."""

from __future__ import annotations

import ast

import pytest

from gradsafe.analysis import analyse
from gradsafe.analysis.source_text import quoting, unparse
from gradsafe.files.source import SourceFile

HAZARD = """\
import torch


def f(x):
    y = torch.sigmoid(x)
    y.{call}
    return y.sum()


def run():
    f(torch.randn(3, requires_grad=True)).backward()
"""


@pytest.mark.parametrize("call", ["add_(1e-6)", "mul_(0x10)", "add_(1_000.0)", "clamp_(min=1E-3)", "add_(.5)"])
def test_a_finding_quotes_the_literal_as_written(call: str) -> None:
    (finding,) = analyse(SourceFile.from_text(HAZARD.format(call=call)))
    assert f"`y.{call}`" in finding.message


@pytest.mark.parametrize("text", ["x.add_(1e-6)", "f('a', \"b\", b'c', 3j, -2.50)", "g(x, é='é', y=1e3)"])
def test_unparse_keeps_the_source_text_of_literals(text: str) -> None:
    source = SourceFile.from_text(f"{text}\n")
    node = ast.parse(source.text).body[0]
    with quoting(source):
        assert unparse(node) == text
    assert unparse(node) == ast.unparse(node)  # outside an analysis: as ast renders it


def test_a_literal_over_several_lines_or_a_built_node_is_rendered_by_ast() -> None:
    source = SourceFile.from_text('f("a"\n  "b", 1e-6)\n')
    node = ast.parse(source.text).body[0]
    with quoting(source):
        assert unparse(node) == "f('ab', 1e-6)"
        assert unparse(ast.Constant(1e-06)) == "1e-06"


@pytest.mark.parametrize("text", ["f(f'{x!r:>10} {1e-6}')", "f(f'{\"a\"}')"])
def test_an_f_string_is_rendered_as_ast_renders_it(text: str) -> None:
    """`ast._Unparser` renders f-string parts with instances of its own class (no source given)."""
    source = SourceFile.from_text(f"{text}\n")
    node = ast.parse(source.text).body[0]
    with quoting(source):
        assert unparse(node) == ast.unparse(node)
