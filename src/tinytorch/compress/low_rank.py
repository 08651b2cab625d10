"""Module 18: a Linear layer as two thinner ones (truncated SVD).

W (out, in) = U S V^T. Keeping the r largest singular values gives the best
rank-r approximation in the Frobenius norm (Eckart-Young), and
x W^T = (x V_r sqrt(S_r)) (sqrt(S_r) U_r^T): a Linear(in, r) then a Linear(r, out).
Parameters drop from in*out to r*(in + out) -- fewer only when
r < in*out / (in + out), which ``low_rank`` checks instead of quietly returning a
bigger model.
"""

from __future__ import annotations

import numpy as np

from tinytorch.compress.sparse import effective_weight
from tinytorch.nn.container import Sequential
from tinytorch.nn.linear import Linear
from tinytorch.nn.parameter import Parameter

__all__ = ["choose_rank", "low_rank", "low_rank_parameters"]


def low_rank_parameters(in_features: int, out_features: int, rank: int, bias: bool = True) -> int:
    """Parameters of the factorised layer: rank * (in + out) (+ out for the bias)."""
    return rank * (in_features + out_features) + (out_features if bias else 0)


def choose_rank(singular_values: np.ndarray, energy: float) -> int:
    """The smallest r whose top singular values keep ``energy`` of sum(S^2) (0 < energy <= 1)."""
    if not 0.0 < energy <= 1.0:
        raise ValueError(f"low_rank: energy must be in (0, 1], got {energy}")
    kept = np.cumsum(singular_values.astype(np.float64) ** 2)
    if kept[-1] == 0:
        return 1
    return int(np.searchsorted(kept / kept[-1], energy - 1e-12) + 1)


def low_rank(linear: Linear, rank: int | None = None, energy: float | None = None,
             allow_larger: bool = False) -> Sequential:
    """``Sequential(Linear(in, r, bias=False), Linear(r, out))`` approximating ``linear``.

    Give ``rank`` directly (1 <= rank <= min(in, out)) or ``energy``, the fraction of
    the squared singular values to keep (0.9: the smallest rank that keeps 90%).
    A rank whose factorisation has at least as many parameters as the layer raises
    ValueError unless ``allow_larger=True`` (it would save nothing).
    """
    if not isinstance(linear, Linear):
        raise TypeError(f"low_rank: expected an nn.Linear, got {type(linear).__name__}")
    if (rank is None) == (energy is None):
        raise ValueError("low_rank: give exactly one of rank= or energy=")
    out_f, in_f = linear.out_features, linear.in_features
    full = min(in_f, out_f)
    if rank is not None and (isinstance(rank, bool) or not isinstance(rank, (int, np.integer))
                             or not 1 <= rank <= full):
        raise ValueError(f"low_rank: rank must be an int in [1, {full}] for a Linear({in_f}, "
                         f"{out_f}) (min(in, out) = {full}), got {rank!r}")
    weight = effective_weight(linear).astype(np.float64)
    # BEGIN SOLUTION 18
    U, S, Vt = np.linalg.svd(weight, full_matrices=False)
    r = int(rank) if rank is not None else choose_rank(S, float(energy))  # type: ignore[arg-type]
    root = np.sqrt(S[:r])
    first = root[:, None] * Vt[:r]          # (r, in):  x -> x V_r sqrt(S_r)
    second = U[:, :r] * root[None, :]       # (out, r): -> ... sqrt(S_r) U_r^T
    # END SOLUTION
    has_bias = linear.bias is not None
    dense = in_f * out_f + (out_f if has_bias else 0)
    factored = low_rank_parameters(in_f, out_f, r, has_bias)
    if factored >= dense and not allow_larger:
        raise ValueError(f"low_rank: rank {r} gives {factored:,} parameters, not fewer than the "
                         f"layer's {dense:,} (a saving needs rank < in*out/(in+out) = "
                         f"{in_f * out_f / (in_f + out_f):.1f}); pass allow_larger=True to "
                         "build it anyway")
    dtype = linear.weight.dtype if "weight" in linear._parameters else np.float32
    a = Linear(in_f, r, bias=False, dtype=dtype)
    b = Linear(r, out_f, bias=has_bias, dtype=dtype)
    a.weight = Parameter(first.astype(dtype))
    b.weight = Parameter(np.ascontiguousarray(second.astype(dtype)))
    if has_bias:
        b.bias = Parameter(effective_weight(linear, "bias").astype(dtype).copy())
    return Sequential(a, b)
