"""The rules reference, ``docs/rules.md``, rendered from the rule modules.

Regenerate it with::

    python -m gradsafe.rules.docs > docs/rules.md

A test compares the file with ``render_markdown()``, so the page can never drift from the rules.
Each rule's section is the text of ``gradsafe explain CODE`` with its headings moved two levels
down, under a heading per mechanism family taken from the family module's docstring
(``"GS1xx: an in-place op overwrites ..."``).
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import gradsafe.rules
from gradsafe.rules import Policy, Rule, all_rules

_FAMILY_TITLE = re.compile(r"^(GS\dxx): (.+)$")
_FENCE = "```"
REGENERATE = "python -m gradsafe.rules.docs > docs/rules.md"


def default_label(rule: Rule) -> str:
    """Whether a rule is on by default, as ``gradsafe rules`` and the reference say it."""
    if rule.policy is not Policy.DEFAULT:
        return f"{rule.policy.value} policy"
    return "on" if rule.default_enabled else "off"


def family_titles() -> dict[str, str]:
    """``{"GS1": "an in-place op overwrites ...", ...}`` from the first docstring line of each family module."""
    titles = {}
    for info in pkgutil.iter_modules(gradsafe.rules.__path__):
        module = importlib.import_module(f"gradsafe.rules.{info.name}")
        doc = (module.__doc__ or "").strip()
        match = _FAMILY_TITLE.match(doc.splitlines()[0]) if doc else None
        if match:
            titles[match[1][:3]] = match[2].rstrip(".")
    return titles


def demote_headings(markdown: str, levels: int) -> str:
    """Add ``levels`` ``#`` to every heading outside fenced code blocks (where ``#`` is a comment)."""
    lines = []
    in_code = False
    for line in markdown.splitlines():
        if line.startswith(_FENCE):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            line = "#" * levels + line
        lines.append(line)
    return "\n".join(lines) + "\n"


def anchor(rule: Rule) -> str:
    """The GitHub anchor of a rule's heading ``GS101 (saved-result-overwritten)``."""
    return f"{rule.code.lower()}-{rule.name}"


def render_markdown() -> str:
    rules = all_rules()
    titles = family_titles()
    parts = [
        "# Rules",
        "",
        f"<!-- Generated from the rule modules by `{REGENERATE}`; do not edit. -->",
        "",
        "Every code gradsafe reports, grouped by mechanism. `gradsafe explain CODE` prints a rule's",
        "section; `gradsafe rules` lists them. Rules that are on by default are reported unless",
        "deselected (`--ignore`, `per-file-ignores`, `# gradsafe: ignore[CODE]`).",
        "",
        "| Code | Name | Fix | Default |",
        "|---|---|---|---|",
    ]
    parts += [
        f"| [{rule.code}](#{anchor(rule)}) | `{rule.name}` | {rule.fix_label} | {default_label(rule)} |"
        for rule in rules
    ]
    family = None
    for rule in rules:
        if rule.family != family:
            family = rule.family
            parts += ["", f"## {family}xx: {titles.get(family, 'other rules')}"]
        parts += ["", demote_headings(rule.explain(), 2).rstrip("\n")]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
