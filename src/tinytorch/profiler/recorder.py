"""Module 19: ``profile``, the recorder, and ``record_function``.

``with profile() as prof:`` wraps, for as long as the block runs,

* ``Function.apply`` (every op's forward, named after its Function: ``Linear``),
* every node's backward (``LinearBackward``, through the slot ``autograd._profiler``)
  and the whole backward pass (``autograd::engine::backward``),
* every kernel of every loaded backend (``native::matmul``: backend::kernel),
* ``nn.Module.__call__`` (``nn.Module: Conv2d``) and ``Optimizer.step``
  (``Optimizer.step#Adam.step``, PyTorch's name),

and puts every original back on exit. With no profile active nothing is wrapped:
the only trace of the profiler in the hot path is the ``autograd._profiler is None``
test per backward node (``tests/test_19_profiler.py`` checks both).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch import autograd, backends
from tinytorch.autograd import Function
from tinytorch.nn.module import Module
from tinytorch.optim.optimizer import Optimizer
from tinytorch.profiler.events import EventList, FunctionEvent
from tinytorch.profiler.flops import kernel_flops
from tinytorch.tensor import Tensor
from tinytorch.utils.benchmark import now_ns

__all__ = ["profile", "record_function"]

_active: profile | None = None  # the one recording profile (recording is process-wide)
_lock = threading.Lock()


def _shape(a: Any) -> tuple[int, ...] | None:
    if isinstance(a, Tensor):
        return tuple(a.shape)
    return a.shape if isinstance(a, np.ndarray) else None


def _owner(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s buffer (a view's base, its base's base, ...)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _new_bytes(out: Any, inputs: tuple) -> int:
    """Bytes of the buffers behind ``out`` that none of ``inputs`` owned: what the call
    allocated for its outputs (each buffer once; a view of an input costs nothing)."""
    known = {id(_owner(a)) for a in _arrays(inputs)}
    total = 0
    for a in _arrays(out):
        owner = _owner(a)
        if id(owner) not in known:
            known.add(id(owner))
            total += owner.nbytes
    return total


def _arrays(out: Any) -> list[np.ndarray]:
    if isinstance(out, Tensor):
        return [out.data]
    if isinstance(out, np.ndarray):
        return [out]
    if isinstance(out, tuple | list):
        return [a for o in out for a in _arrays(o)]
    return []


class profile:
    """Record what the block runs: ``with profile(record_shapes=True) as prof: ...`` then
    ``print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))`` and
    ``prof.export_chrome_trace("trace.json")``.

    ``record_shapes``: keep each range's input shapes (``key_averages(group_by_input_shape=
    True)``). ``profile_memory``: bytes of the arrays each op and kernel returned.
    ``with_flops``: FLOPs of each kernel call (matmul, bmm, convolutions, attention;
    a multiply-add counts 2). ``module_names`` (id(module) -> name) names module ranges
    by their path in a model, as ``count_flops`` does.
    """

    def __init__(self, record_shapes: bool = False, profile_memory: bool = False,
                 with_flops: bool = False, module_names: dict[int, str] | None = None) -> None:
        self.record_shapes, self.profile_memory = bool(record_shapes), bool(profile_memory)
        self.with_flops = bool(with_flops)
        self.module_names = module_names
        self.events: list[FunctionEvent] = []
        self.flops_by_module: dict[str, int] = {}
        self.thread_names: dict[int, str] = {}
        self._local = threading.local()
        self._restore: list[Callable[[], None]] = []
        self.start_ns = self.stop_ns = 0

    # ---- starting and stopping ---------------------------------------------------------
    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        global _active
        with _lock:
            if _active is not None:
                raise RuntimeError("profile: another profile is already recording (profiles "
                                   "do not nest; use record_function for sub-ranges)")
            _active = self
        self.events, self.flops_by_module = [], {}
        self.start_ns = now_ns()
        try:
            self._instrument()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        global _active
        for undo in reversed(self._restore):
            undo()
        self._restore = []
        self.stop_ns = now_ns()
        with _lock:
            if _active is self:
                _active = None

    def _instrument(self) -> None:
        record = self._record
        original_apply = Function.__dict__["apply"]

        def apply(cls: type, *args: Any, **kwargs: Any) -> Any:
            return record(cls.__name__, "function", original_apply.__func__, (cls, *args),
                          kwargs, args)

        Function.apply = classmethod(apply)  # type: ignore[method-assign, assignment]
        self._restore.append(lambda: setattr(Function, "apply", original_apply))

        autograd._profiler = self
        self._restore.append(lambda: setattr(autograd, "_profiler", None))
        original_backward = autograd.backward

        def backward(root: Any, gradient: Any = None, retain_graph: bool = False) -> None:
            record("autograd::engine::backward", "engine", original_backward,
                   (root, gradient, retain_graph), {}, (root,))

        autograd.backward = backward  # Tensor.backward calls autograd.backward
        self._restore.append(lambda: setattr(autograd, "backward", original_backward))

        original_call = Module.__call__
        names = self.module_names

        def call(module: Module, *args: Any, **kwargs: Any) -> Any:
            name = names.get(id(module)) if names is not None else None
            return record(f"nn.Module: {type(module).__name__}", "module", original_call,
                          (module, *args), kwargs, args, module=name)

        Module.__call__ = call  # type: ignore[method-assign]
        self._restore.append(lambda: setattr(Module, "__call__", original_call))

        original_step = Optimizer.step

        def step(optimizer: Optimizer, *args: Any, **kwargs: Any) -> Any:
            kind = type(optimizer).__name__
            return record(f"Optimizer.step#{kind}.step", "optimizer", original_step,
                          (optimizer, *args), kwargs, ())

        Optimizer.step = step  # type: ignore[method-assign]
        self._restore.append(lambda: setattr(Optimizer, "step", original_step))

        backends.available_backends()  # load every backend now, so each one is wrapped
        for backend in list(backends._loaded.values()):
            for kernel, fn in backend.kernels.items():
                setattr(backend, kernel, self._kernel(backend.name, kernel, fn))
            self._restore.append(lambda b=backend: [setattr(b, k, f)
                                                     for k, f in b.kernels.items()])

    def _kernel(self, backend: str, kernel: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        name, record = f"{backend}::{kernel}", self._record

        def run(*args: Any, **kwargs: Any) -> Any:
            return record(name, "kernel", fn, args, kwargs, args, backend=backend,
                          kernel=kernel)

        return run

    # ---- recording -----------------------------------------------------------------------
    def _thread(self) -> tuple[list[list[Any]], int]:
        local = self._local
        stack = getattr(local, "stack", None)
        if stack is None:
            stack = local.stack = []
            local.tid = len(self.thread_names) + 1
            current = threading.current_thread()
            self.thread_names[local.tid] = f"{current.name} ({current.ident})"
        return stack, local.tid

    def _record(self, name: str, category: str, fn: Callable[..., Any], args: tuple,
                kwargs: dict, inputs: tuple, backend: str = "", kernel: str = "",
                module: str | None = None) -> Any:
        """Run ``fn(*args, **kwargs)`` as one range: time it, nest it, keep its event."""
        stack, tid = self._thread()
        frame: list[Any] = [0, 0, module]  # children's ns, children's bytes, module path
        stack.append(frame)
        start = now_ns()
        try:
            out = fn(*args, **kwargs)
        finally:
            end = now_ns()
            stack.pop()
            duration = end - start
            # BEGIN SOLUTION 19
            self_ns = duration - frame[0]  # exclusive time: less every direct child
            if stack:
                stack[-1][0] += duration   # ... and this range is a child of the one below
            # END SOLUTION
        event = FunctionEvent(name, category, start, duration, self_ns, tid, len(stack),
                              tuple(_shape(a) for a in inputs) if self.record_shapes else (),
                              backend)
        if self.profile_memory and category in ("kernel", "function", "backward"):
            made = _new_bytes(out, inputs)
            event.cpu_memory_usage = made
            event.self_cpu_memory_usage = max(made - frame[1], 0)
            if stack:
                stack[-1][1] += made
        if self.with_flops and kernel:
            event.flops = flops = kernel_flops(kernel, args)
            if flops and self.module_names is not None:
                for outer in stack:
                    if outer[2] is not None:
                        self.flops_by_module[outer[2]] = \
                            self.flops_by_module.get(outer[2], 0) + flops
        self.events.append(event)
        return out

    def node_backward(self, node: Function, grad: np.ndarray) -> Any:
        """Called by the autograd engine for each node while this profile records."""
        return self._record(f"{type(node).__name__}Backward", "backward", node.backward,
                            (grad,), {}, (grad,))

    # ---- results -------------------------------------------------------------------------
    def _check_stopped(self, what: str) -> None:
        if _active is self:
            raise RuntimeError(f"profile.{what}(): still recording; call it after the "
                               "`with profile() as prof:` block")

    def function_events(self) -> EventList:
        return EventList(self.events, self.profile_memory, self.with_flops, self.record_shapes)

    def key_averages(self, group_by_input_shape: bool = False) -> EventList:
        self._check_stopped("key_averages")
        return self.function_events().key_averages(group_by_input_shape)

    def export_chrome_trace(self, path: str) -> None:
        self._check_stopped("export_chrome_trace")
        self.function_events().export_chrome_trace(path, self.start_ns, self.thread_names)

    @property
    def wall_time_ns(self) -> int:
        return self.stop_ns - self.start_ns


class record_function:
    """A named user range: ``with record_function("data"): ...``. Outside a profile it
    does nothing (one global lookup)."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"record_function: name must be a non-empty str, got {name!r}")
        self.name = name
        self._frame: list[Any] | None = None

    def __enter__(self) -> record_function:
        prof = _active
        if prof is not None:
            self._prof = prof
            stack, self._tid = prof._thread()
            self._frame = [0, 0, None]
            stack.append(self._frame)
            self._start = now_ns()
        return self

    def __exit__(self, *exc: object) -> None:
        frame = self._frame
        if frame is None:
            return
        end = now_ns()
        prof = self._prof
        stack, _ = prof._thread()
        if stack and stack[-1] is frame:
            stack.pop()
        duration = end - self._start
        if stack:
            stack[-1][0] += duration
        prof.events.append(FunctionEvent(self.name, "user", self._start, duration,
                                         duration - frame[0], self._tid, len(stack)))
        self._frame = None
