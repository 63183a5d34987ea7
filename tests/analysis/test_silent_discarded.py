"""GS601 (a discarded out-of-place result) and unsafe fixes, end to end.

The static half: which calls are pure comes from the op table; what is reported and what is not.
The torch half: every ``tests/fixtures/assign_back`` pair really computes something else than its
hand-written ``reference()`` before the fix, and exactly the reference after it.  The command line:
unsafe fixes are applied only with ``--unsafe-fixes`` (or ``unsafe-fixes = true``), and every
output says which fixes are unsafe.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from gradsafe.analysis import analyse
from gradsafe.analysis.pure_calls import pure_calls
from gradsafe.cli import app
from gradsafe.files.source import SourceFile
from gradsafe.findings import Applicability
from gradsafe.fix.loop import fix_text
from gradsafe.rules import get_rule

PAIRS = Path(__file__).parent.parent / "fixtures" / "assign_back"
CASES = sorted(p for p in PAIRS.glob("*.py") if not p.name.endswith(".fixed.py"))
FIXED = [p for p in CASES if p.with_name(p.stem + ".fixed.py").exists()]


def findings(code: str) -> list[tuple[int, str]]:
    source = SourceFile.from_text(textwrap.dedent(code))
    return [(f.span.line, f.code) for f in analyse(source) if f.code == "GS601"]


# ---------------------------------------------------------------------- the op table
def test_the_pure_calls_come_from_the_op_table() -> None:
    pure = pure_calls()
    for method in ("masked_fill", "clamp", "add", "relu", "scatter", "index_fill", "float", "to", "detach", "contiguous"):
        assert method in pure.methods, method
    for function in ("torch.clamp", "torch.nn.functional.normalize", "torch.tanh", "torch.nn.functional.relu"):
        assert function in pure.functions, function
    assert not {m for m in pure.methods if m.endswith("_")}, "an in-place twin is not pure"
    assert not {"item", "tolist", "size", "numel", "copy_", "backward"} & pure.methods
    assert pure.twins["clamp"] == "clamp_" and pure.twins["index_fill"] == "index_fill_"


# ---------------------------------------------------------------------- what is reported
def test_a_discarded_result_on_a_known_tensor_is_reported() -> None:
    code = """
        import torch

        def f(x):
            h = torch.sigmoid(x)
            h.clamp(0, 0.5)
            torch.relu(h)
            return h
    """
    assert findings(code) == [(6, "GS601"), (7, "GS601")]


@pytest.mark.parametrize(
    "code",
    [
        # a parameter that only the discarded call itself shows to be a tensor
        "def f(values):\n    values.float()\n    return values\n",
        "def f(words):\n    words.copy()\n    return words\n",
        # a module: `to`/`float` move it and return it
        "def f(model, x, device):\n    model.to(device)\n    model.float()\n    return model(x)\n",
        # an unknown value (a data frame, an array)
        "def f(frame):\n    frame.clip(0, 1)\n    return frame\n",
        # the result is used
        "import torch\ndef f(x):\n    h = torch.sigmoid(x)\n    return h.clamp(0, 1)\n",
        # the in-place twin
        "import torch\ndef f(x):\n    h = torch.sigmoid(x)\n    h.clamp_(0, 1)\n    return h\n",
        # a flag that writes
        "import torch\nimport torch.nn.functional as F\ndef f(x):\n    h = torch.sigmoid(x)\n"
        "    F.relu(h, inplace=True)\n    return h\n",
        # a value read as a device synchronisation
        "import torch\ndef f(x):\n    h = torch.sigmoid(x)\n    h.item()\n    return h\n",
        # run for its own sake: expected to raise, profiled, in a try body, in a test or a benchmark
        "import torch, pytest\ndef f(x):\n    h = torch.sigmoid(x)\n    with pytest.raises(RuntimeError):\n"
        "        h.add(torch.ones(7))\n    return h\n",
        "import torch\ndef f(x):\n    h = torch.sigmoid(x)\n    with torch.profiler.profile():\n        torch.add(h, h)\n"
        "    return h\n",
        "import torch\ndef f(x):\n    h = torch.sigmoid(x)\n    try:\n        h.to('cuda')\n    except RuntimeError:\n"
        "        pass\n    return h\n",
        "import torch\ndef test_relu_runs():\n    h = torch.randn(3)\n    h.relu()\n    assert h.shape == (3,)\n",
        "import torch\ndef bench_clamp(n):\n    h = torch.randn(n)\n    for _ in range(10):\n        h.clamp(0, 1)\n"
        "    return h\n",
        # sets and stores `add`; a parameter whose only tensor-looking use is a method call
        "def f(used, store, key):\n    used.add(key)\n    used.add(key + 1)\n    n = store.add(key, 0)\n"
        "    store.add(key, 1)\n    return used, n\n",
        # made by an op nothing knows (a logger), by another library's factory
        "import torch, logging\nlog = torch._logging.getArtifactLogger(__name__, 'x')\ndef f():\n"
        "    log.log(logging.INFO, 'x')\n",
        "import numpy as np\ndef f(n):\n    out = np.empty([n])\n    out.resize((n, 1), refcheck=False)\n"
        "    return out\n",
        # a timing loop calls the module
        "import torch\ndef bench(model, x):\n    with torch.no_grad():\n        for _ in range(3):\n"
        "            model(x)\n",
    ],
)
def test_look_alikes_stay_silent(code: str) -> None:
    assert findings(code) == []


def test_a_torch_function_shows_its_argument_is_a_tensor() -> None:
    assert findings("import torch.nn.functional as F\ndef f(a):\n    F.normalize(a, dim=1)\n    return a @ a.t()\n") == [
        (3, "GS601")
    ]


def test_the_fix_is_unsafe_and_declined_where_assigning_back_would_not_repair() -> None:
    source = SourceFile.from_bytes((PAIRS / "declined.py").read_bytes(), PAIRS / "declined.py")
    reported = [f for f in analyse(source) if f.code == "GS601"]
    assert len(reported) == 4
    assert all(f.fix is None and f.unfixable_reason for f in reported)
    masked = SourceFile.from_bytes((PAIRS / "masked_scores.py").read_bytes(), PAIRS / "masked_scores.py")
    (finding,) = [f for f in analyse(masked) if f.code == "GS601"]
    assert finding.fix is not None and finding.fix.applicability is Applicability.UNSAFE


def test_the_fix_loop_applies_unsafe_fixes_only_when_asked() -> None:
    text = (PAIRS / "masked_scores.py").read_text()

    def find(t: str) -> list:
        return analyse(SourceFile.from_text(t))

    assert fix_text(text, find).text == text
    assert fix_text(text, find, unsafe_fixes=True).text == (PAIRS / "masked_scores.fixed.py").read_text()


# ---------------------------------------------------------------------- under torch
def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.torch
@pytest.mark.parametrize("path", FIXED, ids=lambda p: p.stem)
def test_the_original_computes_something_else_and_the_rewrite_the_reference(path: Path) -> None:
    torch = pytest.importorskip("torch")
    original = _load(path, f"before_{path.stem}")
    fixed = _load(path.with_name(path.stem + ".fixed.py"), f"after_{path.stem}")
    reference = original.reference()
    before = original.run()
    assert any(not torch.allclose(a, b) for a, b in zip(before, reference, strict=True)), "the original is not wrong"
    for a, b in zip(fixed.run(), reference, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.torch
def test_the_declined_cases_run() -> None:
    pytest.importorskip("torch")
    assert _load(PAIRS / "declined.py", "declined_cases").run()


# ---------------------------------------------------------------------- the command line
def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copyfile(PAIRS / "masked_scores.py", tmp_path / "model.py")
    return tmp_path


def test_fix_without_the_flag_reports_the_unsafe_fix_as_available(project: Path) -> None:
    original = (project / "model.py").read_text()
    code, output = _invoke("fix", "--no-verify", "--isolated", "--no-cache", str(project / "model.py"))
    assert code == 1
    assert (project / "model.py").read_text() == original
    assert "1 unsafe fix available with `--unsafe-fixes`" in output
    assert "not fixed: unsafe fix" in output


def test_fix_with_the_flag_applies_it(project: Path) -> None:
    code, output = _invoke("fix", "--no-verify", "--unsafe-fixes", "--isolated", "--no-cache", str(project / "model.py"))
    assert code == 0, output
    assert (project / "model.py").read_text() == (PAIRS / "masked_scores.fixed.py").read_text()


def test_the_configuration_turns_it_on_and_no_unsafe_fixes_wins(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.gradsafe]\nunsafe-fixes = true\n")
    original = (project / "model.py").read_text()
    _invoke("diff", "--no-verify", "--no-unsafe-fixes", "--no-cache", str(project / "model.py"))
    code, _ = _invoke("fix", "--no-verify", "--no-unsafe-fixes", "--no-cache", str(project / "model.py"))
    assert code == 1 and (project / "model.py").read_text() == original
    code, _ = _invoke("fix", "--no-verify", "--no-cache", str(project / "model.py"))
    assert code == 0 and (project / "model.py").read_text() != original


def test_the_configuration_key_must_be_a_boolean(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.gradsafe]\nunsafe-fixes = "yes"\n')
    code, output = _invoke("check", "--no-cache", str(project / "model.py"))
    assert code == 2 and "'unsafe-fixes' must be true or false" in output


def test_check_marks_the_fix_and_every_format_names_its_applicability(project: Path) -> None:
    path = str(project / "model.py")
    _, text = _invoke("check", "--isolated", "--no-cache", path)
    assert "GS601 [unsafe fix] the result of" in text
    _, raw = _invoke("check", "--isolated", "--no-cache", "--format", "json", path)
    document = json.loads(raw)
    assert document["findings"][0]["fix"]["applicability"] == "unsafe"
    assert document["summary"]["unsafe_fixes_available"] == 1 and document["summary"]["fixable"] == 0
    _, raw = _invoke("check", "--isolated", "--no-cache", "--format", "sarif", path)
    run = json.loads(raw)["runs"][0]
    (result,) = run["results"]
    assert result["properties"]["fixApplicability"] == "unsafe"
    assert result["fixes"][0]["properties"] == {"applicability": "unsafe"}
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "GS601")
    assert rule["properties"]["fixApplicability"] == "unsafe"
    _, github = _invoke("check", "--isolated", "--no-cache", "--format", "github", path)
    assert "unsafe fix: applied only with --unsafe-fixes" in github


def test_explain_and_rules_say_the_fix_is_unsafe() -> None:
    rule = get_rule("GS601")
    assert rule is not None and rule.unsafe_fix
    _, explained = _invoke("explain", "GS601")
    assert "--unsafe-fixes" in explained and "**unsafe**" in explained
    _, listed = _invoke("rules")
    line = next(line for line in listed.splitlines() if "GS601" in line)
    assert "assign-back (unsafe)" in line
    _, safe = _invoke("explain", "GS101")
    assert "--unsafe-fixes" not in safe
