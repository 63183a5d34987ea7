"""``docs/rules.md`` is generated from the rule modules and must never go stale."""

from __future__ import annotations

import re
from pathlib import Path

from helpers.report_repo import invoke

from gradsafe.rules import all_rules
from gradsafe.rules.docs import REGENERATE, demote_headings, render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_docs_rules_md_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render_markdown(), f"docs/rules.md is stale; regenerate it: {REGENERATE}"


def test_each_rule_section_is_the_text_of_gradsafe_explain() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for rule in all_rules():
        explained = invoke("explain", rule.code).stdout
        assert demote_headings(explained, 2) in doc, rule.code
        for part in (rule.code, rule.name, "## Example", "## Use instead", "## Fix", f"Kind: {rule.fix_label}."):
            assert part in explained


def github_anchor(heading: str) -> str:
    """GitHub's heading anchors: lower case, punctuation other than '-' dropped, spaces to '-'."""
    return re.sub(r"[^a-z0-9 \-]", "", heading.lower()).replace(" ", "-")


def test_the_table_links_to_every_rule_and_each_family_has_a_heading() -> None:
    doc = DOC.read_text(encoding="utf-8")
    headings = [line.lstrip("#").strip() for line in doc.splitlines() if re.match(r"#{2,3} ", line)]
    anchors = {github_anchor(heading) for heading in headings}
    links = re.findall(r"^\| \[(GS\d+)\]\(#([^)]+)\)", doc, re.M)
    assert [code for code, _ in links] == [rule.code for rule in all_rules()]
    assert all(anchor in anchors for _, anchor in links)
    families = {rule.code[:3] for rule in all_rules()}
    assert {h[:3] for h in headings if re.match(r"GS\dxx: \S", h)} == families


def test_demoting_headings_leaves_code_comments_alone() -> None:
    markdown = "# Title\n\ntext\n\n## Example\n```python\n# a comment\nx = 1\n```\n## Fix\n"
    assert demote_headings(markdown, 2) == (
        "### Title\n\ntext\n\n#### Example\n```python\n# a comment\nx = 1\n```\n#### Fix\n"
    )
