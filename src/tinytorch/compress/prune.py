"""Module 18 Compression: pruning with ``torch.nn.utils.prune``'s API and semantics.

Pruning a tensor ``name`` of a module *reparametrises* it::

    module.weight_orig    the Parameter the optimizer updates (the old ``weight``)
    module.weight_mask    a buffer of 0s and 1s (saved in ``state_dict()``)
    module.weight         a plain attribute, recomputed before every forward as
                          weight_orig * weight_mask by a forward pre-hook

Because the forward multiplies by the mask, the gradient of a pruned entry of
``weight_orig`` is exactly zero and the weight the layer uses stays exactly zero
however long it is fine-tuned. Pruning again composes: the new method only looks
at the entries (or channels) that are still alive, and the masks multiply.
``remove(module, name)`` makes the pruning permanent: ``weight`` becomes a plain
Parameter holding weight_orig * weight_mask again.

This saves nothing yet -- the zeros are still stored and multiplied. Turning them
into bytes (CSR, ``compress.sparse``) or into a smaller dense network
(``compress.shrink``) is the second half of the module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tinytorch.compress.methods import (
    BasePruningMethod,
    CustomFromMask,
    Identity,
    L1Unstructured,
    LnStructured,
    PruningContainer,
    RandomStructured,
    RandomUnstructured,
    _array,
)
from tinytorch.nn.module import Module

__all__ = [
    "BasePruningMethod", "CustomFromMask", "Identity", "L1Unstructured", "LnStructured",
    "PruningContainer", "RandomStructured", "RandomUnstructured", "custom_from_mask",
    "global_unstructured", "identity", "is_pruned", "l1_unstructured", "ln_structured",
    "random_structured", "random_unstructured", "remove",
]


# ---- the functions the course calls -------------------------------------------------------
def identity(module: Module, name: str) -> Module:
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount: Any) -> Module:
    """Prune ``amount`` random entries of ``module.<name>``; returns the module."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount: Any, importance_scores: Any = None
                    ) -> Module:
    """Prune the ``amount`` (fraction or count) entries of ``module.<name>`` with the
    smallest absolute value (or smallest ``importance_scores``); returns the module."""
    L1Unstructured.apply(module, name, amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount: Any, dim: int) -> Module:
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module: Module, name: str, amount: Any, n: Any, dim: int,
                  importance_scores: Any = None) -> Module:
    """Prune the ``amount`` channels of ``module.<name>`` along ``dim`` with the smallest
    L_n norm; returns the module."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module: Module, name: str, mask: Any) -> Module:
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters: Iterable[tuple[Module, str]], pruning_method: type,
                        importance_scores: dict | None = None, **kwargs: Any) -> None:
    """Prune the ``(module, name)`` tensors *together*: ``pruning_method(**kwargs)`` ranks
    all their entries at once, so layers with many small weights lose more of them.

    ``global_unstructured(params, pruning_method=L1Unstructured, amount=0.9)``.
    """
    pairs: Sequence[tuple[Module, str]] = list(parameters)
    if not pairs:
        raise ValueError("global_unstructured: parameters is empty; pass (module, name) pairs")
    if not (isinstance(pruning_method, type) and issubclass(pruning_method, BasePruningMethod)):
        raise TypeError("pruning_method must be a BasePruningMethod subclass such as "
                        f"L1Unstructured, got {pruning_method!r}")
    scores_of = importance_scores or {}
    tensors = [getattr(m, n) for m, n in pairs]
    scores = np.concatenate([_array(scores_of.get((m, n), t)).reshape(-1)
                             for (m, n), t in zip(pairs, tensors, strict=True)])
    default = np.concatenate([
        (m._buffers[n + "_mask"].data if n + "_mask" in m._buffers
         else np.ones(t.shape, dtype=t.dtype)).reshape(-1)
        for (m, n), t in zip(pairs, tensors, strict=True)])
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'only "unstructured" PRUNING_TYPE is supported for the '
                        f"pruning_method; {pruning_method.__name__} is {method.PRUNING_TYPE!r}")
    method._tensor_name = "temp"
    container = PruningContainer(method)
    final = container.compute_mask(scores.astype(default.dtype, copy=False), default)
    start = 0
    for (module, name), t in zip(pairs, tensors, strict=True):
        custom_from_mask(module, name, final[start:start + t.numel()].reshape(t.shape))
        start += t.numel()


def remove(module: Module, name: str) -> Module:
    """Make the pruning of ``module.<name>`` permanent: a plain Parameter again (its
    zeros stay), no ``_orig``, no ``_mask``, no hook. Returns the module."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"Parameter '{name}' of module {type(module).__name__} has to be pruned "
                     "before pruning can be removed")


def is_pruned(module: Module) -> bool:
    """True when ``module`` or any submodule has a pruned tensor."""
    return any(isinstance(hook, BasePruningMethod)
               for sub in module.modules() for hook in sub._forward_pre_hooks.values())
