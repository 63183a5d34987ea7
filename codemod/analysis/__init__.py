"""The judge: decides, per tensor, whether an in-place mutation breaks autograd.

Runs on the stdlib ``ast`` only (LibCST is for editing, and only on files that have fixes) and
never imports torch: what each op saves for backward comes from the shipped op table.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from gradsafe.findings import Finding
from gradsafe.rules import Policy
from gradsafe.files.source import SourceFile


def analyse(
    source: SourceFile,
    tree: ast.Module | None = None,
    *,
    policy: Policy = Policy.DEFAULT,
    confirmed: Mapping[int, str] | None = None,
) -> list[Finding]:
    """All findings for one file, sorted by position.  Raises ``SyntaxError`` if it does not parse.

    ``confirmed`` maps line numbers to rule codes that ``gradsafe trace`` saw happen there: an
    in-place write on such a line is reported (and gets a fix planned) even where the static
    judgement alone would stay silent, because the run proved it is a hazard.
    """
    if tree is None:
        tree = ast.parse(source.text, filename=source.display)
    from gradsafe.analysis.judge import judge_module
    from gradsafe.analysis.source_text import quoting
    from gradsafe.analysis.training import judge_training

    with quoting(source):  # messages quote literals as the file spells them
        findings = judge_module(tree, source, policy=policy, confirmed=confirmed or {})
        findings += judge_training(tree, source.text)
    return sorted(findings, key=lambda f: f.sort_key)
