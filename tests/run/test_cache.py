"""The result cache: a hit gives exactly what the analysis gave, and anything that could change it misses."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

import gradsafe.run.pipeline
from gradsafe.run.cache import DIRECTORY_ENV, DIRECTORY_NAME, ResultCache, tool_fingerprint
from gradsafe.cli import app
from gradsafe.settings.config import FileConfig, Overrides, load_settings, resolve
from gradsafe.files.discovery import SourcePath
from gradsafe.errors import FileError
from gradsafe.findings import Finding, Fix, FixKind, FixSafety, Related, Span
from gradsafe.transforms.params import HelperReturnParams, ParameterLocalParams
from gradsafe.results import FileResult
from gradsafe.run.pipeline import process_path, process_paths
from gradsafe.files.source import content_hash

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HAZARD = (FIXTURES / "reports" / "repo" / "pkg" / "augassign.py").read_text()


@pytest.fixture
def settings(tmp_path: Path):
    return load_settings([tmp_path], Overrides(), isolated=True)


@pytest.fixture
def cache(tmp_path: Path) -> ResultCache:
    return ResultCache(tmp_path / "cache")


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The display names of the files the analysis runs on, in order (files as read: not the texts
    a dry run of the fix loop rewrites them to, which ``check`` analyses to settle what is fixable)."""
    seen: list[str] = []
    analyse = gradsafe.run.pipeline.analyse

    def counting(source, tree=None, **options):  # noqa: ANN001, ANN003, ANN202 - mirrors analyse()
        if source.path is None or not Path(source.path).exists() or Path(source.path).read_text() == source.text:
            seen.append(source.display)
        return analyse(source, tree, **options)

    monkeypatch.setattr(gradsafe.run.pipeline, "analyse", counting)
    return seen


def write(path: Path, text: str) -> SourcePath:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return SourcePath(path, path.name)


def check(item: SourcePath, settings, cache: ResultCache | None) -> FileResult:
    return process_path(item, settings, fix=False, cache=cache)


def test_a_hit_returns_what_the_analysis_returned_without_analysing(
    tmp_path: Path, settings, cache: ResultCache, analyses: list[str]
) -> None:
    items = [write(tmp_path / "hazard.py", HAZARD), write(tmp_path / "clean.py", "x = 1\n"),
             write(tmp_path / "broken.py", "def f(:\n")]
    first = list(process_paths(items, settings, fix=False, cache=cache))
    assert analyses == ["hazard.py", "clean.py"]  # broken.py does not parse
    assert [f.code for f in first[0].findings] == ["GS101"] and first[2].errors[0].code == "E999"
    second = list(process_paths(items, settings, fix=False, cache=cache))
    assert analyses == ["hazard.py", "clean.py"]
    assert second == first
    assert [r.display for r in second] == ["hazard.py", "clean.py", "broken.py"]


def test_a_copy_hits_and_gets_its_own_name(tmp_path: Path, settings, cache: ResultCache, analyses) -> None:
    original = check(write(tmp_path / "a" / "broken.py", "def f(:\n"), settings, cache)
    copy = check(SourcePath(tmp_path / "a" / "broken.py", "b/renamed.py"), settings, cache)
    assert analyses == [] and copy.display == "b/renamed.py"
    assert copy.errors == [dataclasses.replace(original.errors[0], path="b/renamed.py")]


def test_a_changed_file_misses(tmp_path: Path, settings, cache: ResultCache, analyses: list[str]) -> None:
    item = write(tmp_path / "m.py", HAZARD)
    assert len(check(item, settings, cache).findings) == 1
    item.path.write_text(HAZARD.replace("h += 1", "h = h + 1"))
    assert check(item, settings, cache).findings == []
    assert analyses == ["m.py", "m.py"]


@pytest.mark.parametrize(
    "other",
    [
        Overrides(policy="strict"),
        Overrides(ignore=["GS101"]),
        Overrides(select=["GS2"]),
    ],
    ids=["policy", "ignore", "select"],
)
def test_a_changed_setting_misses(
    tmp_path: Path, settings, cache: ResultCache, analyses: list[str], other: Overrides
) -> None:
    item = write(tmp_path / "m.py", HAZARD)
    check(item, settings, cache)
    check(item, load_settings([tmp_path], other, isolated=True), cache)
    assert analyses == ["m.py", "m.py"]
    check(item, settings, cache)
    assert analyses == ["m.py", "m.py"]  # and the first settings still hit


