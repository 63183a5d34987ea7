"""How much slower a training loop runs under the trace detector (target: at most 2x).

Runs the same seeded loop (forward, backward, ``optimizer.step()``) untraced and traced, in one
process, alternating the two so that machine noise hits both alike, and reports the median time
per step.  The detector is installed in-process exactly as ``gradsafe trace`` installs it in the
traced program; process start-up and ``import torch`` are left out, since they do not scale with
the work.

    python bench/trace_overhead.py                  # both models, 300 steps, 5 rounds
    python bench/trace_overhead.py --floor          # also: empty instruments, torch's own cost
    python bench/trace_overhead.py --model mlp --profile   # where the traced time goes
    python bench/trace_overhead.py --checksum-saved  # also: traced with `--checksum-saved` (GS603)

Two models: ``mlp`` (3 Linear layers, 256 wide, batch 64: tiny ops, the worst case for a per-op
cost) and ``cnn`` (two 3x3 convolutions on 32x32 images, batch 32: ops of a realistic size).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from gradsafe.trace.runtime.detector import Detector


def mlp() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    model = nn.Sequential(
        nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(inplace=True), nn.Dropout(0.1), nn.Linear(256, 10)
    )
    return model, torch.randn(64, 64), torch.randint(0, 10, (64,))


def cnn() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    )
    return model, torch.randn(32, 3, 32, 32), torch.randint(0, 10, (32,))


MODELS: dict[str, Callable[[], tuple[nn.Module, torch.Tensor, torch.Tensor]]] = {"mlp": mlp, "cnn": cnn}


def train(build: Callable[[], tuple[nn.Module, torch.Tensor, torch.Tensor]], steps: int) -> float:
    """Seconds for ``steps`` training steps (model built and warmed up outside the timing)."""
    torch.manual_seed(0)
    model, data, target = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> None:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(data), target).backward()
        optimizer.step()

    for _ in range(5):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - start


def traced(build: Callable[[], tuple[nn.Module, torch.Tensor, torch.Tensor]], steps: int, root: Path,
           *, checksum_saved: bool = False) -> float:
    with Detector(root, checksum_saved=checksum_saved) as detector:
        seconds = train(build, steps)
    if detector.events:
        raise AssertionError(f"the benchmark loop is clean, but the detector reported {detector.events}")
    return seconds


class _EmptyDispatch(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        return func(*args, **kwargs)


class _EmptyFunction(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        return func(*args, **(kwargs or {}))


def empty(build: Callable[[], tuple[nn.Module, torch.Tensor, torch.Tensor]], steps: int, root: Path) -> float:
    """The floor: the same three instruments with empty bodies (torch's own cost of having them)."""
    with (
        torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t),
        _EmptyFunction(),
        _EmptyDispatch(),
    ):
        return train(build, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=[*MODELS, "all"], default="all")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5, help="untraced/traced pairs; medians are reported")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1 keeps timings stable)")
    parser.add_argument("--profile", action="store_true", help="cProfile one traced run instead of timing")
    parser.add_argument("--floor", action="store_true", help="also time the instruments with empty bodies")
    parser.add_argument("--checksum-saved", action="store_true",
                        help="also time the detector checksumming saved tensors (`gradsafe trace --checksum-saved`)")
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    names = list(MODELS) if options.model == "all" else [options.model]
    # Sites are files under the root: the benchmark's own loop counts as user code.
    root = Path(__file__).resolve().parent

    if options.profile:
        for name in names:
            train(MODELS[name], 5)  # first-use imports (the optimizer imports torch._dynamo) stay out
            profiler = cProfile.Profile()
            profiler.runcall(traced, MODELS[name], options.steps, root)
            print(f"== {name}: traced, {options.steps} steps")
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)
        return

    print(f"torch {torch.__version__}, {options.threads} thread(s), {options.steps} steps, {options.rounds} rounds")
    for name in names:
        runs: dict[str, list[float]] = {"untraced": [], "traced": [], "checksums": [], "empty": []}
        for _ in range(options.rounds):
            runs["untraced"].append(train(MODELS[name], options.steps))
            runs["traced"].append(traced(MODELS[name], options.steps, root))
            if options.checksum_saved:
                runs["checksums"].append(traced(MODELS[name], options.steps, root, checksum_saved=True))
            if options.floor:
                runs["empty"].append(empty(MODELS[name], options.steps, root))
        base = statistics.median(runs["untraced"])
        line = f"{name:4} untraced {1e3 * base / options.steps:7.3f} ms/step"
        for label in ("traced", "checksums", "empty"):
            if runs[label]:
                cost = statistics.median(runs[label])
                line += f"   {label} {1e3 * cost / options.steps:7.3f} ms/step ({cost / base:4.2f}x)"
        print(line)


if __name__ == "__main__":
    main()
