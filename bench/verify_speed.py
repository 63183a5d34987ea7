"""How long verification takes per rewritten function, once the worker has imported torch.

    /work/venv/bin/python bench/verify_speed.py [--repeat N]

Runs every well-behaved case of ``tests/fixtures/verify`` through one warm worker, ``--repeat``
times, and prints the worker's torch start time, then one row per target: the verdict and the
seconds from the target's start to the next event (mean and max over the repeats), and the
scenarios' time separately.  The target is at most 0.3 s per function.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

from gradsafe.verify import FileChange, VerifySettings, WorkerPool, verify

REPO = Path(__file__).resolve().parent.parent

FIXTURES = REPO / "tests" / "fixtures" / "verify"
CASES: list[tuple[str, tuple[str, ...]]] = [
    ("activations", ()),
    ("sequential_head", ()),
    ("data_clamp", ()),
    ("dropout", ()),
    ("module_level", ()),
    ("helpers", ("helpers.py:run",)),
    ("deep_model", ("deep_scenario.py:run",)),
    ("manual_sgd", ("manual_sgd.py:run", "manual_sgd.py:run_data")),
    ("side_effects", ("side_effects.py:run",)),
]
BUDGET = 0.3


def load(case: str) -> FileChange:
    original = (FIXTURES / f"{case}.py").read_text(encoding="utf-8")
    rewritten = (FIXTURES / f"{case}.rewritten.py").read_text(encoding="utf-8")
    return FileChange(FIXTURES / f"{case}.py", original, rewritten)


def timed_run(
    pool: WorkerPool, change: FileChange, scenarios: tuple[str, ...]
) -> tuple[dict[str, float], dict[str, str]]:
    """Seconds spent on each scenario and target (start to next start), and each target's verdict."""
    marks: list[tuple[str, float]] = []
    verdicts = verify(
        [change],
        VerifySettings(scenarios=scenarios),
        root=FIXTURES,
        pool=pool,
        progress=lambda kind, name: marks.append((f"{kind} {name.rsplit('/', 1)[-1]}", time.perf_counter())),
    )
    marks.append(("end", time.perf_counter()))
    spans = {name: end - start for (name, start), (_, end) in zip(marks, marks[1:])}
    return spans, {f"target {change.path.name}:{v.qualname}": v.verdict.value for v in verdicts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    times: dict[str, list[float]] = defaultdict(list)
    verdicts: dict[str, str] = {}
    with WorkerPool() as pool:
        started = time.perf_counter()
        worker = pool.workers[0]
        worker.start()
        print(
            f"worker start (torch import inside it): {worker.torch_seconds:.2f} s; "
            f"process ready after {time.perf_counter() - started:.2f} s"
        )
        for _ in range(options.repeat):
            for case, scenarios in CASES:
                spans, found = timed_run(pool, load(case), scenarios)
                verdicts.update(found)
                for name, seconds in spans.items():
                    times[name].append(seconds)
    print(f"\n{'':2}{'what':<48} {'verdict':<10} {'mean s':>8} {'max s':>8}")
    targets = []
    for name, values in times.items():
        mean, worst = statistics.mean(values), max(values)
        if name.startswith("target"):
            targets.append(values)
        flag = "!" if name.startswith("target") and mean > BUDGET else " "
        print(f"{flag:2}{name:<48} {verdicts.get(name, ''):<10} {mean:8.3f} {worst:8.3f}")
    every = [value for values in targets for value in values]
    print(
        f"\n{len(targets)} targets x {options.repeat} runs: mean {statistics.mean(every):.3f} s, "
        f"median {statistics.median(every):.3f} s, max {max(every):.3f} s per target (budget {BUDGET} s)"
    )


if __name__ == "__main__":
    main()
