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
from gradsafe.settings.suppression import filter_suppressed

RULES = all_rules()
ALL_CODES = frozenset(rule.code for rule in RULES)


def _codes(text: str, rule) -> list[str]:
    """The codes reported with every rule selected, the rules on suppression comments included."""
    source = SourceFile.from_text(text)
    return [f.code for f in filter_suppressed(analyse(source, policy=rule.policy), source, ALL_CODES)]


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
    assert fix_text(example, find, unsafe_fixes=rule.unsafe_fix).text == expected
