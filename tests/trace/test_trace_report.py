"""The torch-free half of `gradsafe trace`: event log, messages, findings, naming, bootstrap."""

from __future__ import annotations

import ast
import json
import sys
import textwrap
from pathlib import Path

import pytest

from gradsafe.trace import findings_from_events, run_traced
from gradsafe.trace.__main__ import main as trace_main
from gradsafe.trace.runtime import events, naming, scenario, torch_errors
from gradsafe.trace.runtime.events import Event, EventLog, EventWriter, Site, message, read_session


def _site(path: Path, line: int, col: int | None = None, end_col: int | None = None) -> Site:
    return Site(str(path), line, col, line if col is not None else None, end_col)


def _overwrite(path: Path, save_line: int, write_line: int, **fields: object) -> Event:
    defaults: dict[str, object] = {
        "code": events.SAVED_RESULT,
        "op": "mul_",
        "tensor": "float32[3]",
        "saved_by": "sigmoid",
    }
    return Event(site=_site(path, write_line), saved_at=_site(path, save_line), **{**defaults, **fields})  # type: ignore[arg-type]


# -- messages ---------------------------------------------------------------------------------


def test_overwrite_message_names_both_lines(tmp_path: Path) -> None:
    event = _overwrite(tmp_path / "model.py", 41, 57, name="s")
    assert message(event, tmp_path) == "`s` saved by `sigmoid` at model.py:41, overwritten by `mul_` at model.py:57"


def test_message_paths_outside_the_root_stay_absolute(tmp_path: Path) -> None:
    event = _overwrite(tmp_path / "lib" / "model.py", 1, 2)
    text = message(event, tmp_path / "project")
    assert f"at {(tmp_path / 'lib' / 'model.py').as_posix()}:1" in text
    assert text.startswith("a float32[3] tensor saved by")  # no name known


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (events.SAVED_INPUT, "`h` saved by `sigmoid` at m.py:1 as an input, overwritten by `mul_` at m.py:2"),
        (
            events.DATA_WRITE,
            "overwritten through `.data` by `mul_` at m.py:2: backward will silently use the new values",
        ),
        (events.DETACH_WRITE, "overwritten through a `.detach()` alias by `mul_` at m.py:2: backward will fail"),
    ],
)
def test_overwrite_messages_say_how(tmp_path: Path, code: str, expected: str) -> None:
    assert expected in message(_overwrite(tmp_path / "m.py", 1, 2, code=code, name="h"), tmp_path)


def test_error_messages_name_the_rule_and_the_module(tmp_path: Path) -> None:
    leaf = Event(code=events.LEAF, op="add_", site=_site(tmp_path / "m.py", 3), tensor="float32[3]", name="w")
    assert message(leaf, tmp_path) == "`w` is a leaf that requires grad, modified in place by `add_` at m.py:3"
    relu = Event(code=events.LEAF, op="relu", site=_site(tmp_path / "m.py", 3), tensor="float32[3]", via="ReLU")
    assert "by `relu` (in `ReLU`) at m.py:3" in message(relu, tmp_path)


def test_every_code_the_trace_reports_is_in_the_rule_catalogue() -> None:
    from gradsafe.rules import get_rule

    codes = {value for name, value in vars(events).items() if name.isupper() and isinstance(value, str)}
    assert len(codes) == 12
    assert all(get_rule(code) is not None for code in codes)


# -- counting and the event log --------------------------------------------------------------------


def test_iterations_of_one_hazard_are_one_event(tmp_path: Path) -> None:
    log = EventLog()
    first = _overwrite(tmp_path / "m.py", 1, 2, tensor="float32[3]")
    other_shape = _overwrite(tmp_path / "m.py", 1, 2, tensor="float32[7]")  # a different batch size
    elsewhere = _overwrite(tmp_path / "m.py", 1, 5)
    assert [log.record(e) for e in (first, other_shape, first, elsewhere)] == [1, 2, 3, 1]
    assert [(e.site.line, n) for e, n in log.items()] == [(2, 3), (5, 1)]  # type: ignore[union-attr]


def test_event_log_round_trip_merges_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    event = _overwrite(tmp_path / "m.py", 1, 2, name="s", via="ReLU", callers=(_site(tmp_path / "m.py", 9, 4, 12),))
    for pid, times in ((101, 3), (202, 1)):
        monkeypatch.setattr(events.os, "getpid", lambda pid=pid: pid)
        writer, log = EventWriter(tmp_path), EventLog()
        writer.process({"pid": pid})
        for _ in range(times):
            if log.record(event) == 1:
                writer.event(event)
        writer.counts(log)
    with open(tmp_path / "events-303.jsonl", "w", encoding="utf-8") as killed:  # died mid-line
        killed.write(json.dumps({"process": {"pid": 303}}) + '\n{"event": {"code"')
    records = read_session(tmp_path)
    assert records.events == [(event, 4)]
    assert [p["pid"] for p in records.processes] == [101, 202, 303]


