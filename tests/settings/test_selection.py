"""Rule selection: codes, prefixes, ALL, specificity, opt-in rules, policy rules."""

from __future__ import annotations

import pytest

from gradsafe.rules import Policy, Rule, all_rules
from gradsafe.settings.selection import SelectionLayer, SelectorError, active_codes, parse_selector, parse_selectors

# A small catalogue that does not depend on which rules exist today.
RULES = [
    Rule("GS101", "a", "", "", "", "", ""),
    Rule("GS102", "b", "", "", "", "", ""),
    Rule("GS201", "c", "", "", "", "", ""),
    Rule("GS403", "d", "", "", "", "", "", default_enabled=False),
    Rule("GS901", "e", "", "", "", "", "", policy=Policy.STRICT),
]
CODES = [r.code for r in RULES]


def layer(select=None, extend=(), ignore=()) -> SelectionLayer:
    return SelectionLayer(
        select=parse_selectors(select, CODES) if select is not None else None,
        extend_select=parse_selectors(extend, CODES),
        ignore=parse_selectors(ignore, CODES),
    )


def active(*layers: SelectionLayer, policy: Policy = Policy.DEFAULT) -> set[str]:
    return set(active_codes(layers, RULES, policy))


def test_default_is_every_default_enabled_rule_of_the_policy() -> None:
    assert active() == {"GS101", "GS102", "GS201"}
    assert active(policy=Policy.STRICT) == {"GS101", "GS102", "GS201", "GS901"}


def test_prefixes_and_all() -> None:
    assert active(layer(select=["GS1"])) == {"GS101", "GS102"}
    assert active(layer(select=["gs10"])) == {"GS101", "GS102"}
    assert active(layer(select=["ALL"], ignore=["GS1"])) == {"GS201"}


def test_opt_in_rules_need_their_exact_code() -> None:
    assert "GS403" not in active(layer(select=["ALL"]))
    assert "GS403" not in active(layer(select=["GS4"]))
    assert "GS403" in active(layer(extend=["GS403"]))
    assert active(layer(select=["GS403"])) == {"GS403"}


def test_policy_rules_only_under_their_policy() -> None:
    assert "GS901" not in active(layer(select=["GS901"]))
    assert "GS901" in active(layer(select=["GS901"]), policy=Policy.STRICT)


def test_most_specific_selector_wins_and_ignore_wins_ties() -> None:
    assert active(layer(select=["GS1"], ignore=["GS101"])) == {"GS102"}
    assert active(layer(select=["GS101"], ignore=["GS1"])) == {"GS101"}
    assert active(layer(select=["GS1"], ignore=["GS1"])) == set()


def test_later_layers_override_earlier_ones() -> None:
    from_file = layer(select=["GS2"])
    assert active(from_file, layer(select=["GS101"])) == {"GS101"}
    assert active(from_file, layer(extend=["GS102"])) == {"GS102", "GS201"}
    assert active(layer(ignore=["GS1"]), layer(extend=["GS101"])) == {"GS101", "GS201"}


@pytest.mark.parametrize("text", ["GS999", "XYZ", "", "GS1O1"])
def test_unknown_selectors_are_rejected(text: str) -> None:
    with pytest.raises(SelectorError):
        parse_selector(text, CODES)


def test_every_real_rule_code_is_a_valid_selector() -> None:
    codes = [r.code for r in all_rules()]
    for code in codes:
        assert parse_selector(code.lower(), codes).text == code
