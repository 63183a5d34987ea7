"""The fix loop, with a fake analysis and pass (tests/helpers/fake_fixes.py)."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from helpers.fake_fixes import fake_analyse

import gradsafe.transforms
from gradsafe.fix import loop as rewrite
from gradsafe.findings import FixKind
from gradsafe.fix.loop import RewriteError, fix_text
from gradsafe.files.source import SourceFile
from gradsafe.transforms import PassResult


def find(text: str):
    return fake_analyse(SourceFile.from_text(text))


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


@pytest.mark.usefixtures("fake_engine")
def test_one_fix_per_scope_then_reanalysis() -> None:
    text = src(
        """
        def f(y):
            y.add_(1)
            y.add_(2)
            return y

        def g(z):
            z.add_(3)
            return z
        """
    )
    result = fix_text(text, find)
    # The first fix in f makes y fresh: the second add_ is no longer a hazard and stays in place.
    assert result.text == src(
        """
        def f(y):
            y = y.add(1)
            y.add_(2)
            return y

        def g(z):
            z = z.add(3)
            return z
        """
    )
    assert [(a.finding.scope, a.iteration, a.before) for a in result.applied] == [
        ("f", 0, "y.add_(1)"),
        ("g", 0, "z.add_(3)"),
    ]
    assert result.remaining == []


@pytest.mark.usefixtures("fake_engine")
def test_several_iterations_in_one_scope() -> None:
    # Different names in one function: each round may fix only one of them.
    text = "def f(a, b):\n    a.add_(1)\n    b.add_(1)\n"
    result = fix_text(text, find)
    assert result.text == "def f(a, b):\n    a = a.add(1)\n    b = b.add(1)\n"
    assert [a.iteration for a in result.applied] == [0, 1]


@pytest.mark.usefixtures("fake_engine")
def test_declined_fixes_are_kept_with_reasons_and_never_retried() -> None:
    text = "def f(a, b):\n    a.add_(1)  # decline\n    b.add_(1)\n"
    result = fix_text(text, find)
    assert result.text == "def f(a, b):\n    a.add_(1)  # decline\n    b = b.add(1)\n"
    assert [(d.finding.span.line, d.reason) for d in result.declined] == [(2, "asked to decline")]
    assert [f.span.line for f in result.remaining] == [2]


@pytest.mark.usefixtures("fake_engine")
def test_excluded_scopes_are_not_fixed() -> None:
    text = "def f(a):\n    a.add_(1)\n\ndef g(b):\n    b.add_(1)\n"
    result = fix_text(text, find, excluded_scopes=frozenset({"f"}))
    assert result.text == "def f(a):\n    a.add_(1)\n\ndef g(b):\n    b = b.add(1)\n"
    assert [f.scope for f in result.remaining] == ["f"]


@pytest.mark.usefixtures("fake_engine")
def test_nothing_fixable_means_no_libcst_parse(monkeypatch) -> None:
    monkeypatch.setattr(rewrite, "pass_kinds", lambda: frozenset())
    monkeypatch.setattr(cst, "parse_module", lambda *_: pytest.fail("parsed with LibCST"))
    result = fix_text("x.add_(1)\n", find)
    assert result.text == "x.add_(1)\n" and len(result.remaining) == 1 and result.applied == []


@pytest.mark.usefixtures("fake_engine")
def test_a_rewrite_that_does_not_compile_is_refused(monkeypatch) -> None:
    class Garbage:
        kind = FixKind.OUT_OF_PLACE

        def apply(self, module, fixes):
            # LibCST accepts `return` at module level; the compiler does not.
            return PassResult(module=cst.parse_module("return 1\n"), applied=list(fixes))

    monkeypatch.setattr(gradsafe.transforms, "_PASSES", {FixKind.OUT_OF_PLACE: Garbage()})
    with pytest.raises(RewriteError, match="does not compile"):
        fix_text("a.add_(1)\n", find)


@pytest.mark.usefixtures("fake_engine")
def test_a_pass_that_claims_a_fix_but_changes_nothing_is_declined(monkeypatch) -> None:
    class NoOp:
        kind = FixKind.OUT_OF_PLACE

        def apply(self, module, fixes):
            return PassResult(module=module, applied=list(fixes))

    monkeypatch.setattr(gradsafe.transforms, "_PASSES", {FixKind.OUT_OF_PLACE: NoOp()})
    result = fix_text("a.add_(1)\n", find)
    assert result.applied == [] and result.text == "a.add_(1)\n"
    assert [d.reason for d in result.declined] == ["the pass reported the fix as applied but changed nothing"]
    assert result.iterations == 1


@pytest.mark.usefixtures("fake_engine")
def test_a_kind_without_a_pass_is_declined(monkeypatch) -> None:
    monkeypatch.setattr(gradsafe.transforms, "_PASSES", {})
    result = fix_text("a.add_(1)\n", find)
    assert [d.reason for d in result.declined] == ["no rewrite pass for fix kind 'out-of-place'"]


def test_pass_kinds_are_found_without_importing_them_and_match_the_loaded_passes() -> None:
    assert rewrite.pass_kinds() == gradsafe.transforms.available_kinds()
