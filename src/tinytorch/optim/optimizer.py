"""Module 07 Optimizers: the ``Optimizer`` base class shared by SGD, Adam, AdamW, RMSprop.

An optimizer owns *parameter groups* (``param_groups``: a list of dicts, each
with a ``"params"`` list and its own hyper-parameters, e.g. a smaller ``lr``
for a pretrained backbone) and per-parameter *state* (``state[p]``: momentum
buffers, Adam's moments). ``step()`` visits every parameter that has a
gradient and calls the subclass's ``_update`` on plain NumPy arrays, in place.

Systems note: the state is the optimizer's memory bill. SGD keeps nothing (or
one momentum buffer per parameter), Adam keeps two buffers the size of the
model, so training with Adam needs parameters + gradients + 2x parameters of
memory before a single activation is stored.

Names and semantics follow ``torch.optim.Optimizer``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

import numpy as np

from tinytorch.autograd import enable_grad, no_grad
from tinytorch.tensor import Tensor

__all__ = ["Optimizer"]


def _copy_state_value(value: Any, dtype: np.dtype | None = None) -> Any:
    """Arrays are copied (a saved state must not change when training continues)."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray):
        if dtype is not None and value.dtype.kind == "f":
            return np.array(value, dtype=dtype, copy=True)
        return value.copy()
    return value


class Optimizer:
    """Base class: ``Optimizer(params, defaults)``.

    ``params`` is an iterable of Tensors, or of dicts (parameter groups) each
    holding ``"params"`` and any hyper-parameters that override ``defaults``.
    Subclasses implement ``_update(param, grad, state, group)`` on arrays and
    ``_check(hyperparameters)`` which raises ``ValueError`` for bad values.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self._check(defaults)
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params must be an iterable of Tensors or dicts (parameter groups), "
                            "got a single Tensor; wrap it in a list: [tensor]")
        if isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list (did the model register "
                             "no Parameters, or was a generator of parameters already used up?)")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ---- what subclasses define ---------------------------------------------------------
    def _check(self, hyperparameters: dict[str, Any]) -> None:
        """Raise ``ValueError`` for an invalid hyper-parameter (checked per group too)."""

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define _update()")

    # ---- parameter groups ---------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (``{"params": [...], "lr": ...}``); missing options take the defaults.

        Useful for fine-tuning: unfreeze layers and give them their own ``lr`` mid-training.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("a parameter group needs a 'params' entry")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor: it was computed from other "
                                 "tensors, so updating it would not change the model; optimize "
                                 "the leaves (Parameters) instead")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter appears twice in one parameter group; it would be "
                             "updated twice per step")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check(group)
        group["params"] = params
        self.param_groups.append(group)

    # ---- the training-loop API ----------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (backward accumulates, so every step starts from zero).

        ``set_to_none=True`` (the default, like PyTorch) drops the gradient arrays:
        no memory traffic to write zeros, and the next backward allocates fresh
        ones. ``False`` writes zeros into the existing arrays.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; parameters whose ``grad`` is None
        are skipped (and their state is left untouched).

        ``closure`` re-evaluates the model and returns the loss (it may call
        ``zero_grad`` and ``backward``); it runs with gradients enabled and its
        loss is returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        # _update works on raw arrays, so nothing is recorded anyway; no_grad documents
        # that an update is never part of the graph
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    if grad.shape != p.data.shape:
                        raise RuntimeError(f"gradient of shape {grad.shape} for a parameter of "
                                           f"shape {p.data.shape}")
                    self._update(p.data, grad, self.state[p], group)
        return loss

    # ---- checkpoints ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {name: value}}, "param_groups": [{..., "params": [index]}]}``.

        Parameters are referred to by their position across all groups (tensors
        are not saved: they belong to the model's state_dict). Arrays are copies.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: {k: _copy_state_value(v) for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, onto this optimizer's parameters.

        Groups must match in number and size; the saved hyper-parameters replace the
        current ones; floating-point state is cast to each parameter's dtype.
        """
        saved_groups = _check_state_dict(self, state_dict)
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, this "
                             f"optimizer has {len(self.param_groups)}")
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"parameter group {i} of the loaded state dict has "
                                 f"{len(saved['params'])} parameters, this optimizer's has "
                                 f"{len(group['params'])}")
        by_index = {int(i): p for i, p in zip(
            chain.from_iterable(g["params"] for g in saved_groups),
            chain.from_iterable(g["params"] for g in self.param_groups), strict=True)}
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, values in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                raise ValueError(f"loaded state refers to parameter {key}, which no group has")
            for name, value in values.items():
                if isinstance(value, np.ndarray) and value.ndim and value.shape != p.shape:
                    raise ValueError(f"state '{name}' of parameter {key} has shape "
                                     f"{value.shape}, the parameter has shape {p.shape}")
            state[p] = {name: _copy_state_value(value, p.dtype) for name, value in values.items()}
        self.state = state
        self.param_groups = [{**{k: v for k, v in saved.items() if k != "params"},
                              "params": group["params"]}
                             for group, saved in zip(self.param_groups, saved_groups, strict=True)]

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


