"""Module 06 Autograd: the computation graph and reverse-mode differentiation.

Every differentiable operation is a :class:`Function` subclass whose
``forward`` computes the output from NumPy arrays and whose ``backward`` says
how the gradient of the output flows back to each input -- the two rules sit
next to each other, so reading one op tells you everything about it.

``Function.apply`` runs ``forward`` and, when gradients are wanted, records
the call as a node of the graph: the output tensor's ``grad_fn``. Calling
``loss.backward()`` walks those nodes in reverse topological order.

Systems note: every node keeps the arrays its backward needs alive until
``backward`` runs (the "activation memory" of training). After ``backward``
the graph is released unless ``retain_graph=True``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import ContextDecorator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tinytorch.tensor import Tensor

__all__ = ["Function", "backward", "enable_grad", "gradcheck", "graph_nodes", "is_grad_enabled",
           "no_grad", "saved_bytes"]

_state = threading.local()

#: Module 19: the recording ``tinytorch.profiler.profile`` while one is active, else None.
#: ``backward()`` reads it once per call, so with profiling off the engine pays one global
#: lookup per backward pass and one ``is None`` test per node (``Function.apply`` pays
#: nothing: the profiler wraps it only while recording).
_profiler: Any = None


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()``."""
    return getattr(_state, "enabled", True)


class _GradMode(ContextDecorator):
    """``with no_grad():`` / ``@no_grad()``: switch graph recording for this thread, and
    restore the previous mode on exit (also when the block raises)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        self.previous.append(is_grad_enabled())
        _state.enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self.previous.pop()


def no_grad() -> _GradMode:
    """Context manager (and decorator) that records no graph: inference and parameter updates."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Context manager that turns graph recording back on inside ``no_grad()``."""
    return _GradMode(True)


_Tensor: Any = None  # tinytorch.tensor.Tensor, looked up once (it imports this module)


def _tensor_class() -> Any:
    global _Tensor
    from tinytorch.tensor import Tensor

    _Tensor = Tensor
    return Tensor


class Function:
    """One differentiable operation, and (after ``apply``) one node of the graph.

    Subclasses implement ``forward(*arrays, **options) -> ndarray`` and
    ``backward(grad) -> tuple`` with one entry per positional argument of
    ``forward`` (an array, or ``None`` where no gradient flows). They keep what
    ``backward`` needs as attributes of ``self``.
    """

    # The graph's own attributes, with class-level defaults so that a node costs
    # nothing to create; everything a forward stores on ``self`` is saved state
    # that ``release`` frees after backward.
    _GRAPH_ATTRS = frozenset({"inputs", "needs_input_grad", "released"})
    inputs: tuple[Tensor | None, ...] = ()
    needs_input_grad: tuple[bool, ...] = ()
    released = False

    def forward(self, *args: Any, **kwargs: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define forward()")

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:  # pragma: no cover
        raise TypeError(f"{type(self).__name__} must define backward()")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        """Run the op on tensors (or plain values) and record it in the graph if needed.

        Systems note: this runs for every op, so it does as little as it can when no
        graph is wanted (no input requires grad, or inside ``no_grad()``): one pass
        over the arguments, no saved inputs, no node kept.
        """
        Tensor = _Tensor or _tensor_class()
        node = cls.__new__(cls)
        arrays, wants = [], []
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                wants.append(a.requires_grad)
            else:
                # NumPy scalars (np.float64(2.0), np.sqrt(d)) act like Python numbers, as in
                # PyTorch: they must not silently promote a float32 tensor to float64
                arrays.append(a.item() if isinstance(a, np.generic) else a)
                wants.append(False)
        record = True in wants and getattr(_state, "enabled", True)
        if record:  # which inputs want a gradient: lets backward skip work for constants
            node.needs_input_grad = tuple(wants)
        out = node.forward(*arrays, **kwargs)
        result = Tensor._wrap(out, record)
        if record:
            node.inputs = tuple(a if isinstance(a, Tensor) else None for a in args)
            result.grad_fn = node
        return result

    def release(self) -> None:
        """Free the saved arrays and the links to the inputs (the graph's memory)."""
        self.__dict__.clear()  # every attribute set on the node; the class defaults remain
        self.released = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


def _topological_order(root: Function) -> list[Function]:
    """Nodes reachable from ``root``, each after every node that consumes its output."""
    # BEGIN SOLUTION 06
    order: list[Function] = []
    visited: set[int] = set()
    stack: list[tuple[Function, bool]] = [(root, False)]
    while stack:  # iterative DFS: deep graphs (long sequences) must not hit the recursion limit
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for inp in node.inputs:
            if inp is not None and inp.grad_fn is not None and id(inp.grad_fn) not in visited:
                stack.append((inp.grad_fn, False))
    order.reverse()  # root first
    return order
    # END SOLUTION


def _seed(root: Tensor, gradient: Any) -> np.ndarray:
    """The upstream gradient dL/droot that backward starts from, checked against root."""
    if not root.requires_grad:
        raise RuntimeError("backward(): this tensor does not require grad and has no "
                           "grad_fn; set requires_grad=True on the inputs you differentiate")
    if gradient is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward(): the tensor has shape {root.shape}, not a scalar. Pass "
                f"gradient=<tensor of shape {root.shape}> (the upstream dL/dthis), or "
                f"reduce it first, e.g. out.sum().backward()")
        return np.ones(root.shape, dtype=root.dtype)
    Tensor = _Tensor or _tensor_class()
    seed = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient,
                      dtype=root.dtype)
    if seed.shape != root.shape:
        raise RuntimeError(f"backward(): gradient has shape {seed.shape} but the tensor "
                           f"has shape {root.shape}")
    return seed


