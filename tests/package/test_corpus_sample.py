"""The corpus guarantees on a sample of real code, so a regression shows up in CI.

``scripts/corpus_check.py`` runs the whole corpus (the installed torch package's 2,285 files);
this runs the same checks on a fixed random sample of it under both policies: no crash, every
rewrite compiles and passes the safety check, a second run changes nothing, and every file's
text encodes back to its exact bytes.
"""

from __future__ import annotations

import functools
import importlib.util
import random
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "corpus_check.py"
SAMPLE = 150


@functools.cache
def _corpus_check():
    """The script as a module, loaded once: the pool's workers find its functions by module name."""
    spec = importlib.util.spec_from_file_location("corpus_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["corpus_check"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.parametrize("policy, seed", [("default", 1), ("strict", 2)])
def test_a_sample_of_the_torch_sources_is_fixed_without_harm(policy: str, seed: int) -> None:
    if importlib.util.find_spec("torch") is None:
        pytest.skip("the corpus is the installed torch package's sources")
    corpus_check = _corpus_check()
    files = corpus_check.corpus_files([corpus_check.torch_sources()])
    assert len(files) > 1000, "the torch sources were not found"
    sample = sorted(random.Random(seed).sample(files, SAMPLE))
    summary = corpus_check.run(sample, policy=policy, jobs=2)
    assert summary.files == SAMPLE
    assert summary.counts == dict.fromkeys(corpus_check.FAILURES, 0), corpus_check.report(summary, policy)


def test_the_script_counts_a_failure_and_exits_1(tmp_path: Path, monkeypatch) -> None:
    """The checks can fail: a pass that breaks idempotence is counted, and the exit status says so."""
    corpus_check = _corpus_check()
    path = tmp_path / "model.py"
    path.write_text("def f(x):\n    y = x.exp()\n    y.add_(1)\n    return y\n")
    calls = []
    real = corpus_check.process_source

    def unstable(source, settings, *, fix, **kwargs):  # each run "fixes" the text once more
        result = real(source, settings, fix=fix, **kwargs)
        calls.append(source.text)
        from gradsafe.results import Edit

        result.edit = Edit(source, source.text + "# again\n")
        return result

    monkeypatch.setattr(corpus_check, "process_source", unstable)
    assert corpus_check.main([str(tmp_path), "--policy", "strict", "--jobs", "1"]) == 1
    summary = corpus_check.run([path], policy="strict", jobs=1)
    assert summary.counts["non_idempotent"] == 1 and len(calls) >= 2
