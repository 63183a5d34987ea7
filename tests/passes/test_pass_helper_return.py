"""The helper-return pass: run-tests of its fixture pairs, and how helpers and their call sites change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.passes import FIXTURES, check_run_pair, code, declined, fixture_pairs, load_text, rewrite, span_of

from gradsafe.findings import FixKind

HELPER = FixKind.HELPER_RETURN


def plan(source: str, calls: list[str], param: str = "h", index: int = 0) -> tuple[str, dict]:
    """The target text (the first function of ``source``) and the fix parameters for its ``calls``."""
    definition = re.search(r"^(?:async )?def \w+\(.*?(?=\n\n|\Z)", source, re.DOTALL | re.MULTILINE)
    assert definition is not None
    helper = definition.group().split("(")[0].split()[-1]
    spans = tuple(span_of(source, call) for call in calls)
    return definition.group().rstrip("\n"), {"helper": helper, "param": param, "index": index, "calls": spans}


@pytest.mark.torch
@pytest.mark.parametrize("source", fixture_pairs("helper_return"), ids=lambda p: p.stem)
def test_rewrite_computes_what_the_original_meant(source: Path) -> None:
    check_run_pair(source)


def test_every_call_site_rebinds_the_name_it_passes_positionally_or_by_keyword() -> None:
    source = code("""
        def scale_(h, s):
            h.mul_(s)


        def f(x, y):
            scale_(x, 2)  # first
            if x.sum() > 0:
                scale_(s=3, h=y)
            return x + y
    """)
    definition, params = plan(source, ["scale_(x, 2)", "scale_(s=3, h=y)"])
    assert rewrite(HELPER, source, definition, **params) == code("""
        def scale_(h, s):
            h = h.mul(s)
            return h


        def f(x, y):
            x = scale_(x, 2)  # first
            if x.sum() > 0:
                y = scale_(s=3, h=y)
            return x + y
    """)


def test_writes_in_loops_become_rebindings_and_bare_returns_return_the_value() -> None:
    source = code("""
        def decay_(h, rate, steps):
            for _ in range(steps):
                if h.abs().max() < 1e-3:
                    return
                h *= 1 - rate
                h.add_(h.mean())


        def g(x):
            decay_(x, 0.1, 3)
            return x
    """)
    definition, params = plan(source, ["decay_(x, 0.1, 3)"])
    assert rewrite(HELPER, source, definition, **params) == code("""
        def decay_(h, rate, steps):
            for _ in range(steps):
                if h.abs().max() < 1e-3:
                    return h
                h = h * (1 - rate)
                h = h.add(h.mean())
            return h


        def g(x):
            x = decay_(x, 0.1, 3)
            return x
    """)


CLONED = {
    "view-alias": ['"""Clip in place."""', "h.clamp_(-1, 1)", "alias = h.view(-1)", "alias.zero_()"],
    "subscript": ["h[0] = 0.0"],
    "no-out-of-place-form": ["h.copy_(h.flip(0))"],
    "closure": ["def inner():", "    h.mul_(2)", "inner()"],
    "chain-reads-it-again": ["h.mul_(2).add_(h)"],
}


@pytest.mark.parametrize("case", CLONED)
def test_writes_it_cannot_rebind_make_the_helper_work_on_a_clone(case: str) -> None:
    lines = CLONED[case]
    docstring = lines[:1] if lines[0].startswith('"""') else []
    body = "".join(f"    {line}\n" for line in lines)
    source = f"def edit_(h):\n{body}\n\ndef g(x):\n    edit_(x)\n    return x\n"
    definition, params = plan(source, ["edit_(x)"])
    cloned = [*docstring, "h = h.clone()", *lines[len(docstring):], "return h"]
    helper = "def edit_(h):\n" + "".join(f"    {line}\n" for line in cloned)
    expected = helper + "\n\ndef g(x):\n    x = edit_(x)\n    return x\n"
    assert rewrite(HELPER, source, definition, **params) == expected


@pytest.mark.torch
def test_the_clone_fallback_gives_callers_what_the_in_place_helper_gave_them() -> None:
    torch = pytest.importorskip("torch")
    source = code("""
        def edit_(h):
            h.clamp_(-1, 1)
            alias = h.view(-1)
            alias[0] = 5.0


        def g(x):
            edit_(x)
            return x
    """)
    definition, params = plan(source, ["edit_(x)"])
    result = rewrite(HELPER, source, definition, **params)
    assert "h = h.clone()" in result
    x = torch.randn(3, 2) * 3
    after, before = load_text(result, "clone_after"), load_text(source, "clone_before")
    torch.testing.assert_close(after.g(x.clone()), before.g(x.clone()))


def test_a_one_line_helper_stays_on_one_line() -> None:
    source = "def scale_(h, s): h.mul_(s)\n\n\ndef f(x):\n    scale_(x, 2)\n    return x\n"
    definition, params = plan(source, ["scale_(x, 2)"])
    assert rewrite(HELPER, source, definition, **params).startswith("def scale_(h, s): h = h.mul(s); return h\n")


