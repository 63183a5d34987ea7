"""``--shard K/N``: a deterministic partition of the files by path, whose shards add up to the whole run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from helpers.report_repo import invoke, make_repo, pin_passes

from gradsafe.run.sharding import Shard, ShardError, shard_number

PATHS = [f"pkg{i % 7}/module_{i}.py" for i in range(400)]


@pytest.mark.parametrize(("text", "shard"), [("2/4", Shard(2, 4)), (" 1 / 1 ", Shard(1, 1)), ("10/10", Shard(10, 10))])
def test_parse(text: str, shard: Shard) -> None:
    assert Shard.parse(text) == shard


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "a/b", "2", "2/4/8", "-1/4", ""])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ShardError):
        Shard.parse(text)


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_every_path_is_in_exactly_one_shard(count: int) -> None:
    shards = [Shard(index, count) for index in range(1, count + 1)]
    for path in PATHS:
        assert sum(shard.owns(path) for shard in shards) == 1


def test_shards_share_the_work() -> None:
    sizes = Counter(shard_number(path, 4) for path in PATHS)
    assert sorted(sizes) == [1, 2, 3, 4]
    assert all(60 <= size <= 140 for size in sizes.values()), sizes


def test_the_split_does_not_depend_on_the_process() -> None:
    """Python's ``hash`` of a string changes with PYTHONHASHSEED; the split must not."""
    code = "import sys; from gradsafe.run.sharding import shard_number; print([shard_number(p, 5) for p in sys.argv[1:]])"
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", code, *PATHS[:50]], capture_output=True, text=True, env=env, check=True
        )
        outputs.add(result.stdout)
    assert outputs == {f"{[shard_number(p, 5) for p in PATHS[:50]]}\n"}


def findings_and_errors(document: dict) -> list[tuple]:
    return [(f["path"], f["line"], f["column"], f["code"]) for f in document["findings"]] + [
        (e["path"], e["line"], e["column"], e["code"]) for e in document["errors"]
    ]


def test_the_shards_add_up_to_the_unsharded_run(tmp_path: Path, monkeypatch) -> None:
    pin_passes(monkeypatch)
    monkeypatch.chdir(make_repo(tmp_path / "repo"))
    args = ["check", "--format", "json", ".", "missing.py"]
    whole = json.loads(invoke(*args).stdout)
    parts = [json.loads(invoke(*args, "--shard", f"{k}/3").stdout) for k in (1, 2, 3)]
    union = [item for part in parts for item in findings_and_errors(part)]
    assert sorted(union) == sorted(findings_and_errors(whole))
    assert len(union) == len(findings_and_errors(whole))  # nothing reported twice (missing.py included)
    assert sum(part["summary"]["files"] for part in parts) == whole["summary"]["files"]
    assert sum(bool(part["findings"]) for part in parts) >= 2, "the fixture should spread over shards"


def test_shard_usage_errors(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.py").write_text("x = 1\n")
    bad = invoke("check", "--shard", "3/2", "m.py")
    assert bad.exit_code == 2 and bad.stderr.startswith("gradsafe: error: --shard 3/2")
    stdin = invoke("check", "--shard", "1/2", "-", input="x = 1\n")
    assert stdin.exit_code == 2 and "standard input" in stdin.stderr


def test_verbose_says_what_the_shard_holds(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text("x = 1\n")
    owned = sum(Shard(1, 2).owns(name) for name in ("a.py", "b.py", "c.py"))
    result = invoke("check", "--verbose", "--shard", "1/2", ".")
    assert f"gradsafe: shard 1/2: {owned} of 3 files\n" in result.stderr
    assert result.stdout == f"No hazards found ({owned} file{'s' if owned != 1 else ''} checked).\n"
