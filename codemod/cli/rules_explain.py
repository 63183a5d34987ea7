"""The rule catalogue on the command line: ``gradsafe rules`` lists the rules, ``gradsafe explain CODE`` shows one."""

from __future__ import annotations

from typing import Annotated

import typer

from gradsafe.cli.app import app, fail
from gradsafe.rules import all_rules, get_rule


@app.command()
def rules() -> None:
    """List every rule: code, name, fix kind, and whether it is on by default (docs/rules.md has them all)."""
    from gradsafe.rules.docs import default_label

    catalogue = all_rules()
    rows = [("CODE", "NAME", "FIX", "DEFAULT")]
    rows += [(rule.code, rule.name, rule.fix_label, default_label(rule)) for rule in catalogue]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3])


@app.command(epilog="**Example**\n\n* `gradsafe explain GS101`")
def explain(
    code: Annotated[str, typer.Argument(help="A rule code, e.g. GS101.", show_default=False, metavar="CODE")],
) -> None:
    """Show a rule's documentation: what it reports, why, an example and its fix."""
    rule = get_rule(code)
    if rule is None:
        raise fail(f"unknown rule code {code!r} (see `gradsafe rules`)")
    typer.echo(rule.explain(), nl=False)