SCALE = "def scale_(h, s):\n    h.mul_(s)\n"
DECLINED = {
    "result-used": (SCALE + "\n\ndef f(x):\n    y = scale_(x, 2)\n    return x, y\n", "scale_(x, 2)",
                    "uses its result"),
    "same-name-twice": (SCALE + "\n\ndef f(x):\n    scale_(x, x)\n    return x\n", "scale_(x, x)", "more than once"),
    "closure-variable": (SCALE + "\n\ndef f(x):\n    def g():\n        scale_(x, 2)\n    g()\n    return x\n",
                         "scale_(x, 2)", "not a local variable"),
    "starred": (SCALE + "\n\ndef f(x, args):\n    scale_(*args)\n    return x\n", "scale_(*args)", "plain name"),
    "returns-value": ("def scale_(h, s):\n    h.mul_(s)\n    return h.sum()\n\n\ndef f(x):\n    scale_(x, 2)\n",
                      "scale_(x, 2)", "already returns"),
    "generator": ("def scale_(h, s):\n    h.mul_(s)\n    yield h\n\n\ndef f(x):\n    scale_(x, 2)\n", "scale_(x, 2)",
                  "generator"),
    "async": ("async def scale_(h, s):\n    h.mul_(s)\n\n\nasync def f(x):\n    await scale_(x, 2)\n", "scale_(x, 2)",
              "`async`"),
    "rebinds-param": ("def scale_(h, s):\n    h.mul_(s)\n    h = h * 2\n    h.mul_(s)\n\n\n"
                      "def f(x):\n    scale_(x, 2)\n",
                      "scale_(x, 2)", "assigns `h` to another value"),
    "exported": ('__all__ = ["scale_"]\n' + SCALE + "\n\ndef f(x):\n    scale_(x, 2)\n", "scale_(x, 2)", "exported"),
}


@pytest.mark.parametrize("case", DECLINED)
def test_helpers_whose_callers_cannot_all_be_rebound_are_declined(case: str) -> None:
    source, call, reason = DECLINED[case]
    definition, params = plan(source, [call])
    assert reason in declined(HELPER, source, definition, **params)


@pytest.mark.torch
def test_rewriting_the_helper_alone_would_silently_turn_its_calls_into_no_ops() -> None:
    """Why call sites must change too (and why the out-of-place pass refuses an argument of such a helper)."""
    torch = pytest.importorskip("torch")
    source = (FIXTURES / "helper_return" / "scale_helper.py").read_text()
    helper_only = source.replace("    h.mul_(s)\n", "    h = h.mul(s)\n")
    fixed = (FIXTURES / "helper_return" / "scale_helper.fixed.py").read_text()
    x = torch.randn(4)
    with torch.no_grad():
        original, body_only, both = (
            load_text(text, name).energy(x.clone())
            for text, name in ((source, "helper_original"), (helper_only, "helper_body"), (fixed, "helper_fixed"))
        )
    torch.testing.assert_close(both, original)
    assert not torch.allclose(body_only, original)


EXPORTED = code("""
    import torch

    __all__ = ["scale_"]


    def scale_(h, s):
        h.mul_(s)


    def energy(x):
        h = torch.tanh(x)
        scale_(h, 2.0)
        return h.sum()


    def run():
        energy(torch.randn(4, requires_grad=True)).backward()
""")
ARGUMENT_WRITE = code("""
    import torch


    def normalize_(t):
        mean, std = t.mean(), t.std()
        t.sub_(mean).div_(std)


    def features(x):
        a = torch.exp(x)
        normalize_(a)
        return a.sum()


    def run():
        features(torch.randn(6, requires_grad=True)).backward()
""")


def _judge(text: str) -> list:
    from gradsafe.analysis import analyse
    from gradsafe.files.source import SourceFile

    return analyse(SourceFile.from_bytes(text.encode(), Path("helpers.py")))


def test_the_judge_does_not_plan_a_helper_return_for_an_exported_helper() -> None:
    assert not [f for f in _judge(EXPORTED) if f.fix is not None]


def test_the_judge_does_not_plan_out_of_place_for_an_argument_of_a_mutating_helper() -> None:
    fixes = [f.fix for f in _judge(ARGUMENT_WRITE) if f.fix is not None]
    assert fixes and all(fix.kind is HELPER for fix in fixes)


def test_the_file_still_gets_the_helper_return_fix_after_the_argument_write_is_declined() -> None:
    from gradsafe.fix.loop import fix_text

    result = fix_text(ARGUMENT_WRITE, _judge)
    assert "    t = t.sub(mean).div(std)\n    return t\n" in result.text
    assert "    a = normalize_(a)\n" in result.text
    assert not result.declined
    [write] = [f for f in _judge(ARGUMENT_WRITE) if f.code != "GS502"]
    assert write.fix is None and write.unfixable_reason == (
        "`t` is an argument of `normalize_()`, which returns nothing: its callers see the write only through "
        "their tensor")
