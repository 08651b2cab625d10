"""Module 04 Layers: ``Module``, the base class of every layer and model.

A Module is a tree: it owns Parameters (learned), buffers (state that is
saved but not learned, e.g. BatchNorm's running mean) and child Modules.
Assigning an attribute registers it, so ``self.fc = Linear(4, 2)`` is all a
model writes; ``parameters()``, ``state_dict()``, ``train()/eval()`` walk the
tree. Names and semantics follow ``torch.nn.Module``.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tinytorch.nn.parameter import Parameter
from tinytorch.tensor import Tensor

__all__ = ["IncompatibleKeys", "Module", "RemovableHandle"]

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class RemovableHandle:
    """Returned by ``register_forward_hook``; ``handle.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict) -> None:
        self._hooks, self.id = hooks, RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


class Module:
    """Base class for layers and models: subclass it, assign layers in ``__init__``,
    compute in ``forward``; call the module (not ``forward``) to run it."""

    training: bool

    def __init__(self) -> None:
        # object.__setattr__: our own __setattr__ needs these dicts to exist
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    # ---- running ----------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{type(self).__name__} has no forward(); define forward() in the "
                        "subclass")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_pre_hooks or self._forward_hooks):  # the common case: no hooks
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            replaced = hook(self, args)
            if replaced is not None:
                args = replaced if isinstance(replaced, tuple) else (replaced,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            replaced = hook(self, args, out)
            if replaced is not None:
                out = replaced
        return out

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, args)`` runs before ``forward``; it may return new args."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, args, output)`` runs after ``forward`` (profilers use this)."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ---- registration -----------------------------------------------------------------
    def _require_init(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call; call "
                                 "super().__init__() first in your __init__")

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter):
            self._require_init("parameters")
            self._forget(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._require_init("child modules")
            self._forget(name)
            self._modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter "
                                f"{name!r}: use nn.Parameter(...) or None")
            self._parameters[name] = None
        elif "_modules" in self.__dict__ and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to child module "
                                f"{name!r}: use a Module or None")
            self._modules[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            self._buffers[name] = self._as_buffer(name, value)
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: look in the registries
        for table in ("_parameters", "_buffers", "_modules"):
            registry = self.__dict__.get(table)
            if registry is not None and name in registry:
                return registry[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    @staticmethod
    def _as_buffer(name: str, value: Any) -> Tensor | None:
        if value is None or isinstance(value, Tensor):
            return value
        if isinstance(value, np.ndarray):
            return Tensor(value)
        raise TypeError(f"buffer {name!r} must be a Tensor, a NumPy array or None, got "
                        f"{type(value).__name__}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        self._require_init("parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}): expected an nn.Parameter or None, "
                            f"got {type(param).__name__}")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """State that belongs to the module but is not learned (no gradient, not in
        ``parameters()``); saved in ``state_dict()`` unless ``persistent=False``."""
        self._require_init("buffers")
        self._forget(name)
        self._buffers[name] = self._as_buffer(name, tensor)
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        self._require_init("child modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}): expected a Module, got "
                            f"{type(module).__name__}")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    # ---- walking the tree -------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo: set | None = None
                      ) -> Iterator[tuple[str, Module]]:
        """This module and every descendant, each once, with dotted names ('' for self)."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_members(self, table: str, prefix: str, recurse: bool
                       ) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()  # a shared (tied) tensor is yielded once, like PyTorch
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs, e.g. ('0.weight', ...) in a Sequential."""
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True
                      ) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first) and on self; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients ----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops, BatchNorm uses batch statistics); returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode): mode must be a bool, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter; returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad`` (gradients accumulate across backward calls)."""
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.data[...] = 0

    # ---- dtype ------------------------------------------------------------------------
    def to(self, dtype: Any) -> Module:
        """Convert every floating-point parameter and buffer to ``dtype`` in place."""
        dtype = np.dtype(dtype)
        for tensor in (*self.parameters(), *self.buffers()):
            if tensor.dtype.kind == "f":
                tensor.data = tensor.data.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad = Tensor._wrap(tensor.grad.data.astype(dtype))
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    # ---- saving and loading -----------------------------------------------------------
    def _state_items(self) -> Iterator[tuple[str, Tensor]]:
        """Every saved tensor, with its dotted name: parameters, then persistent buffers."""
        for prefix, module in self.named_modules():
            dotted = f"{prefix}." if prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    yield dotted + name, param
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent_buffers:
                    yield dotted + name, buffer

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Dotted name -> a NumPy *copy* of every parameter and persistent buffer.

        Copies, so a saved checkpoint does not change as training continues.
        """
        return OrderedDict((name, tensor.data.copy()) for name, tensor in self._state_items())

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True
                        ) -> IncompatibleKeys:
        """Copy values into this module's tensors (same names and shapes).

        All errors are collected and reported together, and nothing is changed
        unless everything matches. Shapes must always match; missing and
        unexpected keys are errors only when ``strict``.
        """
        own = OrderedDict(self._state_items())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        errors = []
        values = {}
        for name, tensor in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            if value.shape != tensor.shape:
                errors.append(f"size mismatch for {name}: copying a value of shape "
                              f"{value.shape} from the state_dict, the shape in the current "
                              f"model is {tensor.shape}")
            values[name] = value
        if strict and unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected))
        if strict and missing:
            errors.insert(0, "Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing))
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        for name, value in values.items():
            own[name].data[...] = value  # in place: optimizers keep references to parameters
        return IncompatibleKeys(missing, unexpected)

    # ---- printing ---------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside the parentheses, e.g. 'in_features=4, out_features=2, bias=True'."""
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {child_repr}")
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not self._modules:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))