def test_per_file_ignores_and_confirmed_sites_are_part_of_the_key(
    tmp_path: Path, settings, cache: ResultCache, analyses: list[str]
) -> None:
    item = write(tmp_path / "m.py", HAZARD)
    other = write(tmp_path / "n.py", HAZARD)
    per_file = resolve(FileConfig(tmp_path / "pyproject.toml", {"per-file-ignores": {"m.py": ["GS1"]}}), Overrides())
    assert len(check(item, settings, cache).findings) == 1
    assert check(item, per_file, cache).findings == []
    assert len(check(other, per_file, cache).findings) == 1  # not ignored there: same key as the first run
    confirmed = dataclasses.replace(settings, confirmed=((str(item.path), ((6, "GS101"),)),))
    check(item, confirmed, cache)
    assert analyses == ["m.py", "m.py", "m.py"]


def test_another_tool_version_or_op_table_misses(tmp_path: Path, settings, analyses: list[str]) -> None:
    item = write(tmp_path / "m.py", HAZARD)
    check(item, settings, ResultCache(tmp_path / "cache", tool="one"))
    check(item, settings, ResultCache(tmp_path / "cache", tool="one"))
    check(item, settings, ResultCache(tmp_path / "cache", tool="two"))
    assert analyses == ["m.py", "m.py"]


def test_the_tool_fingerprint_covers_the_version_the_code_and_the_op_table(tmp_path: Path) -> None:
    package = tmp_path / "codemod"
    (package / "analysis" / "data").mkdir(parents=True)
    (package / "cli.py").write_text("print('hello')\n")
    table = package / "analysis" / "data" / "optable.json"
    table.write_text('{"ops": {}}')
    (package / "README.md").write_text("not code")
    base = tool_fingerprint(package, "1.0")
    assert tool_fingerprint(package, "1.0") == base
    assert tool_fingerprint(package, "1.1") != base
    (package / "README.md").write_text("still not code")
    assert tool_fingerprint(package, "1.0") == base
    table.write_text('{"ops": {"torch.relu": {}}}')
    with_new_table = tool_fingerprint(package, "1.0")
    assert with_new_table != base
    (package / "cli.py").write_text("print('hello, world')\n")
    assert tool_fingerprint(package, "1.0") not in (base, with_new_table)
    assert len(tool_fingerprint()) == 32  # the installed package's


def test_every_field_of_a_finding_survives_the_round_trip(tmp_path: Path, settings, cache: ResultCache) -> None:
    span = Span(3, 4, 5, 6)
    finding = Finding(
        code="GS502",
        message="`scale_(h)` mutates `h` ... ünïcode",
        span=span,
        related=(Related(Span(1, 0, 1, 9), "saved here"),),
        fix=Fix(FixKind.HELPER_RETURN, Span(1, 0, 9, 0), "make it return", FixSafety.NEEDS_VERIFICATION,
                HelperReturnParams(helper="scale_", param="h", calls=(span, Span(7, 1, 7, 2)), index=0)),
        unfixable_reason=None,
        scope="Net.forward",
    )
    local = Fix(FixKind.PARAMETER_LOCAL, span, "use a local", FixSafety.NEEDS_VERIFICATION,
                ParameterLocalParams(attr="self.w", local="w", method=None, operator="+=", function=span))
    result = FileResult("m.py", findings=[finding, dataclasses.replace(finding, fix=None, unfixable_reason="why"),
                                          dataclasses.replace(finding, fix=local)],
                        errors=[FileError("m.py", "E999", "SyntaxError: bad", 2, 3)])
    cache.store("digest", tmp_path / "m.py", settings, result)
    loaded = cache.load("digest", tmp_path / "m.py", "m.py", settings)
    assert loaded == result
    assert loaded.findings[0].fix.params == finding.fix.params  # tuples stay tuples, spans stay spans
    assert type(loaded.findings[0].fix.params.calls) is tuple


def test_internal_errors_and_unknown_types_are_not_stored(tmp_path: Path, settings, cache: ResultCache) -> None:
    internal = FileResult("m.py", errors=[FileError("m.py", "E001", "internal error", detail="Traceback")])
    cache.store("a", tmp_path / "m.py", settings, internal)
    odd = Finding("GS101", "m", Span(1, 0, 1, 1), fix=Fix(FixKind.CLONE, Span(1, 0, 1, 1), "d", params={"name": {1, 2}}))
    cache.store("b", tmp_path / "m.py", settings, FileResult("m.py", findings=[odd]))
    assert cache.load("a", tmp_path / "m.py", "m.py", settings) is None
    assert cache.load("b", tmp_path / "m.py", "m.py", settings) is None
    assert not any(p.suffix == ".json" for p in cache.directory.rglob("*"))