def backward(root: Tensor, gradient: Any = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) * gradient into ``.grad`` of every leaf that requires grad."""
    gradient = _seed(root, gradient)
    if root.grad_fn is None:  # a leaf: its gradient is the seed itself
        root._accumulate_grad(gradient)
        return
    if root.grad_fn.released:
        raise RuntimeError(
            "Trying to backward through the graph a second time: its saved values were freed "
            "by the first backward(). Pass retain_graph=True to the first backward() if you "
            "need to call it twice.")
    # BEGIN SOLUTION 06
    pending: dict[int, np.ndarray] = {id(root.grad_fn): gradient}
    profiler = _profiler
    for node in _topological_order(root.grad_fn):
        grad = pending.pop(id(node), None)
        if grad is None:
            continue
        if node.released:
            raise RuntimeError(
                "Trying to backward through part of a graph that an earlier backward() already "
                "freed; pass retain_graph=True to that earlier backward().")
        input_grads = node.backward(grad) if profiler is None else profiler.node_backward(node,
                                                                                          grad)
        if len(input_grads) != len(node.inputs):
            raise RuntimeError(f"{node!r} returned {len(input_grads)} gradients for "
                               f"{len(node.inputs)} inputs")
        for inp, g in zip(node.inputs, input_grads, strict=True):
            if inp is None or g is None or not inp.requires_grad:
                continue
            if g.shape != inp.shape:
                raise RuntimeError(f"{node!r} produced a gradient of shape {g.shape} for an "
                                   f"input of shape {inp.shape}")
            if inp._retains_grad or inp.grad_fn is None:
                inp._accumulate_grad(g)
            if inp.grad_fn is not None:
                key = id(inp.grad_fn)
                pending[key] = pending[key] + g if key in pending else g
        if not retain_graph:
            node.release()
    # END SOLUTION


def graph_nodes(root: Tensor) -> list[Function]:
    """Every node of the graph that produced ``root``, root first."""
    return [] if root.grad_fn is None else _topological_order(root.grad_fn)


def saved_bytes(root: Tensor) -> int:
    """Bytes of arrays the graph behind ``root`` keeps alive for backward.

    This is the activation memory of training: it grows with batch size and
    depth, and it is why inference under ``no_grad()`` needs far less memory.
    """
    seen: set[int] = set()
    total = 0
    for node in graph_nodes(root):
        for name, value in vars(node).items():
            if name in Function._GRAPH_ATTRS or not isinstance(value, np.ndarray):
                continue
            base = value if value.base is None else value.base  # views share their base
            if id(base) not in seen:
                seen.add(id(base))
                total += base.nbytes
    return total


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Compare analytic gradients of ``fn(*inputs)`` with central finite differences.

    Runs in float64 (inputs are copied to float64): finite differences in
    float32 are too noisy to check anything. The output is contracted with a
    fixed random tensor so non-scalar outputs are checked in every direction.
    Returns True, or raises ``AssertionError`` naming the input and the worst
    element.
    """
    from tinytorch.tensor import Tensor

    leaves = [Tensor(np.array(t.data, dtype=np.float64, order="C"), requires_grad=t.requires_grad)
              for t in inputs]
    rng = np.random.default_rng(seed)
    probe = None

    def objective() -> Tensor:
        nonlocal probe
        out = fn(*leaves)
        if probe is None:
            probe = rng.standard_normal(out.shape)
        return (out * Tensor(probe)).sum()

    for t in leaves:
        t.grad = None
    objective().backward()
    analytic = [None if t.grad is None else t.grad.data.copy() for t in leaves]
    for index, t in enumerate(leaves):
        if not t.requires_grad:
            continue
        numeric = np.zeros_like(t.data)
        flat, num_flat = t.data.reshape(-1), numeric.reshape(-1)
        with no_grad():
            for i in range(flat.size):
                original = flat[i]
                flat[i] = original + eps
                plus = objective().item()
                flat[i] = original - eps
                minus = objective().item()
                flat[i] = original
                num_flat[i] = (plus - minus) / (2 * eps)
        got = analytic[index] if analytic[index] is not None else np.zeros_like(numeric)
        if not np.allclose(got, numeric, atol=atol, rtol=rtol):
            worst = np.unravel_index(np.argmax(np.abs(got - numeric)), numeric.shape)
            raise AssertionError(
                f"gradcheck failed for input {index} (shape {t.shape}) at {worst}: "
                f"analytic {got[worst]:.6g} vs numeric {numeric[worst]:.6g}")
    return True
