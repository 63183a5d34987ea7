"""The verification engine on real programs: verdicts, references, inputs, and faults.

Every case is a pair of files in ``tests/fixtures/verify`` (see its README): the original and a
rewrite written by hand.  All tests share one worker pool per test process, so torch is imported
once per pool, and workers killed by the fault tests are replaced on demand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from gradsafe.verify import FileChange, TargetVerdict, Verdict, VerifySettings, WorkerPool, verify  # noqa: E402

pytestmark = pytest.mark.torch

FIXTURES = Path(__file__).parent.parent / "fixtures" / "verify"


def change(case: str, variant: str = "rewritten", replace: tuple[str, str] | None = None) -> FileChange:
    original = (FIXTURES / f"{case}.py").read_text(encoding="utf-8")
    rewritten = (FIXTURES / f"{case}.{variant}.py").read_text(encoding="utf-8")
    if replace is not None:
        assert replace[0] in rewritten
        rewritten = rewritten.replace(*replace)
    return FileChange(FIXTURES / f"{case}.py", original, rewritten)


@pytest.fixture(scope="session")
def pool():
    with WorkerPool() as workers:
        yield workers


def run(pool: WorkerPool, changes: list[FileChange], **settings) -> dict[str, TargetVerdict]:
    verdicts = verify(changes, VerifySettings(**{"timeout": 30.0, **settings}), root=FIXTURES, pool=pool)
    assert [v.path for v in verdicts] == [c.path for c in changes for _ in c.resolved_targets()]
    return {v.qualname: v for v in verdicts}


def files_in_fixtures() -> set[Path]:
    return set(FIXTURES.rglob("*"))


def test_an_equal_rewrite_is_verified_and_a_saved_result_fix_is_repaired(pool: WorkerPool) -> None:
    verdicts = run(pool, [change("activations")])
    assert verdicts["bias_shift"].verdict is Verdict.VERIFIED, verdicts["bias_shift"].detail
    assert verdicts["bias_shift"].how.startswith("synthesized")
    squash = verdicts["squash"]
    assert squash.verdict is Verdict.REPAIRED, squash.detail
    assert "output 0 of Sigmoid" in squash.detail
    assert "match finite differences" in squash.detail and "functionalize(original) agrees" in squash.detail


@pytest.mark.parametrize(
    ("target", "wrong"),
    [
        ("bias_shift", ("y = y.add(b)", "y = y.sub(b)")),  # the original runs: compared with it
        ("squash", ("y = y.mul(3)", "y = y.mul(3.5)")),  # the original raises: compared with its no-grad run
    ],
)
def test_a_deliberately_wrong_rewrite_is_rejected_with_the_difference(
    pool: WorkerPool, target: str, wrong: tuple[str, str]
) -> None:
    verdict = run(pool, [change("activations", replace=wrong)])[target]
    assert verdict.verdict is Verdict.REJECTED, verdict.detail
    assert verdict.mismatches[0].name == "return"
    assert verdict.mismatches[0].max_abs > 0.01
    assert "return differs: max abs" in verdict.detail


def test_inplace_relu_after_sigmoid_is_repaired_for_input_and_parameter_gradients(pool: WorkerPool) -> None:
    verdict = run(pool, [change("sequential_head")])["Head.__init__"]
    assert verdict.verdict is Verdict.REPAIRED, verdict.detail
    assert "output 0 of Sigmoid" in verdict.detail
    # Every element of the input (3 rows of 4 features) and of every parameter was differentiated.
    import importlib.util

    spec = importlib.util.spec_from_file_location("sequential_head_for_count", FIXTURES / "sequential_head.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    elements = 3 * 4 + sum(p.numel() for p in module.Head().parameters())
    assert f"finite differences ({2 * elements} evaluations)" in verdict.detail


def test_a_silent_data_write_is_repaired_only_by_a_rewrite_that_matches_finite_differences(pool: WorkerPool) -> None:
    right = run(pool, [change("data_clamp")])["bounded_exp"]
    assert right.verdict is Verdict.REPAIRED, right.detail
    assert right.detail.startswith("the original runs but its gradients differ from the rewrite's")
    wrong = run(pool, [change("data_clamp", "wrong")])["bounded_exp"]
    assert wrong.verdict is Verdict.REJECTED, wrong.detail
    assert wrong.mismatches[0].name == "grad of x"
    assert "do not match finite differences" in wrong.detail


def test_a_helper_that_now_returns_its_result_is_judged_by_its_rewritten_caller(pool: WorkerPool) -> None:
    verdicts = run(pool, [change("helpers")], scenarios=("helpers.py:run",))
    block, helper = verdicts["block"], verdicts["scale_"]
    assert block.verdict is Verdict.REPAIRED, block.detail
    assert block.how == "scenario helpers.py:run"
    assert "output 0 of Tanh" in block.detail
    assert helper.verdict is Verdict.REPAIRED, helper.detail
    assert "every caller agrees with it: helpers.py:block" in helper.detail


def test_a_rewrite_that_drops_a_caller_visible_mutation_is_rejected(pool: WorkerPool) -> None:
    verdict = run(pool, [change("helpers", "dropped")], scenarios=("helpers.py:run",))["scale_"]
    assert verdict.verdict is Verdict.REJECTED, verdict.detail
    assert "h after the call differs" in verdict.detail
    assert "caller helpers.py:block" in verdict.detail


def test_dropout_draws_the_same_mask_in_both_versions(pool: WorkerPool) -> None:
    verdicts = run(pool, [change("dropout")])
    assert verdicts["DropoutMLP.forward"].verdict is Verdict.VERIFIED, verdicts["DropoutMLP.forward"].detail
    assert verdicts["noisy_tanh"].verdict is Verdict.REPAIRED, verdicts["noisy_tanh"].detail
    assert "output 0 of Tanh" in verdicts["noisy_tanh"].detail


def test_functions_without_inputs_are_unverified_with_the_reason(pool: WorkerPool) -> None:
    verdicts = run(pool, [change("untyped")])
    for name, verdict in verdicts.items():
        assert verdict.verdict is Verdict.UNVERIFIED
        assert verdict.detail.startswith("no inputs: no scenario is configured")
        assert f"example__{name}()" in verdict.detail and "docs/verification.md" in verdict.detail
    assert "parameter `batch` is not annotated torch.Tensor and has no default" in verdicts["normalize_"].detail


def test_examples_provide_inputs_and_expose_a_dropped_mutation(pool: WorkerPool) -> None:
    verdicts = run(pool, [change("untyped")], examples=("gradsafe_examples.py",))
    assert verdicts["soft_clip"].verdict is Verdict.REPAIRED, verdicts["soft_clip"].detail
    assert verdicts["soft_clip"].how == "example gradsafe_examples.py:example__soft_clip"
    normalize = verdicts["normalize_"]
    assert normalize.verdict is Verdict.REJECTED, normalize.detail
    assert "batch after the call differs" in normalize.detail
    assert "no scenario shows who calls it" in normalize.detail


@pytest.mark.parametrize("scenario", ["deep_scenario.py:run", "deep_scenario:run"])
def test_a_function_deep_inside_a_model_is_checked_on_inputs_recorded_by_a_scenario_in_another_module(
    pool: WorkerPool, scenario: str
) -> None:
    before = files_in_fixtures()
    verdict = run(pool, [change("deep_model")], scenarios=(scenario,))["gate"]
    assert verdict.verdict is Verdict.REPAIRED, verdict.detail
    assert verdict.how == f"scenario {scenario}"
    # The recorded input is the projection inside a block: batch 2, 4 tokens, width 5.
    assert "[torch.DoubleTensor [2, 4, 5]]" in verdict.detail
    assert files_in_fixtures() == before  # no bytecode, no files written into the project


def test_a_module_level_model_is_checked_through_its_calls(pool: WorkerPool) -> None:
    recorded = run(pool, [change("module_level")], scenarios=("module_level.py:run",))["<module>"]
    assert recorded.verdict is Verdict.REPAIRED, recorded.detail
    assert recorded.how == "scenario module_level.py:run"
    synthesized = run(pool, [change("module_level")])["<module>"]
    assert synthesized.verdict is Verdict.REPAIRED, synthesized.detail
    assert synthesized.how == "synthesized"


def test_a_scenario_catches_what_a_call_checked_alone_cannot(pool: WorkerPool) -> None:
    alone = run(pool, [change("side_effects")])["tally"]
    assert alone.verdict is Verdict.VERIFIED, alone.detail
    with_scenario = run(pool, [change("side_effects")], scenarios=("side_effects.py:run",))["tally"]
    assert with_scenario.verdict is Verdict.REJECTED, with_scenario.detail
    assert with_scenario.mismatches[0].name == "return['batches']"


def test_a_target_without_inputs_of_its_own_is_judged_by_its_recorded_callers(pool: WorkerPool) -> None:
    alone = run(pool, [change("custom_function")])["ScaledSigmoid.backward"]
    assert alone.verdict is Verdict.UNVERIFIED
    assert "ScaledSigmoid is not an nn.Module" in alone.detail
    through = run(pool, [change("custom_function")], scenarios=("custom_function.py:run",))["ScaledSigmoid.backward"]
    assert through.verdict is Verdict.VERIFIED, through.detail
    assert through.detail == "it has no inputs of its own, and every caller agrees with it: custom_function.py:run"


def test_a_method_is_synthesized_through_forward_only_when_forward_calls_it(pool: WorkerPool) -> None:
    verdicts = run(pool, [change("gated")])
    assert verdicts["GatedMLP.gate"].verdict is Verdict.REPAIRED, verdicts["GatedMLP.gate"].detail
    assert verdicts["GatedMLP.gate"].how == "synthesized"
    describe = verdicts["GatedMLP.describe"]
    assert describe.verdict is Verdict.UNVERIFIED
    assert "calling GatedMLP() with synthesized inputs does not reach it" in describe.detail


def test_a_call_only_the_rewrite_reached_is_replayed_on_the_original_class(pool: WorkerPool) -> None:
    verdicts = run(pool, [change("pipeline")], scenarios=("pipeline.py:run",))
    normalize, gate = verdicts["Normalize.forward"], verdicts["Gate.forward"]
    assert normalize.verdict is Verdict.REPAIRED, normalize.detail
    assert "a leaf Variable that requires grad is being used in an in-place operation" in normalize.detail
    assert gate.verdict is Verdict.REPAIRED, gate.detail
    assert gate.how == "scenario pipeline.py:run"
    assert "output 0 of Sigmoid" in gate.detail


def _sgd_reference(steps: int = 3) -> dict[str, torch.Tensor]:
    """The fixture's training run, written with torch.optim.SGD."""
    from torch import nn

    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    batches = [(torch.randn(8, 4), torch.randn(8, 2)) for _ in range(steps)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for inputs, targets in batches:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return {"losses": torch.stack(losses), "weight": model.weight.detach(), "bias": model.bias.detach()}


def _run_text(text: str, function: str) -> dict[str, torch.Tensor]:
    namespace: dict[str, object] = {"__name__": "manual_sgd_under_test"}
    exec(compile(text, "manual_sgd.py", "exec"), namespace)
    return namespace[function]()  # type: ignore[operator]


def test_a_manual_sgd_step_wrapped_in_no_grad_is_repaired_and_equals_torch_optim(pool: WorkerPool) -> None:
    fix = change("manual_sgd")
    verdicts = run(pool, [fix], scenarios=("manual_sgd.py:run", "manual_sgd.py:run_data"))
    step = verdicts["train_step"]
    assert step.verdict is Verdict.REPAIRED, step.detail
    assert "a leaf Variable that requires grad is being used in an in-place operation" in step.detail
    assert "untracked" in step.detail
    assert verdicts["train_data_step"].verdict is Verdict.VERIFIED, verdicts["train_data_step"].detail
    # Independently of the engine: the original fails, and the rewrite is N steps of torch.optim.SGD.
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        _run_text(fix.original, "run")
    reference = _sgd_reference()
    for function in ("run", "run_data"):
        result = _run_text(fix.rewritten, function)
        for key, expected in reference.items():
            torch.testing.assert_close(result[key], expected)


def test_a_wrong_parameter_update_is_rejected(pool: WorkerPool) -> None:
    rebinding = change("manual_sgd", replace=("            p -= lr * p.grad\n", "            p = p - lr * p.grad\n"))
    verdict = run(pool, [rebinding], scenarios=("manual_sgd.py:run",))["train_step"]
    assert verdict.verdict is Verdict.REJECTED, verdict.detail
    assert any(m.name.startswith("model.weight") for m in verdict.mismatches)


@pytest.mark.slow
def test_faults_are_reported_against_their_target_and_the_rest_still_verified(pool: WorkerPool, tmp_path: Path) -> None:
    before = files_in_fixtures()
    verdicts = run(pool, [change("faults")], timeout=2.0, scenarios=("faults.py:stuck_scenario",))
    expected = {
        "doubled": (Verdict.VERIFIED, "equal in float64"),
        "spin": (Verdict.UNVERIFIED, "the original did not finish within 2 s (in faults.py:"),
        "segfault": (Verdict.UNVERIFIED, "the original crashed (SIGSEGV) (in faults.py:"),
        "leave": (Verdict.UNVERIFIED, "SystemExit: sys.exit(3) was called"),
        "vanish": (Verdict.UNVERIFIED, "the original exited the process with status 4"),
        "chatty": (Verdict.VERIFIED, "equal in float64"),
        "slow_rewrite": (Verdict.REJECTED, "the rewrite did not finish within 2 s"),
        "hog": (Verdict.UNVERIFIED, "can't allocate memory"),
        "asks": (Verdict.UNVERIFIED, "EOFError"),
        "background": (Verdict.VERIFIED, "equal in float64"),
        "writes": (Verdict.VERIFIED, "equal in float64"),
    }
    assert {name: v.verdict for name, v in verdicts.items()} == {name: e[0] for name, e in expected.items()}
    for name, (_, text) in expected.items():
        assert text in verdicts[name].detail, (name, verdicts[name].detail)
    assert "scenario faults.py:stuck_scenario did not finish within 2 s (in faults.py:" in verdicts["leave"].detail
    assert files_in_fixtures() == before
    # The pool recovers: the next job gets a working worker.
    assert run(pool, [change("activations")])["bias_shift"].verdict is Verdict.VERIFIED


@pytest.mark.slow
def test_two_workers_give_the_same_verdicts_as_one(pool: WorkerPool) -> None:
    changes = [change("activations"), change("dropout"), change("data_clamp")]
    single = verify(changes, VerifySettings(timeout=30.0), root=FIXTURES, pool=pool)
    double = verify(changes, VerifySettings(timeout=30.0, workers=2), root=FIXTURES)
    assert [(v.qualname, v.verdict, v.detail) for v in double] == [(v.qualname, v.verdict, v.detail) for v in single]
    assert [v.verdict for v in single] == [
        Verdict.VERIFIED,
        Verdict.REPAIRED,
        Verdict.VERIFIED,
        Verdict.REPAIRED,
        Verdict.REPAIRED,
    ]
