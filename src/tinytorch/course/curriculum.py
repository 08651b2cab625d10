"""The course map (``curriculum.toml``) as Python objects.

Everything that needs to know what a module is - the release generator, the
grader, ``tinytorch status``, the layering test, the README check - reads it
through :func:`load`; nothing else keeps a copy of the map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


@dataclass(frozen=True)
class Module:
    number: int
    title: str
    chapter: str
    guide: str = ""
    files: tuple[str, ...] = ()
    package: str = ""
    introduces: tuple[str, ...] = ()
    exercises: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    milestone: str = ""
    milestones: tuple[str, ...] = ()
    prerequisites: tuple[int, ...] = ()
    planned: bool = False

    @property
    def label(self) -> str:
        return f"Module {self.number:02d} ({self.title})"

    @property
    def package_cell(self) -> str:
        """README's "Package" column: ``package`` if given, else the files."""
        if self.package:
            return self.package
        return ", ".join(f"`{f.removeprefix('src/tinytorch/')}`" for f in self.files)


@dataclass(frozen=True)
class Curriculum:
    modules: tuple[Module, ...]
    planned: tuple[Module, ...]
    release: dict[str, Any] = field(default_factory=dict)

    def module(self, number: int) -> Module:
        for m in self.modules:
            if m.number == number:
                return m
        built = ", ".join(f"{m.number:02d}" for m in self.modules)
        raise KeyError(f"there is no Module {number:02d} in curriculum.toml (built: {built})")

    @property
    def numbers(self) -> list[int]:
        return [m.number for m in self.modules]

    def table(self) -> list[Module]:
        """Built and planned modules in order (README's table)."""
        return sorted(self.modules + self.planned, key=lambda m: m.number)

    def module_of_test(self, path: str) -> Module | None:
        for m in self.modules:
            if path in m.tests:
                return m
        return None

    def milestone_module(self, name: str) -> Module | None:
        for m in self.modules:
            if name in m.milestones:
                return m
        return None


def _module(entry: dict[str, Any], planned: bool) -> Module:
    tuples = ("files", "introduces", "exercises", "tests", "milestones", "prerequisites")
    values = {k: tuple(v) if k in tuples else v for k, v in entry.items()}
    return Module(planned=planned, **values)


def parse(text: str) -> Curriculum:
    data = tomllib.loads(text)
    modules = tuple(_module(e, False) for e in data.get("module", []))
    planned = tuple(_module(e, True) for e in data.get("planned", []))
    numbers = [m.number for m in modules + planned]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"curriculum.toml: a module number appears twice: {sorted(numbers)}")
    for m in modules:
        later = [p for p in m.prerequisites if p >= m.number]
        if later:
            raise ValueError(f"curriculum.toml: {m.label} lists later modules {later} as "
                             "prerequisites")
    return Curriculum(modules, planned, data.get("release", {}))


@lru_cache(maxsize=1)
def load() -> Curriculum:
    """The curriculum shipped inside the package (``tinytorch/course/curriculum.toml``)."""
    text = resources.files("tinytorch.course").joinpath("curriculum.toml").read_text("utf-8")
    return parse(text)
