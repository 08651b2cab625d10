"""Module 18: the pruning methods behind ``compress.prune`` (``torch.nn.utils.prune``'s classes).

A method computes a mask (``compute_mask``) and is, once applied, the forward
pre-hook that recomputes ``module.<name> = <name>_orig * <name>_mask``.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from tinytorch.nn.module import Module
from tinytorch.nn.parameter import Parameter
from tinytorch.random import default_generator
from tinytorch.tensor import Tensor

__all__ = [
    "BasePruningMethod", "CustomFromMask", "Identity", "L1Unstructured", "LnStructured",
    "PruningContainer", "RandomStructured", "RandomUnstructured",
]


# ---- how much to prune ------------------------------------------------------------------
def _validate_amount(amount: Any) -> None:
    """A fraction in [0, 1] (a float) or a count >= 0 (an int), as PyTorch."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"amount must be a float in [0, 1] or a non-negative int, got "
                        f"{type(amount).__name__} {amount!r}")
    if (isinstance(amount, numbers.Integral) and amount < 0) or \
            (not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         "non-negative integer")


def _amount_to_count(amount: Any, size: int) -> int:
    """How many of ``size`` entries (or channels) to prune: a count as is, a fraction
    rounded to the nearest integer (Python's round, as PyTorch)."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of "
                             f"parameters to prune={size}")
        return int(amount)
    return round(float(amount) * size)


# ---- the methods --------------------------------------------------------------------------
class BasePruningMethod(ABC):
    """One way of computing a mask. An instance is also the forward pre-hook that
    recomputes ``module.<name>`` from ``<name>_orig`` and ``<name>_mask``."""

    PRUNING_TYPE = "unstructured"   # "unstructured", "structured" or "global"
    _tensor_name: str

    @abstractmethod
    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        """The new mask for importance scores ``t``, given the mask so far (both NumPy)."""

    def __call__(self, module: Module, inputs: Any) -> None:
        object.__setattr__(module, self._tensor_name, self.apply_mask(module))

    def apply_mask(self, module: Module) -> Tensor:
        """weight_orig * weight_mask: a Tensor in the autograd graph of weight_orig."""
        orig = module._parameters[self._tensor_name + "_orig"]
        mask = module._buffers[self._tensor_name + "_mask"]
        return orig * mask

    @classmethod
    def apply(cls, module: Module, name: str, *args: Any,
              importance_scores: Any = None, **kwargs: Any) -> BasePruningMethod:
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)``, composing with earlier pruning."""
        if not isinstance(module, Module):
            raise TypeError(f"pruning needs an nn.Module, got {type(module).__name__}")
        method, old_key = _composite_method(cls, module, name, *args, **kwargs)
        orig = getattr(module, name, None)
        if not isinstance(orig, Tensor):
            raise AttributeError(f"{type(module).__name__} has no tensor named {name!r} to "
                                 f"prune (its parameters: {', '.join(module._parameters)})")
        scores = orig.data if importance_scores is None else _array(importance_scores)
        if scores.shape != orig.shape:
            raise ValueError(f"importance_scores must have the shape of {name} "
                             f"{tuple(orig.shape)}, got {tuple(scores.shape)}")
        first = not isinstance(method, PruningContainer)
        if first and not isinstance(orig, Parameter):
            raise TypeError(f"{name!r} of {type(module).__name__} is not a Parameter")
        default_mask = np.ones(orig.shape, dtype=orig.dtype) if first \
            else module._buffers[name + "_mask"].data.copy()
        # the mask first: a bad amount raises before the module is changed
        mask = method.compute_mask(scores, default_mask=default_mask)
        if first:  # move the Parameter to <name>_orig (the same object: optimizers keep it)
            del module._parameters[name]
            module.register_parameter(name + "_orig", orig)
        else:
            del module._forward_pre_hooks[old_key]
        module.register_buffer(name + "_mask", Tensor(mask.astype(orig.dtype, copy=False)))
        method(module, ())
        module.register_forward_pre_hook(method)
        return method

    def remove(self, module: Module) -> None:
        """Make the pruning permanent: <name> becomes a Parameter again, orig and mask go."""
        weight = self.apply_mask(module)
        orig = module._parameters.pop(self._tensor_name + "_orig")
        del module._buffers[self._tensor_name + "_mask"]
        module.__dict__.pop(self._tensor_name, None)
        orig.data = weight.data   # the same Parameter object: optimizers keep their reference
        module.register_parameter(self._tensor_name, orig)


def _array(scores: Any) -> np.ndarray:
    return scores.data if isinstance(scores, Tensor) else np.asarray(scores)


def _composite_method(cls: type, module: Module, name: str, *args: Any, **kwargs: Any
                      ) -> tuple[BasePruningMethod, Any]:
    """The new method alone, or, when ``name`` is already pruned, a PruningContainer of the
    earlier methods and the new one, with the key of the hook it replaces."""
    old_key, old_method = None, None
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            old_key, old_method = key, hook
    method = cls(*args, **kwargs)
    method._tensor_name = name
    if old_method is None:
        return method, None
    container = PruningContainer(*(old_method._pruning_methods
                                   if isinstance(old_method, PruningContainer) else (old_method,)))
    container.add_pruning_method(method)
    return container, old_key


