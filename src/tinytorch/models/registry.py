"""Which network a checkpoint holds: a small registry of architectures.

A checkpoint of weights alone cannot be used by anyone who does not already hold
the code that built the model with the same arguments. So every builder here is
registered under a name, the model it returns remembers how it was built, and a
model checkpoint stores that recipe beside the weights::

    model = lenet(1, 28, 10)
    model_config(model)       # {'name': 'lenet', 'args': {'channels': 1, 'size': 28, 'classes': 10}}
    from_config(model_config(model))      # a fresh model of the same shape
    save_model(model, "cnn.npz", meta={"dataset": "fashion-mnist"})
    model, checkpoint = load_model("cnn.npz")

The recipe is data (a name and JSON arguments), never code: loading a checkpoint
runs only builders registered here, as ``serialization`` never unpickles. A model
quantized by Module 17 saves the list of its quantized layers too, and loads back
quantized (``tinytorch quantize`` writes such checkpoints).
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

from tinytorch import serialization
from tinytorch.nn.module import Module

__all__ = ["ARCHITECTURES", "MODEL_KIND", "ArchitectureError", "architecture", "from_config",
           "load_model", "model_config", "save_model"]

#: the ``kind`` entry of a checkpoint written by ``save_model``
MODEL_KIND = "tinytorch-model"
FORMAT = 1
#: name -> builder (a function or class returning a Module)
ARCHITECTURES: dict[str, Callable[..., Module]] = {}
_STAMP = "_architecture"  # the attribute a registered builder sets on the model it returns


class ArchitectureError(ValueError):
    """A model or checkpoint whose architecture is unknown, missing or does not fit."""


def architecture(name: str) -> Callable[[Callable[..., Module]], Callable[..., Module]]:
    """Decorator: register a builder function; the models it returns carry their recipe."""

    def register(builder: Callable[..., Module]) -> Callable[..., Module]:
        signature = inspect.signature(builder)

        @functools.wraps(builder)
        def build(*args: Any, **kwargs: Any) -> Module:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            model = builder(*args, **kwargs)
            # object.__setattr__: a plain attribute, not a parameter, buffer or child
            object.__setattr__(model, _STAMP, {"name": name, "args": dict(bound.arguments)})
            return model

        ARCHITECTURES[name] = build
        return build

    return register


def model_config(model: Module) -> dict[str, Any]:
    """``{'name': ..., 'args': {...}}``: what ``from_config`` needs to rebuild ``model``."""
    config_dict = getattr(model, "config_dict", None)
    if callable(config_dict):  # GPT keeps its constructor arguments in a config dataclass
        for name, builder in ARCHITECTURES.items():
            if isinstance(builder, type) and isinstance(model, builder):
                return {"name": name, "args": dict(config_dict())}
    stamp = model.__dict__.get(_STAMP)
    if stamp is None:
        raise ArchitectureError(
            f"a {type(model).__name__} built outside the model registry: build it with a "
            f"registered builder ({', '.join(sorted(ARCHITECTURES))}) or register yours with "
            "@tinytorch.models.architecture(name), so a checkpoint can say what it holds")
    return {"name": stamp["name"], "args": dict(stamp["args"])}


def from_config(config: Any) -> Module:
    """A freshly initialised model of the architecture ``config`` describes."""
    if not isinstance(config, dict) or not isinstance(config.get("name"), str) \
            or not isinstance(config.get("args", {}), dict):
        raise ArchitectureError(f"an architecture is {{'name': str, 'args': dict}}, got "
                                f"{config!r}")
    name = config["name"]
    if name not in ARCHITECTURES:
        raise ArchitectureError(f"unknown architecture {name!r}; known: "
                                f"{', '.join(sorted(ARCHITECTURES))}")
    try:
        model = ARCHITECTURES[name](**config.get("args", {}))
    except (TypeError, ValueError) as exc:
        raise ArchitectureError(f"cannot build {name!r} from {config.get('args')!r}: {exc}"
                                ) from None
    return model


def _quantized_layers(model: Module) -> dict[str, Any]:
    # a model can hold quantized layers only once Module 17's package was imported; asking
    # only then keeps this module usable (and its tests runnable) from Module 10 on
    if "tinytorch.quant" not in sys.modules:
        return {}
    from tinytorch.quant.dynamic import quantized_layers

    return quantized_layers(model)


def save_model(model: Module, path: str | os.PathLike, meta: dict[str, Any] | None = None
               ) -> None:
    """Write ``model`` (architecture, weights, its quantized layers if any) and ``meta``
    (JSON-like: the dataset, metrics...) to ``path``, atomically."""
    serialization.save({"kind": MODEL_KIND, "format": FORMAT, "architecture": model_config(model),
                        "quantized": _quantized_layers(model), "model": model.state_dict(),
                        "meta": dict(meta or {})}, path)


def load_model(path: str | os.PathLike) -> tuple[Module, dict[str, Any]]:
    """(model in eval mode, the checkpoint's entries) from a checkpoint that names its
    architecture: one written by ``save_model`` (a milestone's ``--checkpoint``, ``tinytorch
    quantize``) or by ``tinytorch milestone tinygpt --checkpoint``.

    ``FileNotFoundError`` for a missing file, ``serialization.CheckpointError`` for one that
    is not a checkpoint, ``ArchitectureError`` for one that does not say (or fit) its model.
    """
    path = os.fspath(path)
    state = serialization.load(path)
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
        raise ArchitectureError(f"{path} holds no model weights (no 'model' entry)")
    config = state.get("architecture")
    if config is None and state.get("kind") == "tinytorch-tinygpt" and "config" in state:
        config = {"name": "gpt", "args": state["config"]}  # written before the registry
    if config is None:
        raise ArchitectureError(
            f"{path} holds weights but does not say which model they belong to (no "
            "'architecture' entry: a checkpoint written before the model registry, or by "
            "Trainer.save_checkpoint). Fix: train again with the milestone's --checkpoint "
            "option (`tinytorch milestone mlp|cnn|tinygpt --checkpoint PATH`), or rebuild the "
            "model yourself and save it with tinytorch.models.save_model(model, PATH)")
    try:
        model = from_config(config)
    except ArchitectureError as exc:
        raise ArchitectureError(f"{path}: {exc}") from None
    layers = state.get("quantized") or {}
    if layers:
        from tinytorch.quant.dynamic import rebuild_quantized

        model = rebuild_quantized(model, layers)
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise ArchitectureError(f"{path}: the weights do not fit its architecture "
                                f"{config.get('name')!r}: {exc}") from None
    return model.eval(), state
