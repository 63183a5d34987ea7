"""The ``gradsafe`` command line: check, diff, fix, verify, trace, merge-reports, rules, explain.

Conventions are ruff's and black's: exit 0 when clean, 1 when there are findings (``check``),
changes (``diff``) or findings left (``fix``), 2 when a file could not be processed or the command
line or configuration is wrong.  A user mistake is one ``gradsafe: error: ...`` line, never a
traceback.  ``-`` as the path reads standard input and writes the result to standard output.

Standard error carries only messages (and, on a terminal, a progress bar for slow runs), so CI
logs hold nothing else.  Only what a command needs is imported: ``check`` never loads torch, nor
LibCST unless its report format shows fixes (SARIF).

Modules: ``app`` (the Typer app, exit statuses, error handling), ``options`` (every option,
defined once, and the groups of them the commands take), ``command_run`` (a command's
configuration, ``Invocation``, built by ``start_run``, and the ``Run`` the commands share), and
one module per group of commands: ``check_diff_fix``, ``verify_trace``, ``merge_reports``,
``rules_explain``, ``completion``.  They are imported in that order, which is the order ``gradsafe --help`` lists
the commands in.
"""

from gradsafe.cli.app import app, main
from gradsafe.cli import check_diff_fix, verify_trace, merge_reports, rules_explain, completion  # noqa: F401  (registers the commands)

__all__ = ["app", "main"]
