"""How fast ``gradsafe check`` is, against the time Python itself takes to parse the same files.

    python bench/check_speed.py [DIR] [--jobs N] [--repeat R]

DIR defaults to the installed torch package's own sources (found without importing torch).  The
script prints one table (Markdown, so it can go into the README as it is):

* the corpus: files, lines, megabytes (the files ``gradsafe check`` would check);
* ``ast.parse``: reading and parsing every file, one process, no analysis - the floor;
* ``check`` cold: a whole run of ``gradsafe check --jobs N`` with an empty result cache, wall
  clock, its ratio to the ``ast.parse`` time, files/s and MB/s;
* ``check`` warm: the same run again, nothing changed, and its share of the cold run;
* peak memory: the largest resident set of any gradsafe process (what ``/usr/bin/time -v``
  reports), and on Linux the largest sum over the parent and its workers, sampled;
* startup: ``gradsafe check one_file.py`` on a small model file, wall clock.

Every timing is the best of ``--repeat`` runs (the machine may be busy with something else;
the best run is the one least disturbed).  Needs Linux or macOS (``resource``).  gradsafe runs as ``python -m gradsafe`` in a child
process, ``--isolated`` (no configuration file changes what it does) and with the cache in a
temporary directory (``$GRADSAFE_CACHE_DIR``), so the benchmark leaves nothing behind.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gradsafe.files.discovery import Filters, discover
from gradsafe.run.cache import DIRECTORY_ENV
from gradsafe.run.parallel import available_cpus
from gradsafe.settings.config import Overrides, load_settings
from gradsafe.settings.patterns import PathPatterns

# A small model with in-place ops, so that the startup run loads the whole analysis.
ONE_FILE = '''\
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        h = self.fc(x).sigmoid()
        h.mul_(2)
        return self.act(h)
'''
MiB = 1024 * 1024


@dataclass
class Run:
    wall: float
    largest_rss: int  # bytes, the largest single process
    total_rss: int | None  # bytes, the largest sum over the process tree (Linux), sampled


def default_directory() -> Path:
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("torch is not installed: give a directory to check (python bench/check_speed.py DIR)")
    return Path(spec.submodule_search_locations[0])


def corpus(directory: Path) -> list[Path]:
    """The files ``gradsafe check --isolated DIRECTORY`` checks."""
    settings = load_settings([directory], Overrides(), isolated=True)
    filters = Filters(PathPatterns(settings.exclude, settings.root), respect_gitignore=settings.respect_gitignore)
    return [item.path for item in discover([directory], filters).files]


def parse_time(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        try:
            ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, RecursionError, MemoryError, OSError):
            pass
    return time.perf_counter() - start


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants (Linux ``/proc``); 0 once it is gone."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next((int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:")), 0)
            with open(f"/proc/{current}/task/{current}/children") as children:
                pending.extend(int(child) for child in children.read().split())
        except (OSError, ValueError):
            continue
    return total


def gradsafe(args: list[str], *, cache: Path, cwd: Path) -> Run:
    """Run ``python -m gradsafe ARGS`` and measure it."""
    # The largest resident set of any process this one has waited for, the child's own waited-for
    # workers included: read in a wrapper, so that earlier runs do not count.
    wrapper = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    command = [sys.executable, "-c", wrapper, sys.executable, "-m", "gradsafe", *args]
    env = {**os.environ, DIRECTORY_ENV: str(cache)}
    peak = 0
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    sampler = None
    if sys.platform == "linux":

        def sample() -> None:
            nonlocal peak
            while process.poll() is None:
                peak = max(peak, _tree_rss(process.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
    output, _ = process.communicate()
    wall = time.perf_counter() - start
    if sampler is not None:
        sampler.join()
    kib = int(output.split()[-1])
    largest = kib * 1024 if sys.platform != "darwin" else kib  # ru_maxrss is in bytes on macOS
    return Run(wall, largest, peak or None)


def best(runs: list[Run]) -> Run:
    fastest = min(runs, key=lambda r: r.wall)
    totals = [r.total_rss for r in runs if r.total_rss is not None]
    return Run(fastest.wall, max(r.largest_rss for r in runs), max(totals) if totals else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", type=Path, help="the files to check (default: torch's sources)")
    parser.add_argument("--jobs", type=int, default=available_cpus(), help="gradsafe --jobs (default: the CPUs)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best counts (default: 3)")
    options = parser.parse_args()
    directory = (options.directory or default_directory()).resolve()
    files = corpus(directory)
    if not files:
        raise SystemExit(f"no Python files under {directory}")
    sizes = [path.stat().st_size for path in files]
    lines = sum(path.read_bytes().count(b"\n") for path in files)
    megabytes = sum(sizes) / 1e6

    parsing = min(parse_time(files) for _ in range(options.repeat))
    check = ["check", "--isolated", "--quiet", "--exit-zero", "--jobs", str(options.jobs), str(directory)]
    with tempfile.TemporaryDirectory(prefix="gradsafe-bench-") as scratch:
        scratch_dir = Path(scratch)
        cold_runs = []
        for attempt in range(options.repeat):
            cold_runs.append(gradsafe(check, cache=scratch_dir / f"cold-{attempt}", cwd=scratch_dir))
        cold = best(cold_runs)
        warm = best([gradsafe(check, cache=scratch_dir / "cold-0", cwd=scratch_dir) for _ in range(options.repeat)])
        one_file = scratch_dir / "model.py"
        one_file.write_text(ONE_FILE)
        startup = best(
            [gradsafe(["check", "--isolated", "--no-cache", "--exit-zero", str(one_file)], cache=scratch_dir,
                      cwd=scratch_dir) for _ in range(max(options.repeat, 5))]
        )

    rows = [
        ("corpus", f"{directory}"),
        ("machine", f"{available_cpus()} CPUs, Python {platform.python_version()}"),
        ("files", f"{len(files):,}"),
        ("lines", f"{lines:,}"),
        ("size", f"{megabytes:.1f} MB"),
        ("`ast.parse`, one process (read + parse)", f"{parsing:.2f} s"),
        (f"`gradsafe check --jobs {options.jobs}`, cold cache", f"{cold.wall:.2f} s"),
        ("ratio to `ast.parse`", f"{cold.wall / parsing:.2f}x"),
        ("files/s, cold", f"{len(files) / cold.wall:,.0f}"),
        ("MB/s, cold", f"{megabytes / cold.wall:.1f}"),
        ("warm re-run, nothing changed", f"{warm.wall:.2f} s ({100 * warm.wall / cold.wall:.1f} % of cold)"),
        ("peak RSS, largest process", f"{cold.largest_rss / MiB:.0f} MiB"),
    ]
    if cold.total_rss is not None:
        rows.append(("peak RSS, all processes (sampled)", f"{cold.total_rss / MiB:.0f} MiB"))
    rows.append(("startup: `gradsafe check one_file.py`", f"{startup.wall:.2f} s"))
    width = max(len(name) for name, _ in rows)
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")


if __name__ == "__main__":
    main()
