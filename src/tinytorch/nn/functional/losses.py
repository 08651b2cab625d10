"""Module 05 Losses: how wrong the model is, as one number to differentiate.

Each loss is one :class:`Function` whose backward is written in closed form:
cross-entropy's gradient with respect to the logits is ``softmax - onehot``,
cheaper and more accurate than backpropagating through a log_softmax node and
an indexing node separately.

Shapes follow PyTorch: logits ``(N, C)`` or ``(N, C, d1, ...)`` with class
targets ``(N,)`` or ``(N, d1, ...)``; an unbatched ``(C,)`` with a scalar
target also works.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch import backends
from tinytorch.autograd import Function
from tinytorch.ops.activations import stable_sigmoid
from tinytorch.tensor import Tensor

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
           "mse_loss", "nll_loss"]

REDUCTIONS = ("mean", "sum", "none")


# ---- shared helpers -------------------------------------------------------------------


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss: np.ndarray, reduction: str, divisor: Any) -> np.ndarray:
    """loss: per-element losses -> the reduced loss (a 0-d array unless 'none')."""
    if reduction == "none":
        return loss
    total = np.sum(loss)
    with np.errstate(invalid="ignore", divide="ignore"):  # mean of nothing is nan, like PyTorch
        return np.asarray(total / divisor if reduction == "mean" else total, dtype=loss.dtype)


def _unreduce(grad: np.ndarray, shape: tuple[int, ...], reduction: str,
              divisor: Any) -> np.ndarray:
    """The backward of ``_reduce``: the upstream gradient of every element."""
    if reduction == "none":
        return grad
    return np.broadcast_to(grad / divisor if reduction == "mean" else grad, shape)


def _optional_array(x: Any, dtype: np.dtype) -> np.ndarray | None:
    if x is None:
        return None
    return np.asarray(x.data if isinstance(x, Tensor) else x, dtype=dtype)


def _to_rows(x: np.ndarray, op: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """Class scores (N, C, d1, ...) -> rows (M, C), M = N*d1*...; also the batch shape (N, d1, ...).

    Putting the class axis last and flattening the rest makes every loss a
    loop over rows, whatever the number of spatial dims.
    """
    if x.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, got a 0-d tensor")
    if x.ndim == 1:  # unbatched: (C,) with a scalar target
        return x[None, :], ()
    moved = np.moveaxis(x, 1, -1)
    return moved.reshape(-1, x.shape[1]), moved.shape[:-1]


def _from_rows(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of ``_to_rows``: (M, C) -> ``shape`` (N, C, d1, ...)."""
    if len(shape) == 1:
        return rows.reshape(shape)
    moved = rows.reshape(shape[:1] + shape[2:] + shape[1:2])
    return np.moveaxis(moved, -1, 1)


def _symbolic_batch_shape(ndim: int) -> str:
    return {1: "()", 2: "(N,)"}.get(ndim, "(N, d1, ...)")


