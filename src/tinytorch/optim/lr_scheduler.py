"""Module 07: learning-rate schedules -- change ``group["lr"]`` as training progresses.

Call ``scheduler.step()`` once per epoch (or per batch, for per-step schedules)
*after* ``optimizer.step()``. Constructing a scheduler already applies its
value for epoch 0 (e.g. ``LinearLR`` starts warm-up immediately).

Each scheduler has two forms of its rule, like PyTorch:

- ``get_lr()``, the *chainable* form: the next lr from the current
  ``group["lr"]``, so schedulers can be combined (``SequentialLR``);
- ``_closed_form_lr()``: the lr at ``last_epoch`` from ``base_lrs`` alone,
  used when a ``SequentialLR`` restarts a scheduler at a milestone.

Names, arguments and the exact sequence of values follow ``torch.optim.lr_scheduler``.
"""

from __future__ import annotations

import copy
import math
from bisect import bisect_right
from typing import Any

from tinytorch.optim.optimizer import Optimizer

__all__ = ["CosineAnnealingLR", "LRScheduler", "LinearLR", "SequentialLR", "StepLR"]


class LRScheduler:
    """Base class: ``LRScheduler(optimizer, last_epoch=-1)``; subclasses define ``get_lr``.

    ``base_lrs`` are the groups' ``initial_lr`` (recorded on first use), ``last_epoch``
    counts ``step()`` calls (0 after construction).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming a scheduler with last_epoch >= 0: load the "
                                   "optimizer's state_dict first")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define get_lr()")

    def step(self) -> None:
        """Advance one epoch and write the new learning rates into the optimizer."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:  # jump to ``epoch`` (SequentialLR's restart at a milestone)
            self.last_epoch = epoch
            values = self._closed_form_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _closed_form_lr(self) -> list[float]:
        return self.get_lr()

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (numbers and lists: saveable anywhere)."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s values: the same keys, each of the current value's
        type, passing the constructor's checks; anything else is a ``ValueError`` naming
        the key, and nothing is changed."""
        state = _checked_state(self, state_dict, exclude=("optimizer",))
        self._check_hyperparameters(state)
        self.__dict__.update(state)

    # Attributes that must stay integers (epoch counters, sizes); subclasses add theirs.
    _INT_FIELDS: tuple[str, ...] = ("last_epoch", "_step_count")

    def _check_hyperparameters(self, state: dict[str, Any]) -> None:
        """Raise ``ValueError`` if ``state`` holds values the constructor would refuse."""


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs:
    ``lr = base_lr * gamma ** (epoch // step_size)``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self._check_hyperparameters({"step_size": step_size})
        self.step_size, self.gamma = int(step_size), gamma
        super().__init__(optimizer, last_epoch)

    _INT_FIELDS = (*LRScheduler._INT_FIELDS, "step_size")

    def _check_hyperparameters(self, state: dict[str, Any]) -> None:
        step_size = state["step_size"]
        if int(step_size) != step_size or step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {step_size!r}")

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Warm-up (or decay): scale the lr by a factor going linearly from ``start_factor``
    to ``end_factor`` over ``total_iters`` epochs, then hold it::

        lr = base_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters)
                        / total_iters)
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        self._check_hyperparameters({"start_factor": start_factor, "end_factor": end_factor,
                                     "total_iters": total_iters})
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = int(total_iters)
        super().__init__(optimizer, last_epoch)

    _INT_FIELDS = (*LRScheduler._INT_FIELDS, "total_iters")

    def _check_hyperparameters(self, state: dict[str, Any]) -> None:
        start_factor, end_factor = state["start_factor"], state["end_factor"]
        total_iters = state["total_iters"]
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and "
                             f"less or equal to 1, got start_factor={start_factor}")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1, got "
                             f"end_factor={end_factor}")
        if int(total_iters) != total_iters or total_iters < 1:
            raise ValueError(f"total_iters must be a positive integer, got {total_iters!r}")

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return [group["lr"] for group in groups]
        # ratio of consecutive factors: factor(e) / factor(e - 1)
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (self.total_iters * self.start_factor
                                + (self.last_epoch - 1) * change)
        return [group["lr"] * ratio for group in groups]

    def _closed_form_lr(self) -> list[float]:
        factor = self.start_factor + (self.end_factor - self.start_factor) * min(
            self.total_iters, self.last_epoch) / self.total_iters
        return [base_lr * factor for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine decay from ``base_lr`` to ``eta_min`` over ``T_max`` epochs::

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    (computed recursively from the current lr, as PyTorch does; past ``T_max``
    it rises again, a cosine with period ``2 * T_max``).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self._check_hyperparameters({"T_max": T_max})
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def _check_hyperparameters(self, state: dict[str, Any]) -> None:
        if state["T_max"] <= 0:
            raise ValueError(f"T_max must be positive, got {state['T_max']!r}")

    def get_lr(self) -> list[float]:
        groups, eta_min, T_max = self.optimizer.param_groups, self.eta_min, self.T_max
        if self._is_initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and self.last_epoch > 0:  # resumed at a later epoch
            return self._closed_form_lr()
        if (self.last_epoch - 1 - T_max) % (2 * T_max) == 0:  # the trough: ratio would be 0/0
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
                    for base_lr, group in zip(self.base_lrs, groups, strict=True)]
        ratio = (1 + math.cos(math.pi * self.last_epoch / T_max)) / (
            1 + math.cos(math.pi * (self.last_epoch - 1) / T_max))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]

    def _closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run ``schedulers[i]`` between ``milestones[i-1]`` and ``milestones[i]``; each one
    restarts from its epoch 0 at its milestone.

    Warm-up then cosine decay, the usual transformer schedule::

        warmup = LinearLR(opt, start_factor=0.01, total_iters=100)
        decay = CosineAnnealingLR(opt, T_max=900)
        schedule = SequentialLR(opt, [warmup, decay], milestones=[100])
    """

    def __init__(self, optimizer: Optimizer, schedulers: list[LRScheduler],
                 milestones: list[int], last_epoch: int = -1) -> None:
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, got none")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"SequentialLR: schedulers[{i}] is a "
                                f"{type(scheduler).__name__}, not an LRScheduler")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"SequentialLR expects all schedulers to belong to the same "
                                 f"optimizer, but schedulers[{i}] "
                                 f"({type(scheduler).__name__}) has a different one")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR expects one milestone fewer than schedulers, got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        if list(milestones) != sorted(milestones):
            raise ValueError(f"milestones must be increasing, got {list(milestones)}")
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:  # undo what the schedulers' constructors did
            group["lr"] = group["initial_lr"]
        for scheduler in self._schedulers:
            _undo_initial_step(scheduler)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)  # this scheduler starts now: its epoch 0, from base_lrs
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        state = {k: copy.deepcopy(v) for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = _checked_state(self, state_dict, exclude=("optimizer",))
        inner = state.pop("_schedulers")
        if list(state["_milestones"]) != sorted(state["_milestones"]) or not all(
                isinstance(m, int) and not isinstance(m, bool) for m in state["_milestones"]):
            raise ValueError(f"SequentialLR.load_state_dict: '_milestones' must be increasing "
                             f"integers, got {state['_milestones']!r}")
        # every inner scheduler is checked before any of them (or this one) changes
        checked = []
        for scheduler, saved in zip(self._schedulers, inner, strict=True):
            if isinstance(scheduler, SequentialLR):
                checked.append((scheduler, saved, None))
                continue
            inner_state = _checked_state(scheduler, saved, exclude=("optimizer",))
            scheduler._check_hyperparameters(inner_state)
            checked.append((scheduler, saved, inner_state))
        self.__dict__.update(state)
        for scheduler, saved, inner_state in checked:
            if inner_state is None:
                scheduler.load_state_dict(saved)
            else:
                scheduler.__dict__.update(inner_state)


def _undo_initial_step(scheduler: LRScheduler) -> None:
    """Step a scheduler (and any it contains) back by one epoch."""
    if isinstance(scheduler, SequentialLR):
        for inner in scheduler._schedulers:
            _undo_initial_step(inner)
    else:
        scheduler.last_epoch -= 1


def _kind_matches(saved: Any, current: Any, integer: bool) -> bool:
    if isinstance(current, bool) or current is None:
        return type(saved) is type(current)
    if isinstance(current, (int, float)):
        if isinstance(saved, bool) or not isinstance(saved, (int, float)):
            return False
        return isinstance(saved, int) if integer else math.isfinite(saved)
    if isinstance(current, (list, tuple)):
        return isinstance(saved, (list, tuple)) and len(saved) == len(current) and all(
            _kind_matches(a, b, integer) for a, b in zip(saved, current, strict=True))
    if isinstance(current, dict):
        return isinstance(saved, dict)
    return False


def _checked_state(scheduler: LRScheduler, state_dict: Any,
                   exclude: tuple[str, ...]) -> dict[str, Any]:
    """A copy of ``state_dict`` holding exactly this scheduler's keys, each of its type."""
    name = type(scheduler).__name__
    if not isinstance(state_dict, dict):
        raise ValueError(f"{name}.load_state_dict: expected a dict, got "
                         f"{type(state_dict).__name__}")
    current = {k: v for k, v in scheduler.__dict__.items() if k not in exclude}
    for key in sorted(set(state_dict) - set(current), key=str):
        raise ValueError(f"{name}.load_state_dict: unexpected key {key!r} (a state dict of "
                         f"another scheduler? {name} has {sorted(current)})")
    for key in sorted(set(current) - set(state_dict)):
        raise ValueError(f"{name}.load_state_dict: the state dict is missing {key!r}")
    for key, value in current.items():
        if key == "_schedulers":
            ok = isinstance(state_dict[key], list) and len(state_dict[key]) == len(value)
        else:
            ok = _kind_matches(state_dict[key], value, key in scheduler._INT_FIELDS)
        if not ok:
            raise ValueError(f"{name}.load_state_dict: {key!r} is {state_dict[key]!r}, expected "
                             f"a value like {value!r}")
    return copy.deepcopy(dict(state_dict))
