"""`gradsafe trace`: real programs, traced in a subprocess, must be reported at the right lines and
behave exactly as they do untraced.

Expected lines come from marker comments in the fixtures (`# <- save`, `# <- overwrite`), never
from numbers written here.  Every fixture program is run traced and untraced and the outputs are
compared byte for byte.
"""

from __future__ import annotations

import re
import subprocess
import sys
import weakref
from functools import cache
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from gradsafe.trace import TraceResult, run_traced  # noqa: E402
from gradsafe.trace.__main__ import main as trace_main  # noqa: E402
from gradsafe.trace.runtime.detector import Detector, InplaceHazard  # noqa: E402

pytestmark = pytest.mark.torch

FIXTURES = Path(__file__).parent.parent / "fixtures" / "trace"


def line_of(file: str, tag: str) -> int:
    """The line of ``file`` (in the fixtures) carrying the marker comment ``# <- tag``."""
    pattern = re.compile(rf"#\s*<-\s*{re.escape(tag)}\s*$")
    lines = (FIXTURES / file).read_text(encoding="utf-8").splitlines()
    hits = [number for number, text in enumerate(lines, 1) if pattern.search(text)]
    assert len(hits) == 1, f"{file} must mark exactly one line with '# <- {tag}', found {hits}"
    return hits[0]


@cache
def traced(*argv: str, stop_at_first: bool = False) -> TraceResult:
    return run_traced(
        [sys.executable, *argv], root=FIXTURES, cwd=FIXTURES, capture=True, stop_at_first=stop_at_first, timeout=120
    )


@cache
def untraced(*argv: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, *argv], cwd=FIXTURES, capture_output=True, timeout=120)


# Programs with one overwritten saved tensor: (script, code, file of the save, file of the write).
OVERWRITES = [
    ("saved_result.py", "GS101", "saved_result.py", "saved_result.py"),
    ("saved_input.py", "GS102", "saved_input.py", "saved_input.py"),
    ("other_module.py", "GS101", "other_module.py", "postprocess.py"),
    ("helper_argument.py", "GS101", "helper_argument.py", "helper_argument.py"),
    ("config_layer.py", "GS101", "config_layer.py", "config_layer.py"),
    ("repeated.py", "GS101", "repeated.py", "repeated.py"),
    ("data_write.py", "GS401", "data_write.py", "data_write.py"),
    ("detach_alias.py", "GS402", "detach_alias.py", "detach_alias.py"),
    ("retain_graph.py", "GS101", "retain_graph.py", "retain_graph.py"),
]


@pytest.mark.parametrize(("script", "code", "saved_in", "written_in"), OVERWRITES, ids=[o[0] for o in OVERWRITES])
def test_overwrite_is_reported_with_both_lines(script: str, code: str, saved_in: str, written_in: str) -> None:
    result = traced(script)
    assert result.traced
    [found] = result.findings
    saved, written = line_of(saved_in, "save"), line_of(written_in, "overwrite")
    assert (found.finding.code, found.path, found.finding.span.line) == (code, written_in, written)
    assert re.search(rf"saved by `\w+` at {re.escape(saved_in)}:{saved}\b", found.finding.message)
    assert re.search(rf"overwritten .*by `\w+`.* at {re.escape(written_in)}:{written}\b", found.finding.message)
    assert found.event.saved_at is not None and found.event.saved_at.line == saved
    assert found.count == (100 if script == "repeated.py" else 1)


def test_message_names_the_tensor_and_both_ops() -> None:
    [found] = traced("saved_result.py").findings
    saved, written = line_of("saved_result.py", "save"), line_of("saved_result.py", "overwrite")
    assert found.finding.message == (
        f"`s` saved by `sigmoid` at saved_result.py:{saved}, overwritten by `mul_` at saved_result.py:{written}"
    )
    assert found.format_line().startswith(f"saved_result.py:{written}:5: GS101 `s` saved by")


def test_write_inside_a_torch_module_names_the_module() -> None:
    [found] = traced("config_layer.py").findings
    assert found.event.via == "ReLU" and found.event.op == "relu_"
    assert found.finding.scope == "Net.forward"