class PruningContainer(BasePruningMethod):
    """Earlier pruning of a tensor followed by more: the new method sees only what is alive."""

    def __init__(self, *methods: BasePruningMethod) -> None:
        self._pruning_methods: tuple[BasePruningMethod, ...] = ()
        for method in methods:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        if not isinstance(method, BasePruningMethod):
            raise TypeError(f"{type(method).__name__} is not a BasePruningMethod subclass")
        if self._pruning_methods and method._tensor_name != self._tensor_name:
            raise ValueError(f"can only add pruning methods acting on the parameter named "
                             f"{self._tensor_name!r}, got {method._tensor_name!r}")
        self._tensor_name = method._tensor_name
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        """Run the newest method on the surviving part of ``t`` and write its mask back."""
        method = self._pruning_methods[-1]
        new_mask = default_mask.astype(t.dtype, copy=True)
        if method.PRUNING_TYPE == "unstructured":
            alive: Any = default_mask == 1
        elif method.PRUNING_TYPE == "structured":
            dim = method.dim % t.ndim  # type: ignore[attr-defined]
            others = tuple(d for d in range(t.ndim) if d != dim)
            keep = default_mask.sum(axis=others) != 0
            alive = tuple(keep if d == dim else slice(None) for d in range(t.ndim))
        elif method.PRUNING_TYPE == "global":
            alive = tuple(slice(None) for _ in range(t.ndim))
        else:
            raise ValueError(f"unrecognised PRUNING_TYPE {method.PRUNING_TYPE!r}")
        new_mask[alive] = method.compute_mask(t[alive], default_mask=default_mask[alive])
        return new_mask


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (reparametrises the tensor all the same)."""

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        return default_mask


class RandomUnstructured(BasePruningMethod):
    """Prune ``amount`` entries chosen uniformly at random (the baseline magnitude must beat)."""

    def __init__(self, amount: Any) -> None:
        _validate_amount(amount)
        self.amount = amount

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        k = _amount_to_count(self.amount, t.size)
        mask = default_mask.copy()
        if k:
            scores = default_generator().random(t.size)
            mask.reshape(-1)[np.argpartition(scores, k - 1)[:k]] = 0
        return mask


class L1Unstructured(BasePruningMethod):
    """Prune the ``amount`` entries of smallest absolute value (magnitude pruning)."""

    def __init__(self, amount: Any) -> None:
        _validate_amount(amount)
        self.amount = amount

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        k = _amount_to_count(self.amount, t.size)
        mask = default_mask.copy()
        # BEGIN SOLUTION 18
        if k:
            smallest = np.argsort(np.abs(t).reshape(-1), kind="stable")[:k]
            mask.reshape(-1)[smallest] = 0
        # END SOLUTION
        return mask


def _channel_norms(t: np.ndarray, n: Any, dim: int) -> np.ndarray:
    """The L_n norm of every slice t[..., c, ...] along ``dim`` (one number per channel)."""
    others = tuple(d for d in range(t.ndim) if d != dim)
    a = np.abs(t.astype(np.float64))
    if n == "fro":
        n = 2
    if n == np.inf:
        return a.max(axis=others) if others else a
    if n == -np.inf:
        return a.min(axis=others) if others else a
    if not isinstance(n, numbers.Real) or isinstance(n, bool):
        raise ValueError(f"n must be a number, inf, -inf or 'fro', got {n!r}")
    if n == 0:
        return (a != 0).sum(axis=others).astype(np.float64)
    return (a ** n).sum(axis=others) ** (1.0 / n)


def _require_structured(t: np.ndarray) -> None:
    if t.ndim <= 1:
        raise ValueError(f"structured pruning can only be applied to multidimensional tensors; "
                         f"found a tensor of shape {t.shape} with {t.ndim} dims")


class LnStructured(BasePruningMethod):
    """Prune the ``amount`` channels along ``dim`` with the smallest L_n norm
    (``dim=0`` of a Linear or Conv2d weight: whole output neurons / filters)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: Any, n: Any, dim: int = -1) -> None:
        _validate_amount(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        _require_structured(t)
        if not -t.ndim <= self.dim < t.ndim:
            raise IndexError(f"dim={self.dim} is out of range for a {t.ndim}-D tensor of "
                             f"shape {t.shape}")
        dim = self.dim % t.ndim
        channels = t.shape[dim]
        k = _amount_to_count(self.amount, channels)
        if k == 0:
            return default_mask
        # BEGIN SOLUTION 18
        norms = _channel_norms(t, self.n, dim)
        keep = np.argsort(-norms, kind="stable")[:channels - k]   # the largest norms survive
        alive = np.zeros(channels, dtype=t.dtype)
        alive[keep] = 1.0
        shape = [1] * t.ndim
        shape[dim] = channels
        mask = alive.reshape(shape) * default_mask
        # END SOLUTION
        return mask.astype(default_mask.dtype, copy=False)


class RandomStructured(BasePruningMethod):
    """Prune ``amount`` channels along ``dim`` chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: Any, dim: int = -1) -> None:
        _validate_amount(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        _require_structured(t)
        dim = self.dim % t.ndim
        channels = t.shape[dim]
        k = _amount_to_count(self.amount, channels)
        if k == 0:
            return default_mask
        keep = np.argsort(default_generator().random(channels))[:channels - k]
        alive = np.zeros(channels, dtype=default_mask.dtype)
        alive[keep] = 1
        shape = [1] * t.ndim
        shape[dim] = channels
        return alive.reshape(shape) * default_mask


class CustomFromMask(BasePruningMethod):
    """A mask given by the caller (what ``global_unstructured`` hands each tensor)."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Any) -> None:
        self.mask = _array(mask)

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        if self.mask.shape != default_mask.shape:
            raise ValueError(f"mask of shape {self.mask.shape} does not match the tensor's "
                             f"shape {default_mask.shape}")
        return default_mask * self.mask.astype(default_mask.dtype, copy=False)
