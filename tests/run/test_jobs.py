"""``--jobs``: results are identical and identically ordered whatever the number of worker processes."""

from __future__ import annotations

import gc
import json
import os
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import gradsafe.run.parallel as parallel
from gradsafe.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def pool_used(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make any input worth a pool, and record the number of workers of every pool started."""
    monkeypatch.setattr(parallel, "MIN_BYTES_PER_WORKER", 1)
    started: list[int] = []
    pooled = parallel._pooled

    def spy(function, items, workers):  # noqa: ANN001, ANN202 - same signature as _pooled
        started.append(workers)
        return pooled(function, items, workers)

    monkeypatch.setattr(parallel, "_pooled", spy)
    return started


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Real hazards and clean files in a few directories, with a syntax error and an undecodable file."""
    shutil.copytree(FIXTURES / "analysis", tmp_path / "analysis", ignore=shutil.ignore_patterns("*.md"))
    shutil.copytree(FIXTURES / "reports" / "repo", tmp_path / "repo")
    (tmp_path / "repo" / "broken.py").write_text("def f(:\n    pass\n")
    (tmp_path / "repo" / "latin.py").write_bytes(b"x = '\xe9'\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


@pytest.mark.parametrize("command", [["check"], ["check", "--format", "json"], ["diff", "--no-verify"]])
def test_one_and_two_jobs_print_the_same(tree: Path, pool_used: list[int], command: list[str]) -> None:
    sequential = run(*command, "--jobs", "1", "--no-cache", ".")
    parallel_run = run(*command, "--jobs", "2", "--no-cache", ".")
    assert pool_used == [2]
    assert parallel_run == sequential
    assert sequential[0] == 2  # findings and two files that could not be processed
    if command[-1] == "json":
        paths = [item["path"] for item in json.loads(sequential[1])["findings"]]
        assert len(paths) > 10 and paths == sorted(paths, key=lambda p: p.split("/"))


def test_fix_with_two_jobs_writes_what_one_job_writes(tree: Path, pool_used: list[int], tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tree / "analysis", copy)
    assert run("fix", "--no-verify", "--jobs", "1", "analysis")[0] == 1
    assert run("fix", "--no-verify", "--jobs", "2", "copy")[0] == 1
    assert pool_used == [2]
    fixed = {p.name: p.read_bytes() for p in (tree / "analysis").glob("*.py")}
    assert fixed == {p.name: p.read_bytes() for p in copy.glob("*.py")}
    assert fixed != {p.name: p.read_bytes() for p in (FIXTURES / "analysis").glob("*.py")}


def test_small_inputs_are_processed_without_a_pool(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "_pooled", lambda *args: pytest.fail("started a pool for two small files"))
    status, output = run("check", "--jobs", "2", "repo/pkg/augassign.py", "repo/pkg/ema.py")
    assert status == 1 and "GS101" in output and "GS203" in output


def test_jobs_must_be_positive(tree: Path) -> None:
    status, _ = run("check", "--jobs", "0", ".")
    assert status == 2


def test_workers_for_counts_the_bytes_to_analyse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_BYTES_PER_WORKER", 100)
    paths = []
    for index, size in enumerate([150, 60, 40, 200]):
        path = tmp_path / f"f{index}.py"
        path.write_bytes(b"#" * size)
        paths.append(path)
    assert parallel.workers_for(paths, 1) == 1
    assert parallel.workers_for(paths[:1], 8) == 1  # one file: nothing to share
    assert parallel.workers_for(paths[:2], 8) == 2  # 210 bytes: two workers' worth, one per file at most
    assert parallel.workers_for(paths[1:3], 8) == 1  # 100 bytes
    assert parallel.workers_for(paths, 3) == 3
    assert parallel.workers_for(paths + [tmp_path / "missing.py"], 8) == 4


def _slow_for_early_items(item: int) -> tuple[int, int]:
    time.sleep(0.02 if item < 4 else 0)  # the first items finish last
    return item, os.getpid()


def test_ordered_map_keeps_the_input_order_and_uses_the_workers() -> None:
    results = list(parallel.ordered_map(_slow_for_early_items, list(range(40)), workers=2))
    assert [item for item, _ in results] == list(range(40))
    assert os.getpid() not in {pid for _, pid in results}


PARENT = os.getpid()


def _dies_in_a_worker(item: int) -> int:
    if item == 5 and os.getpid() != PARENT:
        os._exit(1)  # a worker killed (out of memory, a crash in C code)
    return item * item


def test_a_dead_worker_costs_no_result() -> None:
    assert list(parallel.ordered_map(_dies_in_a_worker, list(range(30)), workers=2)) == [i * i for i in range(30)]


def _young_collection_threshold(_: object) -> int:
    return gc.get_threshold()[0]


@pytest.mark.parametrize("workers", [1, 2])
def test_garbage_collection_is_rare_while_mapping_and_restored_after(workers: int) -> None:
    before = gc.get_threshold()
    seen = list(parallel.ordered_map(_young_collection_threshold, [0, 1, 2, 3], workers=workers))
    assert seen == [parallel.GC_THRESHOLD] * 4 != [before[0]] * 4
    assert gc.get_threshold() == before


def _square(item: int) -> int:
    return item * item


def _first_quick_then_slow(item: int) -> int:
    if item:
        time.sleep(30)
    return item


def _pool_threads() -> list[str]:
    """The manager threads of live process pools (the thread that raced with the exit hook).

    Matched by class, not by name: a name test also caught unrelated thread pools
    (``ThreadPoolExecutor-0_0``) and would miss a manager thread whose name is the default.
    """
    import threading
    from concurrent.futures.process import _ExecutorManagerThread

    return [t.name for t in threading.enumerate() if isinstance(t, _ExecutorManagerThread)]


def test_a_pool_whose_last_result_was_taken_is_joined_at_once() -> None:
    """The pipeline takes exactly as many results as it asked for and drops the generator.

    The pool must then be shut down and joined right away: left running until interpreter exit,
    it raced with ``concurrent.futures``' exit hook (``OSError: [Errno 9] Bad file descriptor``).
    """
    import multiprocessing

    items = list(range(40))
    computed = parallel.ordered_map(_square, items, workers=2)
    assert [next(computed) for _ in items] == [i * i for i in items]
    computed.close()
    assert multiprocessing.active_children() == []
    assert _pool_threads() == []


def test_an_abandoned_pool_stops_its_workers_at_once() -> None:
    """Ctrl-C mid-run: the workers are stopped, not left to finish the chunks they hold (30 s each)."""
    import multiprocessing

    computed = parallel.ordered_map(_first_quick_then_slow, list(range(8)), workers=2)
    assert next(computed) == 0
    assert len(_pool_threads()) == 1  # the pool is running: the check below can fail
    computed.close()  # what an exception in the consumer (KeyboardInterrupt) does to the generator
    assert multiprocessing.active_children() == []
    assert _pool_threads() == []
