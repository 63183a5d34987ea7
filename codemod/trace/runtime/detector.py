"""The detector: sees every tensor autograd saves and every write to memory it saved.

Three instruments, installed together by ``Detector``:

* ``saved_tensors_hooks`` (pack/unpack): every tensor autograd saves is registered with its
  version, its storage, whether it is the op's *result* or one of its *inputs*, the op that saved
  it and the user line that ran the op.  The object ``pack`` returns is what autograd keeps; when
  autograd drops it (the node ran in a backward that does not retain the graph, or the graph was
  freed) the tensor is no longer pending.  That is why ``optimizer.step()`` after ``backward()``
  is quiet: by then the parameters it updates are no longer saved by anything.
* a ``TorchDispatchMode`` below autograd sees each aten op.  Ops whose schema writes an argument
  (``Tensor(a!)``: in-place, ``out=``, ``copy_`` from ``y[i] = v``, the optimizers' ``_foreach_*_``)
  are looked up by storage; everything else is passed straight through.  Autograd bumps version
  counters after the op returns, so a write to a saved storage is judged afterwards: a moved
  version means an alias sharing the counter (the tensor, a view, a ``.detach()``), an unmoved
  version with shared bytes means a ``.data``-style alias that torch cannot see.
* a ``TorchFunctionMode`` above autograd.  Leaf, view and ``out=`` errors are raised by autograd
  before any op reaches the dispatch mode; this mode sees them as they leave the torch call and
  records the hazard before the exception reaches the program.  It is also where the writes of a
  torch call are judged, so ``stop_at_first`` raises from the line that made them.

Saved-tensor hooks switch off autograd's own version check, so ``unpack`` performs it and raises
torch's message (``torch_errors.version_mismatch``): the traced program fails where and how the
untraced one does.  Writes after a saved tensor was unpacked (a backward that retained the graph)
are only reported if a later backward unpacks it again, the one case where they matter.

Cost: the dispatch mode runs for every aten op, so its fast path is a dictionary lookup and a few
attribute reads; stacks are walked only when a tensor is saved and when a write hits a saved
storage.  The detector works on the thread that installed it (torch's modes and hooks are
thread-local).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import weakref
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, NamedTuple

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from . import checksums, events, ops, storage, torch_errors
from .events import Event, EventLog, describe_tensor
from .naming import written_name
from .sites import SiteFinder, SiteRef, library_dirs, ref_of

_NO_KWARGS: dict[str, Any] = {}
_CALLERS = 8  # user frames kept above a hazard's site
_WRITTEN = ops.WRITTEN
_CALL_IMPL = torch.nn.Module._call_impl.__code__
_FUNCTION_APPLY = torch.autograd.Function.apply.__func__.__code__
_CODEMOD = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_GRADSAFE_PACKAGES = (_CODEMOD, os.path.join(os.path.dirname(_CODEMOD), "transforms"))  # never user code


class InplaceHazard(Exception):
    """Raised at the hazardous line when tracing with ``stop_at_first=True``."""

    def __init__(self, event: Event, text: str) -> None:
        super().__init__(text)
        self.event = event


def _written_tensors(written: ops.Written, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Iterator[torch.Tensor]:
    for position, name in written:
        value = args[position] if position < len(args) else kwargs.get(name)
        if isinstance(value, torch.Tensor):
            yield value
        elif isinstance(value, (list, tuple)):
            yield from (item for item in value if isinstance(item, torch.Tensor))


def _ids(out: Any) -> Any:
    """What ``take_output`` compares: ``id(out)``, or the ids of a tuple of outputs."""
    return id(out) if type(out) is not tuple else tuple(map(id, out))


class _Saved:
    """One tensor autograd saved, while the node that saved it may still need it."""

    __slots__ = (
        "checksum",
        "is_result",
        "key",
        "node",
        "original",
        "output_nr",
        "requires_grad",
        "saved_by",
        "seen",
        "site",
        "stale",
        "tensor",
        "unpacked",
        "version",
    )
    # Set by Detector._pack once the entry is classified:
    tensor: torch.Tensor  # what autograd saved, or a ``.detach()`` alias of a saved result
    original: weakref.ref[torch.Tensor] | None  # the saved result itself, weakly; None for inputs
    site: SiteRef | None
    version: int  # the tensor's ``_version`` when saved
    seen: int  # the last version a check saw
    requires_grad: bool
    key: int  # storage.storage_key(tensor)

    def __init__(self) -> None:
        self.is_result = False
        self.node: str | None = None  # for results: the node label torch's error names
        self.output_nr = 0
        self.saved_by: str | None = None  # None until the op it is an input of runs
        self.unpacked = False  # a backward has used it (and kept the graph)
        self.stale: Event | None = None  # a write after that, reported only if used again
        self.checksum: int | None = None  # of its bytes, with ``checksum_saved`` (see ``checksums``)

    def original_tensor(self) -> torch.Tensor | None:
        """The tensor autograd was given (None if only the alias outlived it)."""
        return self.original() if self.original is not None else self.tensor


class _Packed:
    """What autograd keeps in place of a saved tensor.  Its death is the tensor's release."""

    __slots__ = ("entry", "index")

    def __init__(self, entry: _Saved, index: dict[int, set[_Saved]]) -> None:
        self.entry = entry
        self.index = index

    def __del__(self) -> None:
        # Runs inside autograd and at interpreter shutdown: attribute access only, nothing global.
        bucket = self.index.get(self.entry.key)
        if bucket is not None:
            bucket.discard(self.entry)
            if not bucket:
                del self.index[self.entry.key]


