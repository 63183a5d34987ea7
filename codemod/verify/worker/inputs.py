"""Where a target's inputs come from, in order: recorded calls, user examples, synthesis.

Every source produces an ``InputPair``: one snapshot of arguments for the original and one for the
rewrite.  They must be *the same inputs*, yet each version's objects must be its own (a module
whose ``__init__`` changed must be built by that version's ``__init__``).  ``align`` does this:
the rewrite's snapshot takes every tensor and plain value from the original's, and every module
from the rewrite's own counterpart (the same call recorded in the rewrite's scenario run, the
example evaluated in the rewrite's world, the class instantiated there) with the original's
parameters, buffers, gradients and train/eval flags loaded into it.  When there is no counterpart,
or its state does not fit, the original's module is deep-copied and the class of it and of each
submodule whose class is the user's is switched to the other world's class of the same name
(``obj.__class__ = ...``); that keeps the state exactly and changes only the code.

Synthesis covers two common shapes of code: functions whose parameters are annotated
``torch.Tensor`` (random float64 tensors that require grad, on a small ladder of shapes; the first
shape on which the original runs, or fails only with an in-place autograd error, is used), and
``nn.Module`` classes that can be built without arguments (the input shape comes from the first
``Linear``, ``Conv*``, ``Embedding``, RNN or normalisation layer).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gradsafe.verify.worker.execution import seed_everything
from gradsafe.verify.worker.recording import Key, Recorder
from gradsafe.verify.worker.snapshot import Snapshot, SnapshotError
from gradsafe.verify.worker.targets import Kind, Target, module_class, module_instances, resolve
from gradsafe.verify.worker.worlds import ORIGINAL, REWRITE, World

SHAPE_LADDER: tuple[tuple[int, ...], ...] = ((5,), (4, 4), (2, 4, 4), (2, 3, 8, 8))


@dataclass
class InputPair:
    how: str  # for the report: "scenario train.py:run", "example ...", "synthesized ..."
    original: Snapshot
    rewrite: Snapshot
    via: Kind | None = None  # call the target this way instead (a method reached through forward)
    instance: str = ""  # the module-level instance called, for `<module>` targets


@dataclass(frozen=True)
class Unavailable:
    """Why a source has nothing for a target; ``hint`` tells the user how to provide inputs."""

    reason: str


# Alignment -------------------------------------------------------------------------------------


def align(base: Snapshot, counterpart: Snapshot | None, world: World) -> Snapshot:
    """``base``'s inputs with modules belonging to ``world`` (see the module docstring)."""
    other = counterpart.value if counterpart is not None else None
    return base.replaced(_align(base.value, other, world))


def _align(base: Any, other: Any, world: World) -> Any:
    if isinstance(base, torch.nn.Module):
        if (
            isinstance(other, torch.nn.Module)
            and type(other).__qualname__ == type(base).__qualname__
            and _load_state(other, base)
        ):
            return other
        return switched(base, world)
    if isinstance(base, dict):
        others = other if isinstance(other, dict) else {}
        return type(base)({key: _align(value, others.get(key), world) for key, value in base.items()})
    if isinstance(base, (list, tuple)):
        peers = other if type(other) is type(base) and len(other) == len(base) else [None] * len(base)
        items = [_align(b, o, world) for b, o in zip(base, peers)]
        if isinstance(base, list):
            return items
        return type(base)(*items) if hasattr(base, "_fields") else type(base)(items)
    return base


def _load_state(target: torch.nn.Module, source: torch.nn.Module) -> bool:
    try:
        target.load_state_dict(source.state_dict(), strict=True)
        for name, parameter in source.named_parameters():
            mine = target.get_parameter(name)
            mine.requires_grad_(parameter.requires_grad)
            mine.grad = None if parameter.grad is None else parameter.grad.detach().clone()
        for name, module in source.named_modules():
            target.get_submodule(name).training = module.training
    except (RuntimeError, AttributeError, KeyError, TypeError):
        return False
    return True


def switched(module: torch.nn.Module, world: World) -> torch.nn.Module:
    """A deep copy of ``module`` whose user-defined classes are ``world``'s."""
    duplicate = copy.deepcopy(module)
    for sub in duplicate.modules():
        counterpart = world.counterpart(type(sub))
        if counterpart is not None and counterpart is not type(sub):
            sub.__class__ = counterpart
    return duplicate


# Sources ---------------------------------------------------------------------------------------


