"""``python -m gradsafe.trace [--root DIR] [--stop-at-first] [--checksum-saved] (--scenario SPEC | -- COMMAND...)``.

Runs the command under the detector and, once it has finished, prints one
``path:line:col: CODE message`` line per hazard on stdout (after whatever the program printed)
and a summary on stderr.

Exit status: 1 if a hazard was found; otherwise the program's own status, so that
``python -m gradsafe.trace -- pytest`` can stand in for ``pytest`` in CI; 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gradsafe.trace.runner import run_traced

HAZARDS_FOUND = 1
USAGE_ERROR = 2


def main(args: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gradsafe.trace",
        description="Run a program and report in-place overwrites of tensors autograd saved, as they happen.",
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="project root (default: the current directory)")
    parser.add_argument("--stop-at-first", action="store_true", help="raise at the first hazard instead of continuing")
    parser.add_argument("--checksum-saved", action="store_true",
                        help="checksum saved tensors and compare at backward: writes no torch op made (GS603)")
    parser.add_argument("--scenario", metavar="SPEC", help="call a function instead: 'pkg.mod:fn' or 'path.py:fn'")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after '--'")
    options = parser.parse_args(args)
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    if bool(command) == bool(options.scenario):
        parser.print_usage(sys.stderr)
        print("error: give a command after '--', or --scenario", file=sys.stderr)
        return USAGE_ERROR
    try:
        result = run_traced(
            command or None, root=options.root, scenario=options.scenario, stop_at_first=options.stop_at_first,
            checksum_saved=options.checksum_saved,
        )
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    for finding in result.findings:
        print(finding.format_line())
    for problem in result.errors:
        print(f"gradsafe trace: the detector failed to start in a process:\n{problem}", file=sys.stderr)
    if not result.traced:
        print(
            "gradsafe trace: no process imported torch with the detector installed; nothing was traced", file=sys.stderr
        )
    else:
        occurrences = sum(f.count for f in result.findings)
        print(
            f"gradsafe trace: {len(result.findings)} hazard(s), {occurrences} occurrence(s), "
            f"{len(result.processes)} process(es) traced; the program exited with {result.returncode}",
            file=sys.stderr,
        )
    return HAZARDS_FOUND if result.findings else result.returncode


if __name__ == "__main__":
    sys.exit(main())