def test_same_file_save_is_a_related_location() -> None:
    [found] = traced("saved_input.py").findings
    [related] = found.finding.related
    assert related.span.line == line_of("saved_input.py", "save")
    assert not traced("other_module.py").findings[0].finding.related  # the save is in another file


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("leaf.py", [("GS201", "overwrite:leaf"), ("GS202", "overwrite:view")]),
        ("chunk_view.py", [("GS301", "overwrite")]),
        ("out_grad.py", [("GS302", "overwrite")]),
    ],
)
def test_errors_torch_raises_at_the_call_are_reported(script: str, expected: list[tuple[str, str]]) -> None:
    findings = traced(script).findings
    assert [(f.finding.code, f.finding.span.line) for f in findings] == [
        (code, line_of(script, tag)) for code, tag in expected
    ]
    assert all(f.event.detail for f in findings)  # torch's own message is kept


def test_training_loop_with_optimizer_step_after_backward_is_clean() -> None:
    result = traced("training_loop.py")
    assert result.traced and result.returncode == 0
    assert result.findings == []


SCRIPTS = sorted(
    p.name for p in FIXTURES.glob("*.py") if p.name not in {"postprocess.py", "scenarios.py", "case_pytest_model.py"}
)


@pytest.mark.parametrize("script", SCRIPTS)
def test_traced_program_behaves_as_untraced(script: str) -> None:
    result, plain = traced(script), untraced(script)
    assert result.stdout == plain.stdout
    assert result.returncode == plain.returncode
    # Where torch raises, the traced program raises the same error.
    assert result.stderr.decode().strip().splitlines()[-1:] == plain.stderr.decode().strip().splitlines()[-1:]


def test_stop_at_first_raises_at_the_overwrite_line() -> None:
    result = traced("saved_input.py", stop_at_first=True)
    saved, written = line_of("saved_input.py", "save"), line_of("saved_input.py", "overwrite")
    stderr = result.stderr.decode()
    assert result.returncode != 0
    frames = re.findall(r'File "([^"]+)", line (\d+)', stderr)
    user_frames = [(Path(path).name, int(line)) for path, line in frames if Path(path).parent == FIXTURES]
    assert user_frames[-1] == ("saved_input.py", written)
    last = stderr.strip().splitlines()[-1]
    assert "InplaceHazard" in last
    assert f"saved_input.py:{saved}" in last and f"saved_input.py:{written}" in last
    assert "backward failed" not in result.stdout.decode()  # the program did not go on


def test_stop_at_first_on_a_leaf_replaces_torch_error() -> None:
    result = traced("leaf.py", stop_at_first=True)
    last = result.stderr.decode().strip().splitlines()[-1]
    assert "InplaceHazard" in last and f"leaf.py:{line_of('leaf.py', 'overwrite:leaf')}" in last
    assert result.stdout == b""  # `except RuntimeError` in the program does not swallow it


def test_pytest_run_is_traced() -> None:
    result = traced("-m", "pytest", "-q", "-p", "no:cacheprovider", "--noconftest", "case_pytest_model.py")
    assert result.returncode == 1  # the hazardous test fails at backward, the clean one passes
    [found] = result.findings
    assert (found.path, found.finding.span.line) == (
        "case_pytest_model.py",
        line_of("case_pytest_model.py", "overwrite"),
    )
    assert found.event.saved_at is not None
    assert found.event.saved_at.line == line_of("case_pytest_model.py", "save")
    # The write is inside a helper: the call that handed it the tensor comes with it.
    assert [caller.line for caller in found.event.callers] == [line_of("case_pytest_model.py", "call")]


@pytest.mark.parametrize("spec", ["scenarios.py:overwrite", "scenarios:overwrite"])
def test_scenario_is_called(spec: str) -> None:
    result = run_traced(scenario=spec, root=FIXTURES, cwd=FIXTURES, capture=True, timeout=120)
    assert result.stdout == b"scenario ran\n"
    [found] = result.findings
    assert (found.finding.code, found.finding.span.line) == ("GS101", line_of("scenarios.py", "overwrite"))


def test_clean_scenario_has_no_findings() -> None:
    result = run_traced(scenario="scenarios.py:clean", root=FIXTURES, cwd=FIXTURES, capture=True, timeout=120)
    assert result.traced and result.returncode == 0 and result.findings == []


