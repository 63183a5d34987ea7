#!/usr/bin/env python
"""Generate ``codemod/analysis/data/optable.json``: what each supported torch API saves for backward.

Run by hand, with torch installed, whenever the supported torch version changes::

    python scripts/build_optable.py            # writes the JSON next to codemod/analysis/optable.py
    python scripts/build_optable.py --check    # exits 1 if the shipped JSON differs from a fresh build

The analysis only reads the JSON and never imports torch.  Nothing in the table is written down by
hand: the catalogue (``optable_catalogue.py``) only says *how to call* each API, and every fact is
measured on the installed torch.

1. Each catalogue entry is called on tiny float64 inputs, once per ``requires_grad`` pattern of its
   tensor arguments (all of them; each one alone; for modules the parameters count as one argument,
   ``"@params"``).  The ``grad_fn`` graph is walked (``next_functions``, so composite ops are
   covered) and every ``_saved_*`` tensor is matched by storage to an argument, to the output, or
   to neither (an internal value: a mask, indices, statistics, a wrapped scalar).
2. Each of those answers is confirmed by experiment: bump the version of one argument (or of the
   output) with ``add_(0)`` under ``no_grad`` and check whether ``backward()`` then raises the
   "modified by an inplace operation" error.  Introspection and experiment must agree, or the build
   fails: a table that is wrong would make the codemod rewrite safe code or miss real hazards.
3. In-place forms (the ``op_`` method, ``inplace=True``) are run the same way to learn what they
   save: their own result, a private copy of their input, an internal mask, or nothing.
4. Tensor and module members the analysis recognises by name (``x.item()`` is a plain value,
   ``x.argmax()`` never requires grad, ``x.T`` is a view, ``m.eval()`` returns ``m``) and factory
   functions outside the catalogue are measured by ``optable_members.py`` (next to this script)
   into the sections ``tensor_methods``, ``tensor_attributes``, ``module_methods``,
   ``module_attributes`` and ``factories``.
5. In-place writes inside library calls (``nn.Embedding(max_norm=...)`` renormalising its weight,
   BatchNorm's statistics, ``clip_grad_norm_``) and views whose elements share memory (``expand``)
   are measured by ``optable_library_ops.py`` into the section ``library_inplace``.

When an API has several samples (``x ** 2`` and ``x ** t``; ``x[1:3]`` and ``x[idx]``; a module in
train and eval mode), its entry is the union of what the samples showed: what a call *may* save or
alias.  Where samples the source can tell apart (a tensor or a plain value, an argument given or
not) disagree, the entry also lists ``variants`` with the exact facts per kind of call.

This module holds the measurement of one API (``Builder``) and the entry points; next to it,
``optable_probe.py`` runs one sample and reads what its graph saved, ``optable_inplace.py`` finds
and runs the in-place forms, and ``optable_crosscheck.py`` compares with ``derivatives.yaml``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # optable_catalogue.py, optable_members.py sit here
# the catalogue and the measuring steps (X, call, classify are also reached through this module by
# tests/analysis/test_optable.py)
from optable_catalogue import (  # noqa: E402
    Api,
    BuildError,
    call,
    CATALOGUE,
    Const,
    Grad,
    NotDifferentiable,
    Sample,
    Tensors,
    X,  # noqa: F401 - reached through this module by tests/analysis/test_optable.py
)
from optable_crosscheck import cross_check  # noqa: E402
from optable_inplace import (  # noqa: E402
    accepts_inplace_kwarg,
    compare_with_out_of_place,
    identical,
    inplace_functions,
    inplace_method_names,
    inplace_position,
    inplace_samples,
    inplace_variant,
)
from optable_members import members_table  # noqa: E402
from optable_library_ops import library_table  # noqa: E402
from optable_probe import (  # noqa: E402
    INTERNAL,
    OUTPUT,
    PARAMS,
    Bound,
    backward_error,
    bind,
    bump,
    candidates_of,
    classify,
    grad_roles,
    invoke,
    loss_of,
    patterns,
    saved_tensors,
    shares_storage,
    strongest,
    tensor_outputs,
)

log = logging.getLogger("build_optable")

SCHEMA = 1
TABLE_PATH = Path(__file__).resolve().parent.parent / "codemod" / "analysis" / "data" / "optable.json"

SAVED_TENSOR_ERROR = "modified by an inplace operation"
MULTI_VIEW_ERROR = "returns multiple views"

# What an in-place form saves, strongest first: merging samples keeps the strongest.
INPLACE_SAVES = ("output", "input_copy", "mask", "nothing")
# How an output aliases its first argument, strongest first.
VIEW_KINDS = ("multi_view", "view", "detach")

# In-place methods that change neither the values nor the version counter: autograd flags
# (requires_grad_, detach_) and storage placement (share_memory_).  Everything else with a trailing
# underscore counts as a mutation, including resize_/resize_as_ (a same-size resize is a no-op, a
# real one reallocates) and apply_/map_/map2_ (they rewrite the values *without* bumping the
# version counter).  The build checks this list against methods it can call.
METADATA_ONLY_METHODS = frozenset({"requires_grad_", "share_memory_", "detach_"})


# ---------------------------------------------------------------------------------------------
# Measuring one API
# ---------------------------------------------------------------------------------------------


@dataclass
class Observations:
    """What one sample showed, or the union of what several samples showed."""

    arguments: dict[str, Any] = field(default_factory=dict)  # role -> how the sample passed it (see argument_kind)
    tensor_params: set[str] = field(default_factory=set)
    triggers: dict[str, set[str]] = field(default_factory=dict)  # saved role -> roles whose grad saves it
    output_triggers: set[str] = field(default_factory=set)
    views: set[str] = field(default_factory=set)
    inplace_saves: set[str] = field(default_factory=set)
    differentiable: bool = False
    fresh: bool = True  # no output shares storage with an argument

    def union(self, other: Observations) -> Observations:
        triggers = {role: set(t) for role, t in self.triggers.items()}
        for role, t in other.triggers.items():
            triggers.setdefault(role, set()).update(t)
        return Observations(
            arguments={},
            tensor_params=self.tensor_params | other.tensor_params,
            triggers=triggers,
            output_triggers=self.output_triggers | other.output_triggers,
            views=self.views | other.views,
            inplace_saves=self.inplace_saves | other.inplace_saves,
            differentiable=self.differentiable or other.differentiable,
            fresh=self.fresh and other.fresh,
        )

    def facts(self) -> dict[str, Any]:
        """The JSON fields that can differ between calls of one API."""
        return {
            "saved_inputs": {role: sorted(t) for role, t in sorted(self.triggers.items())},
            "saves_output": bool(self.output_triggers),
            "output_saved_when": sorted(self.output_triggers),
            "view": strongest(self.views, VIEW_KINDS),
            "inplace_saves": strongest(self.inplace_saves, INPLACE_SAVES),
        }


def argument_kind(spec: Any) -> Any:
    """How a sample passes an argument, as the analysis can tell from source: "tensor", a literal
    (True/False/None, which select behaviour: ``F.dropout(x, training=False)``), or "value"."""
    if isinstance(spec, (Grad, Const, Tensors)):
        return "tensor"
    if isinstance(spec, tuple) and any(isinstance(item, (Grad, Const)) for item in spec):
        return "tensor"  # index_put's tuple of index tensors
    if spec is None or isinstance(spec, bool):
        return spec
    return "value"


class Builder:
    """Measures the catalogue and torch's in-place methods; collects evidence for the cross-check."""

    def __init__(self) -> None:
        self.saved_attributes: dict[str, set[str]] = {}  # grad_fn name -> saved tensor attributes seen
        self.notes: list[str] = []  # merged disagreements between samples, for the build log

    # -- introspection + bump ------------------------------------------------------------------

    def saved_roles(self, api: Api, sample: Sample, grads: frozenset[str]) -> tuple[set[str], bool]:
        """The roles whose tensors the graph saved, and whether backward works at all."""
        bound = bind(api, sample, grads)
        outputs = tensor_outputs(invoke(api, bound))
        roles = set()
        for item in saved_tensors(outputs, bound.boundary):
            self.saved_attributes.setdefault(item.node, set()).add(item.attribute)
            roles.add(classify(item.tensor, candidates_of(bound, outputs[0] if outputs else None)))
        loss = loss_of(outputs)
        # floor_divide's output requires grad, but its backward raises "derivative ... not implemented"
        differentiable = loss is not None and backward_error(loss) is None
        return roles - {INTERNAL}, differentiable

    def bump_fails(self, api: Api, sample: Sample, grads: frozenset[str], target: str) -> tuple[bool, set[str]]:
        """Bump ``target``'s version after the call; did backward fail, and whose versions moved?"""
        bound = bind(api, sample, grads)
        outputs = tensor_outputs(invoke(api, bound))
        everyone = {**bound.units, **({OUTPUT: outputs[:1]} if outputs else {})}
        loss = loss_of(outputs)
        before = {role: [t._version for t in ts] for role, ts in everyone.items()}
        for t in everyone[target]:
            bump(t)
        moved = {role for role, ts in everyone.items() if [t._version for t in ts] != before[role]}
        error = backward_error(loss)
        if error is not None and SAVED_TENSOR_ERROR not in error:
            raise BuildError(f"{api.name}: backward after bumping {target} failed unexpectedly: {error}")
        return error is not None, moved

    def confirm(self, api: Api, sample: Sample, grads: frozenset[str], saved: set[str]) -> None:
        """Every argument (and the output) must break backward when bumped iff introspection says saved."""
        for target in [*sorted(bind(api, sample, grads).units), OUTPUT]:
            failed, moved = self.bump_fails(api, sample, grads, target)
            # A bump also moves every tensor sharing the version counter (a view op's output and
            # its input), so the prediction covers the whole alias group.
            predicted = bool(moved & saved)
            if failed != predicted:
                raise BuildError(
                    f"{api.name} {dict(sample.kwargs) or ''} with {sorted(grads)} requiring grad: introspection "
                    f"says {target!r} is {'' if predicted else 'not '}saved, but backward "
                    f"{'failed' if failed else 'succeeded'} after bumping it"
                )

    # -- aliasing ------------------------------------------------------------------------------

    def aliasing(self, api: Api, sample: Sample, grads: frozenset[str]) -> tuple[str | None, bool]:
        """How the output aliases the first argument (``view``), and whether it is fresh storage."""
        bound = bind(api, sample, grads)
        result = invoke(api, bound)
        outputs = tensor_outputs(result)
        arguments = [t for tensors in bound.units.values() for t in tensors]
        fresh = not shares_storage(outputs, arguments)
        return self.view_kind(api, bound, result), fresh

    def view_kind(self, api: Api, bound: Bound, result: Any) -> str | None:
        outputs = tensor_outputs(result)
        base = bound.first
        if base is None or not outputs:
            return None
        storage = base.untyped_storage().data_ptr()
        if not all(t.untyped_storage().data_ptr() == storage for t in outputs):
            return None
        if isinstance(result, (tuple, list)):
            try:
                outputs[0].mul_(1)
            except RuntimeError as error:
                if MULTI_VIEW_ERROR in str(error):
                    return "multi_view"
                raise
            return "view"
        if base.requires_grad and not result.requires_grad:
            version = base._version
            with torch.no_grad():
                result.add_(0)
            if base._version == version:
                raise BuildError(f"{api.name}: output aliases its input without sharing the version counter")
            return "detach"
        return "view"

    # -- in-place forms ------------------------------------------------------------------------

    def inplace_forms(self, api: Api) -> dict[str, str]:
        """The in-place forms to measure: {form label: form} where form is a method name or "kwarg"."""
        forms = {}
        variant = inplace_variant(api)
        if variant:
            forms[variant] = variant
        if accepts_inplace_kwarg(api):
            forms["inplace=True"] = "kwarg"
        return forms

    def inplace_saves(self, api: Api, sample: Sample, form: str, label: str) -> str:
        """What the in-place form saves about its ``self``, confirmed by bumping ``self`` afterwards."""
        grads = frozenset(grad_roles(api, sample))
        init = {"inplace": True} if form == "kwarg" and api.kind == "module" else {}
        bound = bind(api, sample, grads, **init)
        target = bound.first
        if target is None or not target.requires_grad:
            raise BuildError(f"{api.name}: {label} needs a differentiable first argument")
        before = target.detach().clone()
        invoke(api, bound, inplace=form)
        if not target.requires_grad:  # detach_(): the graph is cut, nothing can be saved
            return "nothing"
        found = set()
        for item in saved_tensors([target], bound.boundary):
            self.saved_attributes.setdefault(item.node, set()).add(item.attribute)
            role = classify(item.tensor, candidates_of(bound, None))
            if role == api.role(0):
                found.add("output")  # self *is* the result of an in-place op
            elif role == INTERNAL and item.tensor.shape == before.shape and torch.equal(item.tensor, before):
                found.add("input_copy")
            elif role == INTERNAL and item.tensor.dim() > 0:
                found.add("mask")
            # other arguments, and 0-dim wrapped scalars, say nothing about self
        saves = strongest(found | {"nothing"}, INPLACE_SAVES)
        bound = bind(api, sample, grads, **init)
        invoke(api, bound, inplace=form)
        loss = loss_of([bound.first])
        bump(bound.first)
        error = backward_error(loss)
        if error is not None and "is not implemented" in error:
            raise NotDifferentiable(error)
        if error is not None and SAVED_TENSOR_ERROR not in error:
            raise BuildError(f"{api.name} {label}: backward failed unexpectedly: {error}")
        if (error is not None) != (saves == "output"):
            raise BuildError(
                f"{api.name} {label}: introspection says it saves {saves!r}, but backward "
                f"{'failed' if error else 'succeeded'} after bumping its result"
            )
        return saves

    # -- one API -------------------------------------------------------------------------------

    def check_param_names(self, api: Api, sample: Sample) -> None:
        """Calling with the declared names as keywords must work: the analysis maps keywords by them."""
        if api.kind == "operator" or len(sample.args) < 2 or any(p.startswith("*") for p in api.params):
            return
        bound = bind(api, sample, frozenset())
        first, *rest = bound.args
        keywords = {api.role(i + 1): arg for i, arg in enumerate(rest)}
        bound.args, bound.kwargs = [first], {**keywords, **bound.kwargs}
        try:
            invoke(api, bound)
        except TypeError as error:
            raise BuildError(f"{api.name}: declared parameter names {api.params} rejected: {error}") from error

    def observe(self, api: Api, sample: Sample) -> Observations:
        self.check_param_names(api, sample)
        seen = Observations()
        seen.arguments = {api.role(i): argument_kind(arg) for i, arg in enumerate(sample.args)}
        seen.arguments.update((name, argument_kind(arg)) for name, arg in sample.kwargs.items())
        seen.tensor_params = set(bind(api, sample, frozenset()).units) - {PARAMS}
        roles = grad_roles(api, sample)
        # aliasing does not depend on the pattern, but telling detach from view needs a base that requires grad
        view, seen.fresh = self.aliasing(api, sample, frozenset(roles))
        seen.views = {view} - {None}
        saved_by: dict[frozenset[str], set[str]] = {}
        for grads in patterns(roles):
            saved, differentiable = self.saved_roles(api, sample, grads)
            if differentiable:
                self.confirm(api, sample, grads, saved)
                seen.differentiable = True
            saved_by[grads] = saved
        self.merge_triggers(api, roles, saved_by, seen)
        if seen.differentiable:
            for label, form in self.inplace_forms(api).items():
                seen.inplace_saves.add(self.inplace_saves(api, sample, form, label))
        return seen

    def merge_triggers(
        self, api: Api, roles: tuple[str, ...], saved_by: dict[frozenset[str], set[str]], seen: Observations
    ) -> None:
        """Turn per-pattern saved sets into "saved when these require grad" triggers."""
        if not roles:
            return
        everything = saved_by[frozenset(roles)]
        singles = {role: saved_by[frozenset({role})] for role in roles} if len(roles) > 1 else {roles[0]: everything}
        explained = set().union(*singles.values())
        if explained != everything:
            raise BuildError(
                f"{api.name}: saved with all arguments requiring grad {sorted(everything)} is not the union "
                f"of what each argument alone saves {sorted(explained)}"
            )
        for role, saved in singles.items():
            for saved_role in saved:
                if saved_role == OUTPUT:
                    seen.output_triggers.add(role)
                else:
                    seen.triggers.setdefault(saved_role, set()).add(role)

    def variants(self, api: Api, samples: list[Observations]) -> list[dict[str, Any]]:
        """Per-arguments facts, when samples that the analysis can tell apart disagree.

        ``x ** 2`` keeps only ``x``; ``x ** t`` also saves its result.  The entry's own fields are
        the union (right when the analysis cannot tell the call apart); a variant is exact for
        calls passing arguments of the kinds it lists.  Samples the source cannot tell apart
        (a module in train and eval mode) stay merged.
        """
        groups: dict[str, Observations] = {}
        for seen in samples:
            key = json.dumps(seen.arguments, sort_keys=True)
            groups[key] = groups[key].union(seen) if key in groups else seen
        for seen in samples:
            merged = groups[json.dumps(seen.arguments, sort_keys=True)]
            if merged.facts() != seen.facts():
                self.notes.append(f"{api.name}: samples the source cannot tell apart differ; recorded their union")
                break
        facts = [json.dumps(g.facts(), sort_keys=True) for g in groups.values()]
        if len(set(facts)) < 2:
            return []
        self.notes.append(f"{api.name}: {len(groups)} variants by argument kinds")
        return [{"arguments": json.loads(key), **group.facts()} for key, group in groups.items()]

    def entry(self, api: Api) -> dict[str, Any]:
        samples = [self.observe(api, sample) for sample in api.samples]
        seen = samples[0]
        for other in samples[1:]:
            seen = seen.union(other)
        if api.kind == "factory" and (seen.differentiable or not seen.fresh):
            raise BuildError(f"{api.name}: declared a factory, but its output is not a fresh constant")
        return {
            "kind": api.kind,
            "params": list(api.param_names),
            "tensor_params": sorted(seen.tensor_params),
            **seen.facts(),
            "variants": self.variants(api, samples),
            "inplace_variant": inplace_variant(api) if seen.differentiable else None,
            "inplace_kwarg": accepts_inplace_kwarg(api),
            "inplace_position": inplace_position(api),
            "differentiable": seen.differentiable,
            "module_params": api.kind == "module" and PARAMS in grad_roles(api, api.samples[0]),
        }

    # -- in-place methods ----------------------------------------------------------------------

    def inplace_method(self, name: str) -> dict[str, Any]:
        """One in-place Tensor method, run on every argument recipe that fits it.

        ``saves`` is the strongest answer over the recipes (``x.pow_(2)`` keeps a copy of ``x``,
        ``x.pow_(t)`` saves its result), like the op entries' union over samples.
        """
        out_of_place = name[:-1] if callable(getattr(torch.Tensor, name[:-1], None)) else None
        method = call(f"Tensor.{name}", "self *args")  # roles only matter for saves: self vs the rest
        mutates = False
        ran = False
        saves: set[str] = set()
        comparisons: list[str] = []  # per recipe where both forms ran: "same", or how they differ
        for sample in inplace_samples(name):
            bound = bind(method, sample, frozenset())
            version, before = bound.first._version, bound.first.clone()
            try:
                torch.manual_seed(0)
                invoke(method, bound, inplace=name)
            except Exception:  # noqa: BLE001 - a recipe that does not fit this method: try the next
                continue
            ran = True
            # apply_/map_/map2_ rewrite the values without bumping the version counter
            mutates |= bound.first._version != version or not identical(bound.first, before)
            measured = self.measurable_inplace_saves(method, sample, name)
            if measured:
                saves.add(measured)
            if out_of_place:
                comparison = compare_with_out_of_place(bound.first, method, sample, out_of_place)
                if comparison:
                    comparisons.append(comparison)
        declared = name not in METADATA_ONLY_METHODS
        if ran and mutates != declared:
            raise BuildError(f"{name}: changes version or values: {mutates}, but declared mutates_data={declared}")
        differences = sorted({c for c in comparisons if c != "same"})
        if differences:
            # x.eq_(y) keeps x's dtype where x.eq(y) is bool; x.bernoulli_() draws with p=0.5 where
            # x.bernoulli() reads x as probabilities: a rewrite must not swap such pairs blindly.
            differing = len(comparisons) - comparisons.count("same")
            self.notes.append(
                f"{name} vs {out_of_place}: {', '.join(differences)} differ, {differing} of {len(comparisons)} recipes"
            )
        return {
            "out_of_place": out_of_place,
            "mutates_data": declared,
            "saves": strongest(saves, INPLACE_SAVES) or "unknown",
            "equivalence_checked": bool(comparisons) and not differences,
        }

    def measurable_inplace_saves(self, method: Api, sample: Sample, name: str) -> str | None:
        """``saves`` on a float ``self`` that requires grad; None where that cannot be run."""
        if not isinstance(sample.args[0], Grad):
            return None
        try:
            return self.inplace_saves(method, sample, name, name)
        except RuntimeError:  # refused under grad (apply_) or no derivative (acosh_): not measurable
            return None

    # -- the whole table -----------------------------------------------------------------------

    def table(self) -> dict[str, Any]:
        names = [api.name for api in CATALOGUE]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise BuildError(f"duplicate catalogue entries: {duplicates}")
        with warnings.catch_warnings():
            # generic recipes hit deprecated overloads (add_(Number, Tensor)) and default
            # reductions (kl_div) on purpose; torch's advice about them is noise here
            warnings.simplefilter("ignore", UserWarning)
            ops = {api.name: self.entry(api) for api in CATALOGUE}
            methods = {name: self.inplace_method(name) for name in inplace_method_names()}
            members = members_table(self.notes)
            library = library_table(self.notes)
        return {
            "schema": SCHEMA,
            "torch_version": torch.__version__,
            "ops": ops,
            "inplace_methods": methods,
            "inplace_functions": inplace_functions(),
            **members,
            "library_inplace": library,
        }


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def build_table() -> dict[str, Any]:
    """The op table for the installed torch, as the JSON-ready dict ``render`` writes."""
    return Builder().table()


