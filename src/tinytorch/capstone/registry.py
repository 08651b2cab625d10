"""Module 20: the step registry -- the plug-in point of the optimization ladder.

A *step* takes the system as the last accepted rung left it and returns a new one
(another backend, a cache, quantized layers, a smaller network). The ladder runs the
registered steps in order, measures after each and keeps only the accepted ones::

    from tinytorch.capstone import System, register_step

    @register_step("my_step", models=("cnn",), after="int8_static",
                   change="what the step changes, in one line")
    def my_step(system: System, workload) -> System:
        return system.replace(model=smaller(system.model))

``tinytorch capstone --plugin mypackage.mymodule:my_step`` imports the module (which
registers the step) before the ladder runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["STEPS", "Step", "load_plugin", "register_step", "steps_for", "unregister_step"]


@dataclass(frozen=True)
class Step:
    """One rung of the ladder: ``apply(system, workload) -> system``."""

    name: str
    apply: Callable[[Any, Any], Any]
    models: tuple[str, ...]
    change: str
    order: float


#: name -> Step, in registration order (the built-in steps register on import)
STEPS: dict[str, Step] = {}


def register_step(name: str, *, models: tuple[str, ...] = ("cnn", "tinygpt"), change: str = "",
                  after: str | None = None, order: float | None = None
                  ) -> Callable[[Callable[[Any, Any], Any]], Callable[[Any, Any], Any]]:
    """Decorator: register ``fn(system, workload) -> system`` as the step ``name``.

    ``after`` puts it right after a registered step (default: at the end of the ladder);
    ``order`` places it explicitly (the built-in steps use 10, 20, 30, ...).
    """
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"register_step: a step name is letters, digits, '_' and '-', got "
                         f"{name!r}")
    if after is not None and order is not None:
        raise ValueError("register_step: give `after` or `order`, not both")

    def decorate(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        if name in STEPS:
            raise ValueError(f"register_step: a step named {name!r} is already registered")
        if after is not None:
            if after not in STEPS:
                raise ValueError(f"register_step: no step named {after!r} to follow (known: "
                                 f"{', '.join(STEPS)})")
            later = [s.order for s in STEPS.values() if s.order > STEPS[after].order]
            position = (STEPS[after].order + min(later)) / 2 if later else STEPS[after].order + 10
        else:
            position = order if order is not None else \
                max((s.order for s in STEPS.values()), default=0.0) + 10
        doc = (fn.__doc__ or "").strip().splitlines()
        STEPS[name] = Step(name, fn, tuple(models), change or (doc[0] if doc else name),
                           float(position))
        return fn

    return decorate


def unregister_step(name: str) -> None:
    """Remove a step (tests and notebooks that register one temporarily)."""
    STEPS.pop(name, None)


def steps_for(model: str, only: list[str] | None = None) -> list[Step]:
    """The registered steps that apply to ``model``, in ladder order."""
    chosen = sorted((s for s in STEPS.values() if model in s.models), key=lambda s: s.order)
    if only is not None:
        unknown = [n for n in only if n not in STEPS]
        if unknown:
            raise ValueError(f"unknown step(s) {', '.join(unknown)}; registered: "
                             f"{', '.join(STEPS)}")
        chosen = [s for s in chosen if s.name in only]
    return chosen


def load_plugin(spec: str) -> Step | None:
    """Import ``module`` or ``module:function`` so that its ``@register_step`` runs.

    Returns the step the function registered (None for a bare module)."""
    module_name, _, function = spec.partition(":")
    if not module_name:
        raise ValueError(f"--plugin wants module[:function], got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"--plugin {spec}: cannot import {module_name!r} ({exc})") from None
    if not function:
        return None
    fn = getattr(module, function, None)
    if fn is None:
        raise ValueError(f"--plugin {spec}: {module_name} has no {function!r}")
    for step in STEPS.values():
        if step.apply is fn:
            return step
    raise ValueError(f"--plugin {spec}: {function} is not decorated with @register_step")