def test_program_without_torch_is_not_traced() -> None:
    result = traced("no_torch.py")
    assert not result.traced and result.findings == [] and result.stdout == b"hello\n"


def test_module_entry_point_prints_findings_and_exits_1(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)
    assert trace_main(["--root", str(FIXTURES), "--", sys.executable, "saved_input.py"]) == 1
    out = capfd.readouterr().out
    assert f"saved_input.py:{line_of('saved_input.py', 'overwrite')}:1: GS102 " in out


def test_module_entry_point_passes_the_program_status_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    assert trace_main(["--", sys.executable, "-c", "import torch, sys; sys.exit(3)"]) == 3


# -- in-process: the detector against torch itself ------------------------------------------------


class Twice(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        out = x * 2
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[no-untyped-def]
        x, out = ctx.saved_tensors
        return grad * 2 + 0 * out * x


def _leaf() -> torch.Tensor:
    return torch.randn(3, requires_grad=True)


def _saved_result() -> None:
    y = torch.sigmoid(_leaf() * 1)
    y.mul_(2)
    y.sum().backward()


def _saved_input() -> None:
    x, w = _leaf() * 1, _leaf()
    y = x * w
    x.add_(1)
    y.sum().backward()


def _leaf_under_no_grad() -> None:
    x, w = _leaf(), _leaf()
    loss = (w * x).sum()
    with torch.no_grad():
        w.add_(1)
    loss.backward()


def _step_between_forward_and_backward() -> None:
    layer = torch.nn.Linear(2, 3)
    loss = layer(torch.randn(4, 2, requires_grad=True)).sum()
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    loss.backward(retain_graph=True)
    optimizer.step()
    loss.backward()


def _foreach_step_between_forward_and_backward() -> None:
    layer = torch.nn.Linear(2, 3)
    loss = layer(torch.randn(4, 2, requires_grad=True)).sum()
    for p in layer.parameters():
        p.grad = torch.ones_like(p)
    torch.optim.SGD(layer.parameters(), lr=0.1, foreach=True).step()
    loss.backward()


def _indexed_assignment() -> None:
    y = _leaf().exp()
    y[0] = 10
    y.sum().backward()


def _anomaly_mode() -> None:
    with torch.autograd.detect_anomaly():
        _saved_result()


def _inplace_on_view() -> None:
    x = torch.randn(4, requires_grad=True) * 1
    v = x[:2]
    v.relu_()
    v.mul_(2)
    x.sum().backward()


def _custom_function_output() -> None:
    out = Twice.apply(_leaf() * 1)
    out.mul_(3)
    out.sum().backward()


def _double_dtype_transposed() -> None:
    y = torch.tanh(torch.randn(2, 3, dtype=torch.float64, requires_grad=True) * 1)
    y.t().add_(1)
    y.sum().backward()


def _layer_norm_input() -> None:
    h = torch.randn(3, 4, requires_grad=True) * 1
    y = torch.nn.functional.layer_norm(h, (4,))
    h.add_(1)
    y.sum().backward()


BACKWARD_FAILURES = [
    _saved_result,
    _saved_input,
    _leaf_under_no_grad,
    _step_between_forward_and_backward,
    _foreach_step_between_forward_and_backward,
    _indexed_assignment,
    _anomaly_mode,
    _inplace_on_view,
    _custom_function_output,
    _double_dtype_transposed,
    _layer_norm_input,
]


def _error_of(case) -> str:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    with pytest.raises(RuntimeError) as raised:
        case()
    return str(raised.value)


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")
@pytest.mark.filterwarnings("ignore:Error detected in")
@pytest.mark.parametrize("case", BACKWARD_FAILURES, ids=[c.__name__.strip("_") for c in BACKWARD_FAILURES])
def test_backward_fails_with_torch_own_message(case, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Saved-tensor hooks switch torch's version check off; the detector must redo it verbatim."""
    expected = _error_of(case)
    assert expected.startswith("one of the variables needed for gradient computation")
    with Detector(tmp_path):
        assert _error_of(case) == expected


def test_foreach_optimizer_step_is_a_versioned_write(tmp_path: Path) -> None:
    """Torch drops foreach ops' version bump under a dispatch mode; the detector restores it."""
    with Detector(tmp_path) as detector, pytest.raises(RuntimeError, match="modified by an inplace operation"):
        _foreach_step_between_forward_and_backward()
    [(event, _)] = detector.events
    assert (event.code, event.op, event.saved_by) == ("GS102", "foreach_add_", "addmm")


def test_view_made_under_no_grad_is_reported(tmp_path: Path) -> None:
    with Detector(tmp_path) as detector:
        h = torch.randn(4, requires_grad=True) * 2
        with torch.no_grad():
            head = h[:2]
        with pytest.raises(RuntimeError, match="no_grad mode"):
            head.mul_(3)
    assert [event.code for event, _ in detector.events] == ["GS303"]


def _training_run() -> tuple[list[float], list[torch.Tensor]]:
    """A model touching the tricky parts: embedding max_norm (a hidden in-place renorm), LSTM,
    batch norm (writes the running stats it saves), attention, checkpointing (its own
    saved-tensor hooks), a custom Function, double backward (a gradient penalty) and Adam."""
    torch.manual_seed(0)
    emb = torch.nn.Embedding(10, 8, max_norm=1.0)
    lstm = torch.nn.LSTM(8, 8, batch_first=True)
    norm = torch.nn.BatchNorm1d(8)
    attention = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    head = torch.nn.Linear(8, 8)
    params = [p for m in (emb, lstm, norm, attention, head) for p in m.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-2)
    tokens = torch.randint(0, 10, (4, 5))
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        e = emb(tokens)
        h, _ = lstm(e)
        h = norm(h.reshape(-1, 8)).reshape(4, 5, 8)
        a, _ = attention(h, h, h)
        z = torch.utils.checkpoint.checkpoint(lambda t: torch.tanh(head(t)), a, use_reentrant=False)
        loss = Twice.apply(z).pow(2).mean()
        (penalty,) = torch.autograd.grad(loss, e, create_graph=True)
        total = loss + penalty.pow(2).sum()
        total.backward()
        optimizer.step()
        losses.append(total.item())
    return losses, [p.detach().clone() for p in params]


def test_detector_changes_no_value_and_reports_nothing_on_correct_code() -> None:
    losses, params = _training_run()
    with Detector(Path(__file__).parent) as detector:
        traced_losses, traced_params = _training_run()
    assert traced_losses == losses
    assert all(torch.equal(a, b) for a, b in zip(params, traced_params, strict=True))
    assert detector.events == []


def test_forward_without_backward_leaks_nothing() -> None:
    def forward() -> list[weakref.ref[torch.Tensor]]:
        y = torch.sigmoid(torch.randn(100, requires_grad=True) * 2)
        return [weakref.ref(y), weakref.ref(Twice.apply(y))]

    with Detector(Path(__file__).parent) as detector:
        refs = [ref for _ in range(20) for ref in forward()]
        assert all(ref() is None for ref in refs)
        assert detector.index == {}


def test_functorch_transforms_still_run() -> None:
    """`torch.func.grad` refuses to run under saved-tensor hooks; the detector steps aside."""
    w = torch.randn(5)
    expected = torch.func.grad(lambda v: (torch.sin(v) * v).sum())(w)
    with Detector(Path(__file__).parent):
        got = torch.func.grad(lambda v: (torch.sin(v) * v).sum())(w)
    assert torch.equal(got, expected)


def test_in_process_detector_reports_and_stops(tmp_path: Path) -> None:
    source = tmp_path / "gate.py"
    source.write_text(
        "import torch\n\ndef gate(x):\n    y = torch.exp(x)\n    y += 1\n    return y\n", encoding="utf-8"
    )
    namespace: dict[str, object] = {}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    gate = namespace["gate"]
    with Detector(tmp_path) as detector:
        for _ in range(3):
            gate(torch.randn(2, requires_grad=True))  # type: ignore[operator]
    [(event, count)] = detector.events
    assert (event.code, event.name, event.site.line, event.saved_at.line, count) == ("GS101", "y", 5, 4, 3)  # type: ignore[union-attr]
    with Detector(tmp_path, stop_at_first=True), pytest.raises(InplaceHazard, match=r"gate\.py:4.*gate\.py:5"):
        gate(torch.randn(2, requires_grad=True))  # type: ignore[operator]