@pytest.mark.parametrize(
    "garbage",
    [b"", b'{"findings": [', b"\x80\x81 not utf-8", b"[]", b'{"findings": [["GS101"]], "errors": []}',
     b'{"findings": [], "errors": [["E999", "m", 1]]}', b'{"findings": [["GS1", "m", [1, 2, 3, 4], "sure", [],'
     b' null, null, ""]], "errors": []}', b"[" * 100_000],
    ids=["empty", "truncated", "binary", "list", "short-finding", "short-error", "bad-enum", "deep"],
)
def test_a_corrupt_entry_is_a_miss_and_is_replaced(
    tmp_path: Path, settings, cache: ResultCache, analyses: list[str], garbage: bytes
) -> None:
    item = write(tmp_path / "m.py", HAZARD)
    expected = check(item, settings, cache)
    Path(cache.entry(cache.key(content_hash(item.path.read_bytes()), item.path, settings))).write_bytes(garbage)
    assert check(item, settings, cache) == expected
    assert analyses == ["m.py", "m.py"]
    assert check(item, settings, cache) == expected  # the entry was written again
    assert analyses == ["m.py", "m.py"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_in_place_of_an_entry_is_a_miss(tmp_path: Path, settings, cache: ResultCache) -> None:
    item = write(tmp_path / "m.py", HAZARD)
    expected = check(item, settings, cache)
    entry = Path(cache.entry(cache.key(content_hash(item.path.read_bytes()), item.path, settings)))
    entry.unlink()
    os.mkfifo(entry)  # opening it for reading would wait for a writer forever
    results: list[FileResult] = []
    reader = threading.Thread(target=lambda: results.append(check(item, settings, cache)), daemon=True)
    reader.start()
    reader.join(30)
    assert results == [expected]
    assert entry.is_file()  # replaced by a real entry


def test_an_unwritable_cache_is_no_error(tmp_path: Path, settings, analyses: list[str]) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    cache = ResultCache(blocker / "cache")
    item = write(tmp_path / "m.py", HAZARD)
    assert len(check(item, settings, cache).findings) == 1
    assert len(check(item, settings, cache).findings) == 1
    assert analyses == ["m.py", "m.py"]


def _store_and_load(args: tuple[Path, int]) -> list[bool]:
    directory, seed = args
    settings = load_settings([directory], Overrides(), isolated=True)
    cache = ResultCache(directory / "cache", tool="concurrent")
    outcomes = []
    for round_ in range(40):
        index = (seed + round_) % 8
        result = FileResult("m.py", findings=[Finding("GS101", "x" * 5000 + str(index), Span(index + 1, 0, 1, 1))])
        cache.store(f"digest{index}", directory / "m.py", settings, result)
        loaded = cache.load(f"digest{index}", directory / "m.py", "m.py", settings)
        outcomes.append(loaded == result)
    return outcomes


def test_concurrent_writers_never_leave_a_partial_entry(tmp_path: Path) -> None:
    with ProcessPoolExecutor(4) as pool:
        outcomes = [ok for results in pool.map(_store_and_load, [(tmp_path, seed) for seed in range(8)]) for ok in results]
    assert all(outcomes) and len(outcomes) == 320
    assert not [p for p in (tmp_path / "cache").rglob("*.tmp")]


# ---------------------------------------------------------------------- through the command line
@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with a configuration file, the cache in its default place, run from a subdirectory."""
    monkeypatch.delenv(DIRECTORY_ENV)
    (tmp_path / "pyproject.toml").write_text("[tool.gradsafe]\n")
    shutil.copytree(FIXTURES / "reports" / "repo", tmp_path / "src")
    monkeypatch.chdir(tmp_path / "src")
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def test_the_cache_lives_in_the_project_root_and_marks_itself(project: Path) -> None:
    first = invoke("check", ".")
    assert first[0] == 1
    directory = project / DIRECTORY_NAME
    assert (directory / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (directory / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert len(list(directory.glob("v1/*/*.json"))) == 6
    assert invoke("check", ".") == first


def test_no_cache_neither_reads_nor_writes(project: Path, analyses: list[str]) -> None:
    assert invoke("check", "--no-cache", ".")[0] == 1
    assert not (project / DIRECTORY_NAME).exists()
    assert invoke("check", ".")[0] == 1
    # Plant a different result for one file: a run that reads the cache shows it, --no-cache does not.
    cache = ResultCache.for_settings(load_settings([project], Overrides()))
    path = project / "src" / "pkg" / "clean.py"
    planted = FileResult("pkg/clean.py", findings=[Finding("GS101", "planted", Span(1, 0, 1, 1))])
    cache.store(content_hash(path.read_bytes()), path.resolve(), load_settings([project], Overrides()), planted)
    assert "planted" in invoke("check", ".")[1]
    count = len(analyses)
    assert "planted" not in invoke("check", "--no-cache", ".")[1]
    assert len(analyses) == count + 6


def test_a_warm_diff_analyses_only_the_files_with_findings(project: Path, analyses: list[str]) -> None:
    cold = invoke("diff", "--no-verify", ".")
    analysed = len(analyses)
    assert invoke("diff", "--no-verify", ".") == cold
    warm = analyses[analysed:]
    assert "pkg/clean.py" not in warm and warm  # the fix loop re-analyses the files it rewrites
    assert set(warm) <= {"pkg/augassign.py", "pkg/ema.py", "pkg/leaf_view.py", "pkg/saved_input.py",
                         "models dir/helper.py"}


def test_git_ignores_the_cache(project: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    assert invoke("check", ".")[0] == 1
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=project, check=True,
                            capture_output=True, text=True).stdout
    assert "src/pkg/ema.py" in status and DIRECTORY_NAME not in status


def test_the_environment_variable_moves_the_cache(project: Path, tmp_path_factory, monkeypatch) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv(DIRECTORY_ENV, "~/ci-cache")  # as a CI file sets it, with no shell to expand `~`
    elsewhere = home / "ci-cache"
    assert invoke("check", ".")[0] == 1
    assert not (project / DIRECTORY_NAME).exists()
    assert len(list(elsewhere.glob("v1/*/*.json"))) == 6
    assert json.loads(invoke("check", "--format", "json", ".")[1])["summary"]["findings"] == 6


# ---------------------------------------------------------------------- the file index
def _age(path: Path, seconds: float = 60.0) -> None:
    """Make ``path`` look modified ``seconds`` ago (older than the racy window)."""
    old = path.stat().st_mtime - seconds
    os.utime(path, (old, old))


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files ``process_paths`` reads to hash them, by name."""
    seen: list[str] = []
    read = gradsafe.run.pipeline.read_bytes

    def counting(path):  # noqa: ANN001, ANN202
        seen.append(Path(path).name)
        return read(path)

    monkeypatch.setattr(gradsafe.run.pipeline, "read_bytes", counting)
    return seen


def test_an_unchanged_file_is_not_even_read_on_a_warm_run(
    tmp_path: Path, settings, cache: ResultCache, monkeypatch
) -> None:
    items = [write(tmp_path / "a.py", HAZARD), write(tmp_path / "b.py", "x = 1\n")]
    for item in items:
        _age(item.path)
    cold = list(process_paths(items, settings, fix=False, cache=cache))
    reads = _reads(monkeypatch)
    warm = list(process_paths(items, settings, fix=False, cache=cache))
    assert reads == [] and warm == cold


def test_an_edit_that_keeps_the_size_and_the_modification_time_is_still_seen(
    tmp_path: Path, settings, cache: ResultCache, monkeypatch
) -> None:
    item = write(tmp_path / "a.py", HAZARD)
    _age(item.path)
    assert list(process_paths([item], settings, fix=False, cache=cache))[0].findings
    status = item.path.stat()
    # Same length, no hazard any more, and the modification time put back: only the change time moves.
    item.path.write_text("#" * (len(HAZARD.encode()) - 1) + "\n")
    os.utime(item.path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert item.path.stat().st_size == status.st_size and item.path.stat().st_mtime_ns == status.st_mtime_ns
    reads = _reads(monkeypatch)
    assert list(process_paths([item], settings, fix=False, cache=cache))[0].findings == []
    assert reads == ["a.py"]


def test_a_file_modified_within_the_racy_window_is_not_indexed(
    tmp_path: Path, settings, cache: ResultCache, monkeypatch
) -> None:
    item = write(tmp_path / "a.py", HAZARD)  # just written: another edit could keep its stat
    list(process_paths([item], settings, fix=False, cache=cache))
    reads = _reads(monkeypatch)
    list(process_paths([item], settings, fix=False, cache=cache))
    assert reads == ["a.py"]


def test_a_damaged_index_is_ignored_and_rewritten(tmp_path: Path, settings, cache: ResultCache) -> None:
    from gradsafe.run.cache import FileIndex

    item = write(tmp_path / "a.py", HAZARD)
    _age(item.path)
    index = FileIndex(cache.directory).path
    index.parent.mkdir(parents=True)
    index.write_text('{"truncated": [1, 2')
    assert list(process_paths([item], settings, fix=False, cache=cache))[0].findings
    assert str(item.path.resolve()) in json.loads(index.read_text())


def test_the_default_fingerprint_covers_the_whole_engine_and_the_passes() -> None:
    """Every analysis, rule and pass file is part of the tool's identity (a cache entry written by
    another version of any of them is never read)."""
    import gradsafe
    import gradsafe.run.cache as cache_module

    engine = Path(gradsafe.__file__).resolve().parent
    covered = cache_module._PACKAGES
    assert covered[0] == engine
    for module in ("analysis/hazards.py", "rules/__init__.py", "analysis/data/optable.json"):
        assert (engine / module).is_file()
    passes = Path(__import__("importlib").util.find_spec("gradsafe.transforms").submodule_search_locations[0]).resolve()
    assert any(passes == folder or folder in passes.parents for folder in covered)