# -- findings ------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _call_site(path: Path, line: int) -> Site:
    """The site of the (only) call on ``line``, with ast's byte columns as the runtime reports them."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    [call] = [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.lineno == line and isinstance(n.func, ast.Attribute)
    ]
    return Site(str(path), line, call.col_offset, call.end_lineno, call.end_col_offset)


def test_finding_has_character_columns_scope_and_related_save(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "net.py",
        """\
        class Net:
            def forward(self, x):
                größe = x.sigmoid()
                ä = größe.mul_(2)
                return ä
        """,
    )
    event = Event(
        code=events.SAVED_RESULT,
        op="mul_",
        site=_call_site(source, 4),
        tensor="float32[3]",
        name="größe",
        saved_by="sigmoid",
        saved_at=_call_site(source, 3),
    )
    [found] = findings_from_events([(event, 2)], tmp_path)
    line = source.read_text(encoding="utf-8").splitlines()[3]
    assert found.path == "net.py"
    assert (found.finding.span.line, found.finding.span.col) == (4, line.index("größe.mul_"))
    assert found.finding.span.end_col == len(line)
    assert found.finding.scope == "Net.forward"
    [related] = found.finding.related
    assert related.span.line == 3 and "sigmoid" in related.note
    assert found.count == 2
    assert found.format_line() == (
        f"net.py:4:{line.index('größe.mul_') + 1}: GS101 `größe` saved by `sigmoid` at net.py:3, "
        "overwritten by `mul_` at net.py:4 (seen 2 times)"
    )


def test_same_event_from_two_runs_is_one_finding(tmp_path: Path) -> None:
    source = _write(tmp_path / "m.py", "x = 1\ny = 2\n")
    event = _overwrite(source, 1, 2)
    [found] = findings_from_events([(event, 2), (event, 5)], tmp_path)
    assert found.count == 7
    assert (found.finding.span.line, found.finding.span.col, found.finding.span.end_col) == (2, 0, 5)  # whole line


def test_findings_sort_by_file_and_line(tmp_path: Path) -> None:
    a, b = _write(tmp_path / "a.py", "1\n2\n3\n"), _write(tmp_path / "b.py", "1\n")
    found = findings_from_events(
        [(_overwrite(b, 1, 1), 1), (_overwrite(a, 1, 3), 1), (_overwrite(a, 1, 2), 1)], tmp_path
    )
    assert [(f.path, f.finding.span.line) for f in found] == [("a.py", 2), ("a.py", 3), ("b.py", 1)]


# -- naming ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "kind", "expected"),
    [
        ("h.data.mul_(2)", ast.Call, "h.data"),
        ("h += 1", ast.AugAssign, "h"),
        ("out[:, 0] = 0", ast.Subscript, "out"),
        ("torch.add(a, b, out=buf)", ast.Call, "buf"),
        ("self.act(h)", ast.Call, "h"),
        ("scale_(self.h, 2.0)", ast.Call, "self.h"),
        ("model()", ast.Call, None),
    ],
)
def test_written_name_comes_from_the_expression(
    tmp_path: Path, statement: str, kind: type, expected: str | None
) -> None:
    path = _write(tmp_path / "m.py", f"def f():\n    {statement}\n")
    node = next(n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, kind) and n.lineno == 2)
    site = Site(str(path), node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)
    assert naming.written_name(site) == expected


def test_written_name_needs_an_exact_position(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.py", "y.mul_(2)\n")
    assert naming.written_name(Site(str(path), 1, 0, 1, 4)) is None
    assert naming.written_name(Site(str(path), 1)) is None


# -- torch's messages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("a leaf Variable that requires grad is being used in an in-place operation.", "GS201"),
        ("a leaf Variable that requires grad has been used in an in-place operation.", "GS201"),
        ("a view of a leaf Variable that requires grad is being used in an in-place operation.", "GS202"),
        (
            "Output 0 of Split is a view and is being modified inplace. This view is the output of a function "
            "that returns multiple views. Such functions do not allow the output views to be modified inplace.",
            "GS301",
        ),
        (
            "add(): functions with out=... arguments don't support automatic differentiation, but one of the "
            "arguments requires grad.",
            "GS302",
        ),
        ("A view was created in no_grad mode and is being modified inplace with grad mode enabled.", "GS303"),
        ("one of the variables needed for gradient computation has been modified by an inplace operation", None),
        ("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)", None),
    ],
)
def test_torch_errors_map_to_rules(text: str, code: str | None) -> None:
    assert torch_errors.classify(text) == code


# -- running ---------------------------------------------------------------------------------------


def test_a_shadowed_sitecustomize_still_runs(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    flag = tmp_path / "ran"
    _write(own / "sitecustomize.py", f"open({str(flag)!r}, 'w').close()\n")
    result = run_traced(
        [sys.executable, "-c", "import sys; print(sys.modules['sitecustomize'].__file__)"],
        root=tmp_path,
        env={"PYTHONPATH": str(own), "PATH": ""},
        capture=True,
        timeout=60,
    )
    assert flag.exists()
    assert result.stdout.decode().strip() == str(own / "sitecustomize.py")  # type: ignore[union-attr]
    assert result.returncode == 0 and not result.traced  # no torch: nothing to trace


def test_program_output_passes_through_unchanged(tmp_path: Path) -> None:
    script = _write(
        tmp_path / "echo.py", "import sys\nsys.stdout.write('out\\n'); sys.stderr.write('err\\n'); sys.exit(4)\n"
    )
    result = run_traced([sys.executable, str(script)], root=tmp_path, capture=True, timeout=60)
    assert (result.stdout, result.stderr, result.returncode) == (b"out\n", b"err\n", 4)


@pytest.mark.parametrize("spec", ["no_colon", "mod:", ":fn", "mod:not-an-identifier"])
def test_bad_scenarios_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="scenario"):
        scenario.parse(spec)


def test_command_or_scenario_is_required(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        run_traced(root=tmp_path)
    assert trace_main(["--root", str(tmp_path)]) == 2
