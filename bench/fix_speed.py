"""How fast ``gradsafe fix --no-verify`` is, against ``gradsafe check`` on the same tree.

    python bench/fix_speed.py [--files N] [--jobs J] [--torch | --no-torch]

Two corpora, each copied to a temporary directory first (``fix`` writes):

* a generated tree of ``--files`` modules (default 1,500), each a small model with two trivial
  fixes (a sigmoid output scaled with ``mul_``, a tanh output shifted with ``add_``): the fix path's
  cost per fixed file, against ``check``'s cost for the same files;
* the installed torch package's sources with ``--policy strict`` (hundreds of fixes in large
  files): the cost of many fixes per file.

Targets (issue 21): ``fix`` within 3x ``check`` on the generated tree, and under 30 s on the torch
sources, on 2 cores.  gradsafe runs as ``python -m gradsafe`` in a child process with
``--isolated --no-cache``; each timing is one wall-clock run (the tree is rewritten by the run, so
a repeat needs a new copy).

Measured (issue 21, shared 2-core machine at load 7-25, so CPU time is the figure to compare):
generated tree of 150 files, ``fix --no-verify --no-cache -j 1``: 9.7 s CPU before, 4.7 s after
(``check``: 0.6 s); torch sources, ``diff --no-verify --no-cache --policy strict -j 2``: 5 min 24 s
CPU before, 2 min 42 s after (output byte-identical).  Both targets are not met yet.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MODEL = '''\
import torch
from torch import nn


class Head{index}(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)

    def forward(self, x):
        gate = torch.sigmoid(self.proj(x))
        gate.mul_(2.0)
        act = torch.tanh(x)
        act.add_(1.0)
        return gate * act
'''


def generate(root: Path, files: int) -> Path:
    tree = root / "generated"
    for index in range(files):
        package = tree / f"pkg{index // 100:02d}"
        package.mkdir(parents=True, exist_ok=True)
        (package / f"model_{index:04d}.py").write_text(MODEL.format(index=index), encoding="utf-8")
    return tree


@dataclass(frozen=True)
class Timing:
    wall: float  # seconds
    cpu: float  # user + system seconds of gradsafe and its workers: the figure on a loaded machine


def gradsafe(*args: str, cwd: Path) -> tuple[Timing, subprocess.CompletedProcess[str]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "gradsafe", *args, "--isolated", "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode not in (0, 1):
        raise SystemExit(f"gradsafe {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return Timing(elapsed, cpu), result


def measure(tree: Path, jobs: int, policy: str) -> tuple[Timing, Timing, str]:
    common = ["--jobs", str(jobs), "--policy", policy, "."]
    check_time, _ = gradsafe("check", "--exit-zero", "-q", *common, cwd=tree)
    fix_time, fixed = gradsafe("fix", "--no-verify", *common, cwd=tree)
    summary = next((line for line in fixed.stdout.splitlines() if "applied" in line), fixed.stdout.strip()[-200:])
    return check_time, fix_time, summary


def torch_sources() -> Path | None:
    spec = importlib.util.find_spec("torch")
    return Path(spec.origin).parent if spec and spec.origin else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1500)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--torch", action=argparse.BooleanOptionalAction, default=True)
    options = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="gradsafe-fix-speed-") as scratch:
        os.environ["GRADSAFE_CACHE_DIR"] = str(Path(scratch) / "cache")
        tree = generate(Path(scratch), options.files)
        check_time, fix_time, summary = measure(tree, options.jobs, "default")
        rows.append((f"generated, {options.files} files", "default", check_time, fix_time, summary))
        source = torch_sources() if options.torch else None
        if source is not None:
            copy = Path(scratch) / "torch"
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.so.*", "lib", "include"))
            check_time, fix_time, summary = measure(copy, options.jobs, "strict")
            rows.append(("torch sources", "strict", check_time, fix_time, summary))
    print(f"(--jobs {options.jobs}; load average {os.getloadavg()[0]:.1f}; CPU = user + system time of gradsafe and its workers)")
    print("| corpus | policy | check wall / CPU (s) | fix --no-verify wall / CPU (s) | fix / check (CPU) | result |")
    print("|---|---|---|---|---|---|")
    for corpus, policy, check, fix, summary in rows:
        print(f"| {corpus} | {policy} | {check.wall:.1f} / {check.cpu:.1f} | {fix.wall:.1f} / {fix.cpu:.1f} "
              f"| {fix.cpu / check.cpu:.1f}x | {summary} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