def recorded(
    keys: list[tuple[Key, str]], recorders: dict[str, Recorder], worlds: dict[str, World]
) -> Iterator[InputPair | Unavailable]:
    """The first call of the target that each scenario run recorded."""
    original, rewrite = recorders[ORIGINAL], recorders[REWRITE]
    for key, instance in keys:
        mine, theirs = original.snapshots.get(key), rewrite.snapshots.get(key)
        scenario = original.scenario_of.get(key) or rewrite.scenario_of.get(key, "")
        if mine is not None:
            yield InputPair(f"scenario {scenario}", mine, align(mine, theirs, worlds[REWRITE]), instance=instance)
        elif theirs is not None:
            # The original never got this far (it failed earlier in the scenario).
            yield InputPair(f"scenario {scenario}", align(theirs, None, worlds[ORIGINAL]), theirs, instance=instance)
        else:
            problem = original.problems.get(key) or rewrite.problems.get(key)
            if problem:
                yield Unavailable(f"a scenario called it, but {problem}")


def example_names(target: Target, kind: Kind, instance: str = "") -> list[str]:
    """The example function names a target looks for (``docs/verification.md``)."""
    if kind is Kind.MODULE_INSTANCES:
        return [f"example__{instance}"]
    names = ["example__" + target.qualname.replace(".", "__")]
    if kind is Kind.CONSTRUCTION:
        owner = target.qualname.removesuffix(".__init__")
        names.append(f"example__{owner}__forward")
    return names


def from_examples(
    target: Target, kind: Kind, files: list[Path], worlds: dict[str, World], instances: list[str]
) -> Iterator[InputPair | Unavailable]:
    for instance in instances or [""]:
        for name in example_names(target, kind, instance):
            for path in files:
                snapshots: dict[str, Snapshot] = {}
                for version, world in worlds.items():
                    outcome = _run_example(world, path, name, target, instance)
                    if isinstance(outcome, Unavailable):
                        if outcome.reason:
                            yield outcome
                        break
                    snapshots[version] = outcome
                else:
                    base = snapshots[ORIGINAL]
                    how = f"example {worlds[ORIGINAL].project.display(path)}:{name}"
                    yield InputPair(how, base, align(base, snapshots[REWRITE], worlds[REWRITE]), instance=instance)


def _run_example(world: World, path: Path, name: str, target: Target, instance: str) -> Snapshot | Unavailable:
    where = f"{world.project.display(path)}:{name}"
    try:
        function = getattr(world.module(path), name, None)
        if function is None:
            return Unavailable("")
        seed_everything()
        with world.active():
            result = function()
    except Exception as exc:  # the user's example code
        return Unavailable(f"{where} raised {type(exc).__name__}: {exc}")
    if not (
        isinstance(result, tuple)
        and len(result) == 2
        and isinstance(result[0], (tuple, list))
        and isinstance(result[1], dict)
    ):
        return Unavailable(f"{where} must return (args, kwargs), a tuple and a dict")
    args, kwargs = tuple(result[0]), result[1]
    if instance:
        args = (module_instances(world.module(target.path))[instance], *args)
    try:
        return Snapshot.take(args, kwargs)
    except SnapshotError as exc:
        return Unavailable(f"the arguments {where} returned cannot be copied ({exc})")


def synthesized(target: Target, kind: Kind, worlds: dict[str, World]) -> Iterator[InputPair | Unavailable]:
    modules = {version: world.module(target.path) for version, world in worlds.items()}
    if kind is Kind.FUNCTION:
        yield from _for_function(resolve(modules[ORIGINAL], target.qualname))
    elif kind is Kind.MODULE_INSTANCES:
        for name, instance in module_instances(modules[ORIGINAL]).items():
            rewrite_instance = module_instances(modules[REWRITE]).get(name)
            for inputs in _for_module(instance):
                if isinstance(inputs, Unavailable):
                    yield inputs
                    continue
                base = Snapshot.take((instance, *inputs), {})
                counterpart = Snapshot.take((rewrite_instance, *inputs), {}) if rewrite_instance is not None else None
                yield InputPair("synthesized", base, align(base, counterpart, worlds[REWRITE]), instance=name)
    elif kind in (Kind.CONSTRUCTION, Kind.METHOD):
        owner_name = target.qualname if kind is Kind.CONSTRUCTION else target.qualname.rpartition(".")[0]
        owner = (
            module_class(modules[ORIGINAL], owner_name)
            if kind is Kind.CONSTRUCTION
            else resolve(modules[ORIGINAL], owner_name)
        )
        if not (inspect.isclass(owner) and issubclass(owner, torch.nn.Module)):
            yield Unavailable(f"{owner_name} is not an nn.Module, so its methods are not synthesized")
            return
        built = {version: _construct(world, modules[version], owner.__qualname__) for version, world in worlds.items()}
        problem = next((b for b in built.values() if isinstance(b, Unavailable)), None)
        if problem is not None:
            yield problem
            return
        via = None if kind is Kind.CONSTRUCTION else Kind.CONSTRUCTION
        for inputs in _for_module(built[ORIGINAL]):
            if isinstance(inputs, Unavailable):
                yield inputs
                continue
            base = Snapshot.take((built[ORIGINAL], *inputs), {})
            counterpart = Snapshot.take((built[REWRITE], *inputs), {})
            yield InputPair("synthesized", base, align(base, counterpart, worlds[REWRITE]), via=via)


