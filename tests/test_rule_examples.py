"""Every rule's documented example is what the rule reports, and its "use instead" is what the fix writes.

The examples are the text of `gradsafe explain` and of docs/rules.md, so this keeps the documentation
honest: the example must be reported (under the rule's own policy, with the rule selected), the
recommended code must be clean, and where the rule has an automatic fix, `gradsafe fix` must turn the
example into the recommended code exactly.
"""

from __future__ import annotations

import textwrap

import pytest

from gradsafe.analysis import analyse
from gradsafe.fix.loop import fix_text, is_fixable
from gradsafe.rules import all_rules
from gradsafe.files.source import SourceFile

RULES = all_rules()


def _codes(text: str, rule) -> list[str]:
    return [f.code for f in analyse(SourceFile.from_text(text), policy=rule.policy)]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_example_is_reported(rule):
    assert rule.code in _codes(textwrap.dedent(rule.example), rule)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_use_instead_is_clean(rule):
    assert rule.code not in _codes(textwrap.dedent(rule.use_instead), rule)


@pytest.mark.parametrize("rule", [r for r in RULES if r.fix_kinds], ids=lambda r: r.code)
def test_fix_turns_the_example_into_use_instead(rule):
    example = textwrap.dedent(rule.example).lstrip()
    expected = textwrap.dedent(rule.use_instead).lstrip()

    def find(text: str):
        return [f for f in analyse(SourceFile.from_text(text), policy=rule.policy) if f.code == rule.code]

    assert any(is_fixable(f) for f in find(example)), "the example's finding has no applicable fix"
    assert fix_text(example, find).text == expected