def _class_targets(target: np.ndarray, logits_shape: tuple[int, ...],
                   batch_shape: tuple[int, ...], ignore_index: int,
                   op: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate class-index targets; return (indices safe to gather, mask of counted rows).

    Rows whose target is ``ignore_index`` (PyTorch's default -100, used for
    padding) contribute no loss and no gradient.
    """
    wanted = f"int64 class indices of shape {_symbolic_batch_shape(len(logits_shape))}"
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: targets must be {wanted} = {batch_shape} for input of shape "
                        f"{logits_shape}, got {target.dtype} targets of shape {target.shape}")
    if target.shape != batch_shape:
        raise ValueError(f"{op}: targets must be {wanted} = {batch_shape} for input of shape "
                         f"{logits_shape}, got targets of shape {target.shape}")
    num_classes = logits_shape[0 if len(logits_shape) == 1 else 1]
    flat = target.reshape(-1)
    counted = flat != ignore_index
    bad = counted & ((flat < 0) | (flat >= num_classes))
    if bad.any():
        raise IndexError(f"{op}: target {int(flat[bad][0])} is out of bounds for {num_classes} "
                         f"classes (valid class indices are 0..{num_classes - 1}, or "
                         f"ignore_index={ignore_index})")
    return np.where(counted, flat, 0), counted


def _check_same_shape(a: np.ndarray, b: np.ndarray, op: str) -> None:
    if np.shape(a) != np.shape(b):
        raise ValueError(f"{op}: input of shape {np.shape(a)} and target of shape "
                         f"{np.shape(b)} must have the same shape")


def _same_float_dtype(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """Targets take the input's float dtype: int or float64 labels must not silently
    turn a float32 graph into float64 (twice the memory and time from here on)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind == "f":
        b = b.astype(a.dtype, copy=False)
    return a, b


def _check_weight(weight: np.ndarray | None, num_classes: int, op: str) -> None:
    if weight is not None and weight.shape != (num_classes,):
        raise ValueError(f"{op}: weight must have shape ({num_classes},), one entry per "
                         f"class, got shape {weight.shape}")


# ---- classification --------------------------------------------------------------------


class CrossEntropy(Function):
    """log_softmax + negative log-likelihood, fused: loss_i = -sum_c q_ic log p_ic.

    q is the target distribution: onehot(y_i) scaled by weight[y_i], mixed with
    label_smoothing / C of every class, or given directly as probabilities.
    Backward: dloss_i/dz_ic = p_ic * sum_c q_ic - q_ic (= p - onehot in the
    plain case) -- no log, no division, so no loss of precision.
    """

    def forward(self, logits, target, weight=None, ignore_index=-100, reduction="mean",
                label_smoothing=0.0):
        # BEGIN SOLUTION 05
        logits, target = np.asarray(logits), np.asarray(target)
        rows, self.batch_shape = _to_rows(logits, "cross_entropy")
        M, C = rows.shape
        self.logits_shape, self.reduction, self.eps = logits.shape, reduction, label_smoothing
        _check_weight(weight, C, "cross_entropy")
        self.weight = None if weight is None else weight.astype(logits.dtype, copy=False)
        logp = backends.current().log_softmax(rows, 1)
        self.probabilities = target.dtype.kind == "f"
        if self.probabilities:  # soft targets: same shape as the logits
            if target.shape != logits.shape:
                raise TypeError(
                    f"cross_entropy: targets must be int64 class indices of shape "
                    f"{_symbolic_batch_shape(logits.ndim)} = {self.batch_shape}, or class "
                    f"probabilities of the input's shape {logits.shape}; got {target.dtype} "
                    f"targets of shape {target.shape}")
            q = _to_rows(target.astype(logits.dtype, copy=False), "cross_entropy")[0]
            if label_smoothing:
                q = q * (1 - label_smoothing) + label_smoothing / C
            if self.weight is not None:
                q = q * self.weight
            loss, self.q, self.divisor = -np.sum(q * logp, axis=1), q, M
        else:
            self.index, self.counted = _class_targets(target, logits.shape, self.batch_shape,
                                                      ignore_index, "cross_entropy")
            # as the logits' dtype: a bool or float64 mask here would turn the whole
            # backward pass into float64 (twice the bytes moved)
            counted = self.counted = self.counted.astype(logits.dtype)
            self.target_weight = counted if weight is None else self.weight[self.index] * counted
            loss = -(1 - label_smoothing) * self.target_weight * logp[np.arange(M), self.index]
            if label_smoothing:
                per_class = logp.sum(axis=1) if weight is None else logp @ self.weight
                loss = loss - (label_smoothing / C) * per_class * counted
            self.divisor = self.target_weight.sum()  # PyTorch: mean over the target weights
        # keep log p, not p: the exp is paid in backward only, so evaluation skips it
        self.logp = logp
        return _reduce(loss.reshape(self.batch_shape), reduction, self.divisor)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        g = _unreduce(grad, self.batch_shape, self.reduction, self.divisor).reshape(-1)
        p, eps = np.exp(self.logp), self.eps
        M, C = p.shape
        grad_target = None
        if self.probabilities:
            q = self.q
            grad_rows = p * (q.sum(axis=1) * g)[:, None] - q * g[:, None]
            if self.needs_input_grad[1]:
                scale = (1 - eps) if self.weight is None else (1 - eps) * self.weight
                grad_target = _from_rows(-self.logp * scale * g[:, None], self.logits_shape)
        else:
            on_target = (1 - eps) * self.target_weight * g
            if not eps:  # the common case: p * (weight of the target) - onehot
                grad_rows = p * on_target[:, None]
            else:
                weight_sum = C if self.weight is None else float(self.weight.sum())
                smooth = (eps / C) * self.counted * g
                grad_rows = p * (on_target + smooth * weight_sum)[:, None]
                grad_rows -= smooth[:, None] * (1 if self.weight is None else self.weight)
            grad_rows[np.arange(M), self.index] -= on_target
        return _from_rows(grad_rows, self.logits_shape), grad_target
        # END SOLUTION


class NLL(Function):
    """loss_i = -weight[y_i] * input[i, y_i] on log-probabilities; backward scatters -weight."""

    def forward(self, logp, target, weight=None, ignore_index=-100, reduction="mean"):
        # BEGIN SOLUTION 05
        logp, target = np.asarray(logp), np.asarray(target)
        rows, self.batch_shape = _to_rows(logp, "nll_loss")
        M, C = rows.shape
        _check_weight(weight, C, "nll_loss")
        self.shape, self.reduction = logp.shape, reduction
        self.index, counted = _class_targets(target, logp.shape, self.batch_shape,
                                             ignore_index, "nll_loss")
        counted = counted.astype(logp.dtype)
        self.target_weight = counted if weight is None else \
            weight.astype(logp.dtype)[self.index] * counted
        loss = -self.target_weight * rows[np.arange(M), self.index]
        self.divisor = self.target_weight.sum()
        return _reduce(loss.reshape(self.batch_shape), reduction, self.divisor)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        g = _unreduce(grad, self.batch_shape, self.reduction, self.divisor).reshape(-1)
        grad_rows = np.zeros((g.size, self.shape[0 if len(self.shape) == 1 else 1]),
                             dtype=grad.dtype)
        grad_rows[np.arange(g.size), self.index] = -self.target_weight * g
        return _from_rows(grad_rows, self.shape), None
        # END SOLUTION


# ---- regression and binary classification ------------------------------------------------


class MSE(Function):
    """mean((input - target)^2); d/dinput = 2 (input - target) / n."""

    def forward(self, a, b, reduction="mean"):
        # BEGIN SOLUTION 05
        _check_same_shape(a, b, "mse_loss")
        a, b = _same_float_dtype(a, b)
        self.diff, self.reduction = np.subtract(a, b), reduction
        return _reduce(self.diff * self.diff, reduction, self.diff.size)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        g = 2 * self.diff * _unreduce(grad, self.diff.shape, self.reduction, self.diff.size)
        want_a, want_b = self.needs_input_grad
        return (g if want_a else None), (-g if want_b else None)
        # END SOLUTION


class BCE(Function):
    """-w [t log p + (1 - t) log(1 - p)] on probabilities p in [0, 1].

    Each log is clamped at -100 (as PyTorch does) so p = 0 or 1 gives a large
    finite loss instead of inf.
    """

    def forward(self, p, t, weight=None, reduction="mean"):
        # BEGIN SOLUTION 05
        _check_same_shape(p, t, "binary_cross_entropy")
        p, t = _same_float_dtype(p, t)
        if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
            raise ValueError("binary_cross_entropy: all elements of input must be "
                             "probabilities in [0, 1]; for raw scores (logits) use "
                             "binary_cross_entropy_with_logits")
        with np.errstate(divide="ignore"):
            self.log_p = np.maximum(np.log(p), -100)
            self.log_1mp = np.maximum(np.log(1 - p), -100)
        self.p, self.t, self.reduction = p, t, reduction
        self.weight = 1 if weight is None else weight.astype(p.dtype, copy=False)
        loss = -self.weight * (t * self.log_p + (1 - t) * self.log_1mp)
        return _reduce(np.broadcast_to(loss, p.shape), reduction, p.size)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        p, t = self.p, self.t
        g = self.weight * _unreduce(grad, p.shape, self.reduction, p.size)
        want_p, want_t = self.needs_input_grad
        grad_p = g * (p - t) / np.maximum(p * (1 - p), 1e-12) if want_p else None
        grad_t = g * (self.log_1mp - self.log_p) if want_t else None
        return grad_p, grad_t
        # END SOLUTION


class BCEWithLogits(Function):
    """sigmoid + binary cross-entropy in one stable formula on logits x.

    loss = (1 - t) x + l * softplus(-x), l = 1 + (pos_weight - 1) t, with
    softplus(-x) = log(1 + exp(-|x|)) + max(-x, 0): the exponent is never
    positive, so x = +-1000 gives the exact loss, not inf or nan.
    Backward: d/dx = (1 - t) - l * sigmoid(-x) (= sigmoid(x) - t without pos_weight).
    """

    def forward(self, x, t, weight=None, pos_weight=None, reduction="mean"):
        # BEGIN SOLUTION 05
        _check_same_shape(x, t, "binary_cross_entropy_with_logits")
        x, t = _same_float_dtype(x, t)
        self.softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)
        self.x, self.t, self.reduction, self.pos_weight = x, t, reduction, pos_weight
        self.log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * t
        self.weight = 1 if weight is None else weight
        loss = self.weight * ((1 - t) * x + self.log_weight * self.softplus_neg)
        return _reduce(np.broadcast_to(loss, x.shape), reduction, x.size)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        x, t = self.x, self.t
        g = self.weight * _unreduce(grad, x.shape, self.reduction, x.size)
        want_x, want_t = self.needs_input_grad
        grad_x = g * ((1 - t) - self.log_weight * stable_sigmoid(-x)) if want_x else None
        grad_t = None
        if want_t:
            extra = 0 if self.pos_weight is None else (self.pos_weight - 1) * self.softplus_neg
            grad_t = g * (extra - x)
        return grad_x, grad_t
        # END SOLUTION