def _construct(world: World, module: Any, qualname: str) -> torch.nn.Module | Unavailable:
    cls = resolve(module, qualname)
    seed_everything()
    try:
        with world.active():
            return cls()
    except Exception as exc:  # user constructors raise anything
        return Unavailable(f"{qualname}() cannot be built without arguments ({type(exc).__name__}: {exc})")


def _is_tensor_annotation(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation in ("torch.Tensor", "Tensor")
    return annotation is torch.Tensor


def _required_parameters(function: Callable[..., Any], skip_first: bool) -> list[inspect.Parameter] | Unavailable:
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return Unavailable("its signature cannot be read")
    return [
        p
        for p in parameters[1 if skip_first else 0 :]
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.default is p.empty
    ]


def _tensor_parameters(function: Callable[..., Any], skip_first: bool) -> list[str] | Unavailable:
    """Names of the required parameters, if all are annotated ``torch.Tensor``."""
    required = _required_parameters(function, skip_first)
    if isinstance(required, Unavailable):
        return required
    for parameter in required:
        if not _is_tensor_annotation(parameter.annotation):
            return Unavailable(f"parameter `{parameter.name}` is not annotated torch.Tensor and has no default")
    return [p.name for p in required]


def _random(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, generator=generator, dtype=torch.float64).requires_grad_(True)


def _for_function(function: Callable[..., Any]) -> Iterator[InputPair | Unavailable]:
    names = _tensor_parameters(function, skip_first=False)
    if isinstance(names, Unavailable):
        yield names
        return
    if not names:
        yield Unavailable("it takes no tensor arguments to synthesize")
        return
    for shape in SHAPE_LADDER:
        generator = torch.Generator().manual_seed(len(shape))
        kwargs = {name: _random(shape, generator) for name in names}
        base = Snapshot.take((), kwargs)
        yield InputPair(f"synthesized, shape {shape}", base, base)


def _for_module(module: torch.nn.Module) -> Iterator[tuple[torch.Tensor, ...] | Unavailable]:
    """Candidate positional inputs for ``module(...)``."""
    required = _required_parameters(type(module).forward, skip_first=True)
    if isinstance(required, list) and len(required) == 1:
        inferred = _first_layer_input(module)
        if inferred is not None:
            yield (inferred,)
            return
    names = _tensor_parameters(type(module).forward, skip_first=True)
    if isinstance(names, Unavailable):
        yield Unavailable(
            f"{type(module).__qualname__}.forward: {names.reason}, and no first layer shows the input shape"
        )
        return
    generator = torch.Generator().manual_seed(0)
    for shape in SHAPE_LADDER:
        yield tuple(_random(shape, generator) for _ in names)


def _first_layer_input(module: torch.nn.Module) -> torch.Tensor | None:
    nn = torch.nn
    generator = torch.Generator().manual_seed(0)
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            return _random((3, layer.in_features), generator)
        if isinstance(layer, (nn.Conv1d, nn.ConvTranspose1d)):
            return _random((2, layer.in_channels, 16), generator)
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            return _random((2, layer.in_channels, 8, 8), generator)
        if isinstance(layer, (nn.Conv3d, nn.ConvTranspose3d)):
            return _random((2, layer.in_channels, 4, 4, 4), generator)
        if isinstance(layer, nn.Embedding):
            return torch.randint(0, layer.num_embeddings, (2, 5), generator=generator)
        if isinstance(layer, nn.RNNBase):
            shape = (2, 5, layer.input_size) if layer.batch_first else (5, 2, layer.input_size)
            return _random(shape, generator)
        if isinstance(layer, nn.LayerNorm):
            return _random((3, *layer.normalized_shape), generator)
        if isinstance(layer, nn.BatchNorm1d):
            return _random((4, layer.num_features), generator)
        if isinstance(layer, nn.BatchNorm2d):
            return _random((2, layer.num_features, 8, 8), generator)
    return None