def render(table: Mapping[str, Any]) -> str:
    return json.dumps(table, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=TABLE_PATH)
    parser.add_argument("--check", action="store_true", help="compare with the existing file instead of writing")
    parser.add_argument("--no-cross-check", action="store_true", help="skip the derivatives.yaml cross-check")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    start = time.perf_counter()
    builder = Builder()
    table = builder.table()
    elapsed = time.perf_counter() - start
    for note in builder.notes:
        log.info("note: %s", note)
    kinds: dict[str, int] = {}
    for op in table["ops"].values():
        kinds[op["kind"]] = kinds.get(op["kind"], 0) + 1
    log.info("ops: %d (%s)", len(table["ops"]), ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    log.info(
        "in-place methods: %d, in-place functions: %d", len(table["inplace_methods"]), len(table["inplace_functions"])
    )
    log.info(
        "members: %s", ", ".join(f"{section} {len(table[section])}" for section in
                                 ("tensor_methods", "tensor_attributes", "module_methods", "module_attributes", "factories"))
    )
    log.info("measured in %.1f s on torch %s", elapsed, torch.__version__)
    if not options.no_cross_check:
        checked, unknown = cross_check(builder.saved_attributes)
        log.info("derivatives.yaml agrees on %d grad_fn types (%d not described there)", checked, unknown)

    text = render(table)
    if options.check:
        same = options.output.exists() and options.output.read_text(encoding="utf-8") == text
        log.info("%s is %s", options.output, "up to date" if same else "OUT OF DATE")
        return 0 if same else 1
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(text, encoding="utf-8")
    log.info("wrote %s (%d bytes)", options.output, len(text.encode()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
