"""Module 04: containers -- ``Sequential``, ``ModuleList``, ``ModuleDict``.

Children are registered under their position ("0", "1", ...) or key, which is
where names like ``"0.weight"`` in ``state_dict()`` come from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tinytorch.nn.module import Module

__all__ = ["ModuleDict", "ModuleList", "Sequential"]


def _check_module(module: Any, where: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{where}: expected an nn.Module, got {type(module).__name__}")
    return module


class _IndexedModules(Module):
    """Shared list behaviour: children stored under "0", "1", ... in order."""

    def _index(self, index: int) -> str:
        """The child's name at position ``index`` (named Sequentials index by position too)."""
        n = len(self._modules)
        if not isinstance(index, int) or not -n <= index < n:
            raise IndexError(f"{type(self).__name__} index {index!r} is out of range for "
                             f"{n} modules")
        return list(self._modules)[index % n]

    def _renumber(self, modules: Iterable[Module]) -> None:
        self._modules.clear()
        for i, module in enumerate(modules):
            self._modules[str(i)] = module

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return type(self)(*list(self._modules.values())[index]) \
                if isinstance(self, Sequential) else ModuleList(list(self)[index])
        return self._modules[self._index(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        self._modules[self._index(index)] = _check_module(module, type(self).__name__)

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            self._index(index)  # validates
            del modules[index]
        self._renumber(modules)  # like PyTorch: positions stay 0..n-1

    def append(self, module: Module) -> _IndexedModules:
        self._modules[str(len(self._modules))] = _check_module(module, "append")
        return self

    def extend(self, modules: Iterable[Module]) -> _IndexedModules:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, _check_module(module, "insert"))
        self._renumber(modules)


class Sequential(_IndexedModules):
    """Run modules one after another: ``Sequential(Linear(784, 256), ReLU(), Linear(256, 10))``.

    Also accepts an ``OrderedDict`` of name -> module to choose the names.
    """

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, module in modules[0].items():
                self.add_module(name, _check_module(module, "Sequential"))
        else:
            for module in modules:
                self.append(module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(_IndexedModules):
    """A list of modules whose parameters are registered (a plain list would hide them)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)


class ModuleDict(Module):
    """A dict of modules whose parameters are registered."""

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            for name, module in modules.items():
                self[name] = module

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module(module, "ModuleDict"))

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

