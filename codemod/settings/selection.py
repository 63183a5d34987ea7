"""Which rule codes are active: ``select`` / ``extend-select`` / ``ignore`` and per-file ignores.

Selectors are a full code (``GS101``), a code prefix (``GS1``, ``GS10``) or ``ALL``.  Resolution
follows ruff:

* Settings come in layers (built-in default, then the configuration file, then the command line).
  A layer with ``select`` starts afresh from its own selection; a layer without one keeps what the
  previous layer left.  ``extend-select`` adds, ``ignore`` removes.
* Inside a layer the most specific selector wins (``ALL`` < ``GS1`` < ``GS10`` < ``GS101``), and on
  a tie ``ignore`` beats ``select``: ``--select GS1 --ignore GS101`` leaves GS101 off, and
  ``--select GS101 --ignore GS1`` leaves it on.
* A rule with ``default_enabled=False`` is turned on only by its exact code.  ``ALL`` and prefixes
  mean "the family as shipped", so an opt-in rule never arrives as a surprise when a family is
  selected.
* A policy rule (``GS9xx``) is active only under its policy, whatever is selected.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from collections.abc import Iterable, Sequence

from gradsafe.rules import Policy, Rule

ALL = "ALL"


class SelectorError(ValueError):
    """A selector that names no rule."""


@dataclass(frozen=True)
class Selector:
    text: str  # upper-case code, prefix or "ALL"

    @property
    def specificity(self) -> int:
        return 0 if self.text == ALL else len(self.text)

    def matches(self, code: str) -> bool:
        return self.text == ALL or code.startswith(self.text)

    def turns_on(self, rule: Rule) -> bool:
        """Whether selecting with this selector enables ``rule`` (opt-in rules need their exact code)."""
        if rule.code == self.text:
            return True
        return rule.default_enabled and self.matches(rule.code)


def parse_selector(text: str, codes: Iterable[str]) -> Selector:
    """A selector for ``text``, or ``SelectorError`` when no rule code starts with it."""
    normalized = text.strip().upper()
    known = sorted(codes)
    if normalized == ALL or any(code.startswith(normalized) for code in known if normalized):
        return Selector(normalized)
    hint = difflib.get_close_matches(normalized, known, n=1)
    suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
    raise SelectorError(f"unknown rule selector {text.strip()!r}{suggestion}")


def parse_selectors(texts: Iterable[str], codes: Iterable[str]) -> tuple[Selector, ...]:
    known = tuple(codes)
    return tuple(parse_selector(t, known) for t in texts)


@dataclass(frozen=True)
class SelectionLayer:
    select: tuple[Selector, ...] | None = None
    extend_select: tuple[Selector, ...] = ()
    ignore: tuple[Selector, ...] = ()

    def decide(self, rule: Rule, enabled_before: bool) -> bool:
        on = [s.specificity for s in (*(self.select or ()), *self.extend_select) if s.turns_on(rule)]
        off = [s.specificity for s in self.ignore if s.matches(rule.code)]
        best_on = max(on, default=-1)
        best_off = max(off, default=-1)
        if best_on < 0 and best_off < 0:
            return enabled_before if self.select is None else False
        return best_on > best_off


DEFAULT_LAYER = SelectionLayer(select=(Selector(ALL),))


def active_codes(layers: Sequence[SelectionLayer], rules: Iterable[Rule], policy: Policy) -> frozenset[str]:
    """The codes enabled after applying ``layers`` in order (the default layer is applied first)."""
    active: set[str] = set()
    for rule in rules:
        enabled = False
        for layer in (DEFAULT_LAYER, *layers):
            enabled = layer.decide(rule, enabled)
        if enabled and (rule.policy is Policy.DEFAULT or rule.policy is policy):
            active.add(rule.code)
    return frozenset(active)


def is_matched(code: str, selectors: Iterable[Selector]) -> bool:
    return any(s.matches(code) for s in selectors)
