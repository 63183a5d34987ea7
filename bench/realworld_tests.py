"""The real-world hazards fixed with only an ordinary pytest file per case, no ``--scenario``.

For each hazard case of ``tests/realworld`` (or ``--cases``), a scratch copy gets
``tests/test_case.py`` (``from <entry> import run``, ``def test_run(): run()``), and
``gradsafe fix`` runs on it without ``--scenario``: verification finds that test by itself.  The
test file is removed before the copy is judged, as ``bench/realworld.py`` judges its fixes.  Prints
one line per case and the counts, to compare with the scoreboard's "fixed by fix" column.

    python bench/realworld_tests.py [--cases ID ...] [--jobs N] [--no-tests]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "realworld"))

import kit  # noqa: E402  (tests/realworld/kit.py, put on the path just above)

TEST = "from {module} import run\n\n\ndef test_run():\n    run()\n"


def evaluate(case_id: str, no_tests: bool = False) -> tuple[str, str, str]:
    case = kit.get_case(case_id)
    with tempfile.TemporaryDirectory(prefix=f"gradsafe-rwt-{case.id[:20]}-") as scratch:
        entry = kit.scratch_copy(case, Path(scratch) / "fix")
        root = entry.parent
        tests = root / "tests"
        tests.mkdir(exist_ok=True)
        (tests / "test_case.py").write_text(TEST.format(module=entry.stem))
        path = "." if case.path.is_dir() else entry.name
        try:
            done = kit.gradsafe(["fix", "--isolated", "--no-cache", *(["--no-tests"] if no_tests else []), path], root, timeout=600)
            output = (done.stdout + done.stderr).strip()
        except Exception as error:  # a hang or a start failure: the case's result
            output = f"{type(error).__name__}: {error}"
        (tests / "test_case.py").unlink()
        tests.rmdir()
        verdict = kit.judge_rewrite(case, entry)
    return case.id, verdict.status, verdict.detail or (output.splitlines()[-1] if output else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", metavar="ID", help="only these case ids")
    parser.add_argument("--jobs", type=int, default=2, help="cases evaluated at once (processes)")
    parser.add_argument("--no-tests", action="store_true", help="the control: fix with --no-tests")
    options = parser.parse_args(argv)
    ids = options.cases or [case.id for case in kit.all_cases() if case.kind == "hazard"]
    counts: dict[str, int] = {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=options.jobs) as pool:
        for case_id, status, detail in pool.map(evaluate, ids, [options.no_tests] * len(ids)):
            counts[status] = counts.get(status, 0) + 1
            print(f"{case_id:60} {status:12} {detail[:120]}", flush=True)
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())), f"(of {len(ids)} cases)")
    return 1 if counts.get(kit.WRONG) else 0


if __name__ == "__main__":
    raise SystemExit(main())