_SET_MESSAGE = ("optimizer parameters must be an ordered collection (list, tuple, generator); "
                "a set iterates in a different order on each run, which would scramble the "
                "parameter indices of state_dict()")


def check_non_negative(hyperparameters: dict[str, Any], *names: str) -> None:
    """``ValueError`` naming the first of ``names`` that is negative or not a finite number."""
    for name in names:
        value = hyperparameters.get(name)
        if value is None:
            continue
        if not isinstance(value, (int, float, np.number)) or isinstance(value, bool) or \
                not math.isfinite(value) or value < 0:
            label = "learning rate" if name == "lr" else f"{name} value"
            raise ValueError(f"Invalid {label}: {value!r} (must be a number >= 0)")


def _same_kind(saved: Any, current: Any) -> bool:
    """Whether a loaded hyper-parameter has the type of the current one (numbers alike)."""
    if isinstance(current, bool) or current is None:
        return type(saved) is type(current)
    if isinstance(current, (int, float, np.number)):
        return isinstance(saved, (int, float, np.number)) and not isinstance(saved, bool) and \
            math.isfinite(saved)
    if isinstance(current, (tuple, list)):
        return isinstance(saved, (tuple, list)) and len(saved) == len(current) and all(
            _same_kind(a, b) for a, b in zip(saved, current, strict=True))
    return isinstance(saved, type(current))


def _check_state_dict(optimizer: Optimizer, state_dict: Any) -> list[dict[str, Any]]:
    """The saved groups, once the file is known to come from this kind of optimizer.

    A state dict of another optimizer (SGD's into Adam) has other hyper-parameters:
    the first one that differs is named, instead of a ``KeyError: 'eps'`` at step().
    """
    name = type(optimizer).__name__
    if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
        keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
        raise ValueError(f"{name}.load_state_dict: expected a dict with keys 'state' and "
                         f"'param_groups', got {keys}")
    groups, state = state_dict["param_groups"], state_dict["state"]
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise ValueError(f"{name}.load_state_dict: 'param_groups' must be a list of dicts")
    if not isinstance(state, dict) or not all(isinstance(v, dict) for v in state.values()):
        raise ValueError(f"{name}.load_state_dict: 'state' must map parameter indices to dicts")
    for i, (group, saved) in enumerate(zip(optimizer.param_groups, groups)):
        params = saved.get("params")
        if not isinstance(params, list) or not all(
                isinstance(j, (int, np.integer)) and not isinstance(j, bool) for j in params):
            raise ValueError(f"{name}.load_state_dict: param_groups[{i}]['params'] must be a "
                             "list of parameter indices")
        # initial_lr is added by a scheduler, so it may be on one side only
        mine = set(group) - {"params", "initial_lr"}
        theirs = set(saved) - {"params", "initial_lr"}
        for key in sorted(mine ^ theirs):
            where = "is missing" if key in mine else "has an unexpected"
            raise ValueError(f"{name}.load_state_dict: param_groups[{i}] {where} "
                             f"hyper-parameter '{key}' (a state dict of another optimizer "
                             f"type? this one is {name}, with {sorted(mine)})")
        for key in sorted(mine):
            if not _same_kind(saved[key], group[key]):
                raise ValueError(f"{name}.load_state_dict: param_groups[{i}]['{key}'] is "
                                 f"{saved[key]!r}, expected a value like {group[key]!r}")
        check_non_negative(saved, *(k for k in mine if k in ("lr", "weight_decay", "momentum",
                                                             "eps", "alpha")))
    return groups