class _Location(NamedTuple):
    """Where the program was when something happened: its innermost user frame, the torch module
    running below it (``ReLU``), and the user frames that called it."""

    site: SiteRef | None
    via: str | None
    callers: tuple[SiteRef, ...]

    def event_fields(self) -> dict[str, Any]:
        site = self.site.resolve() if self.site is not None else None
        return {
            "site": site,
            "name": written_name(site) if site is not None else None,
            "via": self.via,
            "callers": tuple(caller.resolve() for caller in self.callers),
        }


class _Write:
    """A write that hit a saved storage, waiting for autograd to bump versions before it is judged."""

    __slots__ = ("checks", "location", "op")

    def __init__(self, op: str, location: _Location, checks: list[tuple[_Saved, torch.Tensor]]):
        self.op = op
        self.location = location
        self.checks = checks


class _WriteWatcher(TorchDispatchMode):  # type: ignore[misc]  # torch is Any at check time
    """Below autograd: remembers what each op produced, and catches writes to saved storage."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # By default torch wraps every ``__torch_dispatch__`` in ``torch._dynamo.disable``: three
        # extra Python calls per aten op, there to keep ``torch.compile`` from tracing a mode
        # used while compiling.  This one runs eagerly; on bench/trace_overhead.py's MLP the
        # wrapper alone took the traced run from 2.01x to 2.17x the untraced time.
        return False

    def __init__(self, detector: Detector) -> None:
        super().__init__()
        self.detector = detector
        self.index = detector.index
        self.last_op: Any = None  # the op that ran last: it saved the results packed after it
        self.last_out: Any = None  # ``_ids`` of its output: see take_output
        self.unattributed: list[_Saved] = []  # inputs packed for the op about to run
        self.unverified: list[_Write] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        if self.unverified:
            hazard = self.detector.settle()
            if hazard is not None:
                raise hazard
        if self.unattributed:
            name = ops.op_name(func)
            for entry in self.unattributed:
                entry.saved_by = name
            self.unattributed = []
        self.last_op = func
        written = _WRITTEN.get(func)
        if written is None:
            written = ops.written(func)
        if written and (self.index or ops.writes_lists(func)):  # else: nothing to judge or repair
            return self._write(func, written, args, kwargs)
        out = func(*args, **kwargs)
        self.last_out = _ids(out)
        return out

    def take_output(self, tensor: torch.Tensor) -> bool:
        """Whether ``tensor`` is an output of the last op, forgetting it: a node saves its own
        result once, so a second save of the same tensor is an input of the next op."""
        last, ident = self.last_out, id(tensor)
        if last == ident:
            self.last_out = None
            return True
        if type(last) is tuple and ident in last:
            self.last_out = tuple(i for i in last if i != ident)
            return True
        return False

    def _write(self, func: Any, written: ops.Written, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        targets = list(_written_tensors(written, args, kwargs))
        checks = []
        for tensor in targets:
            bucket = self.index.get(storage.storage_key(tensor))
            if bucket:
                checks += [(entry, tensor) for entry in tuple(bucket)]
        location = self.detector.locate(sys._getframe(1)) if checks else None
        versions = [tensor._version for tensor in targets] if ops.writes_lists(func) else None
        out = func(*args, **kwargs)
        self.last_out = _ids(out)
        if versions is not None:
            # Under any dispatch mode, torch 2.13 drops the version bump of in-place foreach ops
            # (``_foreach_add_`` leaves ``_version`` at 0; untraced it is 1), which would hide an
            # ``optimizer.step()`` (foreach) before backward.  Put the bump back.
            for tensor, version in zip(targets, versions, strict=True):
                if tensor._version == version and not tensor.is_inference():
                    torch.autograd.graph.increment_version(tensor)
        if location is not None:
            self.unverified.append(_Write(ops.op_name(func), location, checks))
        return out


class _ErrorWatcher(TorchFunctionMode):  # type: ignore[misc]  # torch is Any at check time
    """Above autograd: sees the errors autograd raises at in-place calls, and ends each torch call
    by judging the writes it made."""

    def __init__(self, detector: Detector) -> None:
        super().__init__()
        self.detector = detector
        self.writes = detector.writes

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        try:
            out = func(*args, **(kwargs or _NO_KWARGS))
        except RuntimeError as exc:
            hazard = self.detector.torch_error(func, args, kwargs or _NO_KWARGS, exc)
            if hazard is not None:
                raise hazard from exc
            raise
        writes = self.writes
        writes.last_out = None  # the call is over: what it produced is no longer "just produced"
        if writes.unverified:
            hazard = self.detector.settle()
            if hazard is not None:
                raise hazard
        return out


class Detector:
    """Installs the instruments on the current thread and turns what they see into ``Event``s.

    ``root`` is the project root: sites are frames in files under it.  ``on_event`` is called
    with each distinct event the first time it happens (a traced process writes it to the event
    log); ``log`` counts every occurrence.  With ``stop_at_first`` the first hazard raises
    ``InplaceHazard`` from the line that caused it instead of letting the program go on.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        stop_at_first: bool = False,
        on_event: Callable[[Event], None] | None = None,
        checksum_saved: bool = False,
    ) -> None:
        self.root = os.fspath(root)
        self.checksum_saved = checksum_saved  # compare saved tensors' bytes at unpack (GS603)
        self.stop_at_first = stop_at_first
        self.hazard: InplaceHazard | None = None  # to raise from the hook the program called
        self.on_event = on_event
        self.log = EventLog()
        torch_dir = os.path.dirname(torch.__file__)
        self.sites = SiteFinder(root, exclude=[torch_dir, *_GRADSAFE_PACKAGES, *library_dirs()])
        self.index: dict[int, set[_Saved]] = {}  # storage address -> pending saved tensors
        self.writes = _WriteWatcher(self)
        self._errors = _ErrorWatcher(self)
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self._installed: contextlib.ExitStack | None = None

    # -- installing ----------------------------------------------------------------------------

    def install(self) -> Detector:
        if self._installed is not None:
            raise RuntimeError("the detector is already installed")
        stack = contextlib.ExitStack()
        stack.enter_context(self._hooks)
        stack.enter_context(self._errors)
        stack.enter_context(self.writes)
        graph = torch.autograd.graph
        refuse_hooks = graph.disable_saved_tensors_hooks
        graph.disable_saved_tensors_hooks = functools.partial(self._stepping_aside, refuse_hooks)
        stack.callback(setattr, graph, "disable_saved_tensors_hooks", refuse_hooks)
        self._installed = stack
        return self

    @contextlib.contextmanager
    def _stepping_aside(self, refuse_hooks: Callable[[str], Any], message: str) -> Iterator[None]:
        """``torch.func.grad``/``vjp`` refuse to run while saved-tensor hooks are set (they call
        ``disable_saved_tensors_hooks``).  Inside them the detector's hooks step aside: those
        saves go untracked, and torch's own version check applies there again."""
        autograd = torch._C._autograd
        top = autograd._top_saved_tensors_default_hooks(True)
        ours = top is not None and top[0] == self._pack
        if ours:
            autograd._pop_saved_tensors_default_hooks()
        try:
            with refuse_hooks(message):
                yield
        finally:
            if ours:
                autograd._push_saved_tensors_default_hooks(self._pack, self._unpack)

    def uninstall(self) -> None:
        """Judge the last writes (without raising) and remove the instruments."""
        try:
            self.settle()
        finally:
            stack, self._installed = self._installed, None
            if stack is not None:
                stack.close()

    def __enter__(self) -> Detector:
        return self.install()

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    # -- saved tensors -------------------------------------------------------------------------

    def _pack(self, tensor: torch.Tensor) -> _Packed:
        if self.writes.unverified:
            hazard = self.settle()
            if hazard is not None:
                raise hazard
        caller = sys._getframe().f_back  # None when autograd saves from a thread without Python frames
        entry = _Saved()
        # A saved *result* points to the node being built, which will own this entry: holding it
        # would make a cycle torch cannot free, so the entry holds a ``.detach()`` alias (same
        # storage, same version counter, no graph) and a weak reference.  Inputs are held as torch
        # holds them, so an error names their grad_fn exactly as torch would.
        if self._classify_save(entry, tensor, caller):
            entry.tensor = storage.plain_detach(tensor)
            entry.original = weakref.ref(tensor)
        else:
            entry.tensor = tensor
            entry.original = None
        if entry.saved_by is None:  # an input: the op that saves it is the next one to run
            self.writes.unattributed.append(entry)
        user = self.sites.user_frame(caller)
        entry.site = ref_of(user) if user is not None else None
        entry.version = entry.seen = tensor._version
        entry.requires_grad = tensor.requires_grad
        entry.key = storage.storage_key(tensor)
        if self.checksum_saved:
            entry.checksum = self._checksum(tensor)
        if entry.key:
            self.index.setdefault(entry.key, set()).add(entry)
        return _Packed(entry, self.index)

    def _classify_save(self, entry: _Saved, tensor: torch.Tensor, caller: FrameType | None) -> bool:
        """Fill in whether ``tensor`` is saved as a result and by which op; returns whether the
        entry must not hold it strongly.  Only an output of the op that just ran can be the result
        of the node being built (inputs are saved before their op runs)."""
        writes = self.writes
        if caller is not None and caller.f_code is _FUNCTION_APPLY:  # ctx.save_for_backward in a custom Function
            function = caller.f_locals["cls"]
            entry.saved_by = function.__name__
            node = tensor.grad_fn
            if node is not None and getattr(node, "_forward_cls", None) is function:
                entry.is_result, entry.node, entry.output_nr = True, node.name(), tensor.output_nr
            return entry.is_result
        if not writes.take_output(tensor) or (node := tensor.grad_fn) is None:
            return False
        op = writes.last_op
        if ops.saves_result(type(node), op):
            entry.is_result, entry.node, entry.output_nr = True, node.name(), tensor.output_nr
        elif tensor._is_view() and ops.writes_first_argument(op):
            # ``v.relu_()`` on a view saves ``v``, whose grad_fn already reads as a view replay
            # (``AsStridedBackward0``); torch names the in-place op's own node, ``Relu``.
            entry.is_result, entry.node = True, ops.inplace_node_label(op)
        else:  # an input of the next op, unless a node of unknown kind (C++ Function) saves it
            return not ops.is_generated_node(type(node))
        entry.saved_by = ops.op_name(op)
        return True

    def _unpack(self, packed: _Packed) -> torch.Tensor:
        if self.writes.unverified:
            hazard = self.settle()
            if hazard is not None:
                raise hazard
        entry = packed.entry
        tensor = entry.tensor
        if tensor._version != entry.version:
            if entry.stale is not None:
                stale, entry.stale = entry.stale, None
                self.report(stale)
            hazard = self.settle()
            raise hazard if hazard is not None else RuntimeError(self._version_mismatch(entry))
        if (entry.checksum is not None and self._checksum(tensor) != entry.checksum
                and not checksums.unversioned_by_its_op(entry.saved_by, tensor, entry.requires_grad)):
            self._unseen_write(entry)
            hazard, self.hazard = self.hazard, None
            if hazard is not None:
                raise hazard
        entry.unpacked = True
        return tensor

    @staticmethod
    def _checksum(tensor: torch.Tensor) -> int | None:
        with torch._C.DisableTorchFunction():  # reading bytes is no call of the program's
            return checksums.checksum(tensor)

    def _unseen_write(self, entry: _Saved) -> None:
        """The saved bytes changed and no torch op wrote them (GS603, at the line that saved them)."""
        entry.checksum = self._checksum(entry.tensor)  # one report per change
        saved_at = entry.site.resolve() if entry.site is not None else None
        self.report(
            Event(
                code=events.UNSEEN_WRITE,
                op="a write outside torch",
                site=saved_at,
                tensor=describe_tensor(str(entry.tensor.dtype), entry.tensor.shape),
                saved_by=entry.saved_by or "an op",
                saved_at=saved_at,
            )
        )

    def _version_mismatch(self, entry: _Saved) -> str:
        tensor = entry.tensor
        if entry.is_result:
            node, output_nr = entry.node, entry.output_nr
        else:  # torch names the input's grad_fn as it is now (the op that modified it)
            original = entry.original_tensor()
            grad_fn = original.grad_fn if original is not None else None
            node, output_nr = (grad_fn.name() if grad_fn is not None else None), 0
        return torch_errors.version_mismatch(
            type_name=tensor.type(),
            sizes=tuple(tensor.shape),
            node=node,
            output_nr=output_nr,
            version=tensor._version,
            expected=entry.version,
            anomaly=torch.is_anomaly_enabled(),
        )

    # -- writes --------------------------------------------------------------------------------

    def settle(self) -> InplaceHazard | None:
        """Judge pending writes; return the hazard to raise when stopping at the first one.

        The hooks raise it themselves, so the traceback ends in the torch call the program made
        at the hazardous line, not deep inside the detector.
        """
        writes = self.writes
        pending, writes.unverified = writes.unverified, []
        for write in pending:
            for entry, target in write.checks:
                # Every write to this storage is judged before the next op runs, so a version that
                # moved since the last judgement moved in this op (foreach ops bump it before
                # they dispatch, so the version at the write would not do).
                version = entry.tensor._version
                code = self._judge(entry, target, bumped=version != entry.seen)
                entry.seen = version
                if entry.checksum is not None:  # torch made this write, and it is judged here
                    entry.checksum = self._checksum(entry.tensor)
                if code is not None:
                    self._overwrite(code, entry, write)
        hazard, self.hazard = self.hazard, None
        return hazard

    @staticmethod
    def _judge(entry: _Saved, target: torch.Tensor, *, bumped: bool) -> str | None:
        base = target._base if target._is_view() else target
        if bumped:  # the writer shares the saved tensor's version counter: torch will notice
            if entry.requires_grad and not base.requires_grad:
                return events.DETACH_WRITE
            return events.SAVED_RESULT if entry.is_result else events.SAVED_INPUT
        if base is entry.original_tensor() or not storage.overlap(entry.tensor, target):
            # A write torch does not version, by the tensor itself (batch norm updating the
            # running stats it saved), or to other bytes of the storage.
            return None
        return events.DATA_WRITE

    def _overwrite(self, code: str, entry: _Saved, write: _Write) -> None:
        event = Event(
            code=code,
            op=write.op,
            tensor=describe_tensor(str(entry.tensor.dtype), entry.tensor.shape),
            saved_by=entry.saved_by or "an op",
            saved_at=entry.site.resolve() if entry.site is not None else None,
            **write.location.event_fields(),
        )
        if entry.unpacked:  # already used by a backward that kept the graph: matters only if reused
            if entry.stale is None:
                entry.stale = event
            return
        self.report(event)

    # -- errors torch raises at the call -------------------------------------------------------

    def torch_error(
        self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], exc: RuntimeError
    ) -> InplaceHazard | None:
        """Record the hazard behind an error torch raised at an in-place call, if it is one;
        return the hazard to raise instead when stopping at the first one."""
        text = str(exc)
        code = torch_errors.classify(text)
        if code is None:
            return None
        deeper = self.sites.raised_at(exc.__traceback__)  # a user function the torch call ran
        location = self.locate(*deeper) if deeper is not None else self.locate(sys._getframe(1))
        candidates = [kwargs["out"]] if code == events.OUT_WITH_GRAD and "out" in kwargs else args
        written = next((t for t in candidates if isinstance(t, torch.Tensor)), None)
        self.report(
            Event(
                code=code,
                op=getattr(func, "__name__", str(func)),
                tensor=describe_tensor(str(written.dtype), written.shape) if written is not None else "tensor",
                detail=text.split("\n", 1)[0],
                **location.event_fields(),
            )
        )
        hazard, self.hazard = self.hazard, None
        return hazard

    # -- reporting -----------------------------------------------------------------------------

    def locate(self, frame: FrameType | None, at: SiteRef | None = None) -> _Location:
        """The innermost user frame from ``frame`` outwards (at ``at``, if given), the innermost
        torch module (``nn.ReLU``) running below it, and the user frames that called it."""
        is_user = self.sites.is_user_file
        via = None
        while frame is not None and not is_user(frame.f_code.co_filename):
            if via is None and frame.f_code is _CALL_IMPL:
                via = type(frame.f_locals.get("self")).__name__
            frame = frame.f_back
        if frame is None:
            return _Location(None, via, ())
        callers: list[SiteRef] = []
        caller = frame.f_back
        while caller is not None and len(callers) < _CALLERS:
            if is_user(caller.f_code.co_filename):
                callers.append(ref_of(caller))
            caller = caller.f_back
        return _Location(at or ref_of(frame), via, tuple(callers))

    def report(self, event: Event) -> None:
        if self.log.record(event) == 1 and self.on_event is not None:
            self.on_event(event)
        if self.stop_at_first and self.hazard is None:
            self.hazard = InplaceHazard(event, f"gradsafe {event.code}: {events.message(event, self.root)}")

    @property
    def events(self) -> list[tuple[Event, int]]:
        """Distinct events seen so far, each with its number of occurrences."""
        return self.log.items()