# ---- the public functions (PyTorch's names and arguments) --------------------------------


def _dtype_of(x: Any) -> np.dtype:
    return x.dtype if isinstance(x, (Tensor, np.ndarray)) else np.dtype(np.float32)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits ``input`` (N, C[, d1, ...]) against ``target``.

    ``target``: int64 class indices (N[, d1, ...]), or class probabilities with
    the input's shape. ``weight``: (C,) per-class weights. ``label_smoothing``
    in [0, 1] mixes the target with the uniform distribution.
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    return CrossEntropy.apply(input, target, weight=_optional_array(weight, _dtype_of(input)),
                              ignore_index=ignore_index, reduction=reduction,
                              label_smoothing=float(label_smoothing))


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C[, d1, ...])."""
    _check_reduction(reduction, "nll_loss")
    return NLL.apply(input, target, weight=_optional_array(weight, _dtype_of(input)),
                     ignore_index=ignore_index, reduction=reduction)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error; ``input`` and ``target`` must have the same shape."""
    _check_reduction(reduction, "mse_loss")
    return MSE.apply(input, target, reduction=reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities ``input`` in [0, 1] (any shape) vs ``target``."""
    _check_reduction(reduction, "binary_cross_entropy")
    return BCE.apply(input, target, weight=_optional_array(weight, _dtype_of(input)),
                     reduction=reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of logits ``input`` (any shape): stable for any magnitude.

    ``pos_weight`` (broadcast over the last dim, e.g. (C,)) scales the loss of
    positive targets: > 1 trades precision for recall.
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    dtype = _dtype_of(input)
    return BCEWithLogits.apply(input, target, weight=_optional_array(weight, dtype),
                               pos_weight=_optional_array(pos_weight, dtype),
                               reduction=reduction)
