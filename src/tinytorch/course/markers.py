"""Solution markers: find the exercise regions of a source file and replace them.

An exercise region sits inside the function it belongs to: a line
``# BEGIN SOLUTION 06`` (the module number), the body the student writes, and a
line ``# END SOLUTION`` (C++: ``// BEGIN SOLUTION 15`` / ``// END SOLUTION``). The student release keeps
both marker lines and replaces what lies between them by a placeholder that
raises ``NotImplementedError`` naming the module and the function, so a student
knows exactly where to write and the grader's message says what is missing.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

PYTHON_SUFFIXES = (".py",)
CPP_SUFFIXES = (".cpp", ".cc", ".h", ".hpp")

_BEGIN = {"py": re.compile(r"^(\s*)# BEGIN SOLUTION(?: (\d\d))?\s*$"),
          "cpp": re.compile(r"^(\s*)// BEGIN SOLUTION(?: (\d\d))?\s*$")}
_END = {"py": re.compile(r"^\s*# END SOLUTION\s*$"),
        "cpp": re.compile(r"^\s*// END SOLUTION\s*$")}
# a C++ function definition starts in column 0: `void matmul_naive(int64_t M, ...`
_CPP_FUNCTION = re.compile(r"^[A-Za-z_][\w:<>,\s\*&]*?\b([A-Za-z_]\w*)\s*\(")


class MarkerError(ValueError):
    """A malformed region: unbalanced, nested, untagged, or outside a function."""


@dataclass(frozen=True)
class Region:
    """Lines ``begin`` (the BEGIN marker) .. ``end`` (the END marker), 0-based."""

    path: str          # relative to the repository root, "/" separated
    module: int
    function: str      # Class.method or function: what the student implements
    begin: int
    end: int
    indent: str
    language: str      # "py" or "cpp"

    def body(self, lines: list[str]) -> list[str]:
        return lines[self.begin + 1 : self.end]


def language_of(path: Path) -> str | None:
    if path.suffix in PYTHON_SUFFIXES:
        return "py"
    if path.suffix in CPP_SUFFIXES:
        return "cpp"
    return None


def _python_function(tree: ast.Module, line: int) -> str | None:
    """Class.method (or function) of the outermost function containing 1-based ``line``."""
    def search(nodes, prefix: str) -> str | None:
        for node in nodes:
            if not (node.lineno <= line <= (node.end_lineno or node.lineno)):
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return prefix + node.name
            if isinstance(node, ast.ClassDef):
                return search(node.body, prefix + node.name + ".")
        return None
    return search(tree.body, "")


def _cpp_function(lines: list[str], begin: int) -> str | None:
    for i in range(begin - 1, -1, -1):
        text = lines[i]
        if text.startswith(("//", "#", " ", "\t", "}")) or not text.strip():
            continue
        match = _CPP_FUNCTION.match(text)
        if match:
            return match.group(1)
        if text.rstrip().endswith(";"):
            return None
    return None


def find_regions(path: Path, relative: str, text: str | None = None) -> list[Region]:
    """Every solution region of one file, in order; MarkerError if any is malformed."""
    language = language_of(path)
    if language is None:
        return []
    text = path.read_text(encoding="utf-8") if text is None else text
    if "SOLUTION" not in text:
        return []
    lines = text.splitlines()
    tree: ast.Module | None = None
    regions: list[Region] = []
    open_at: int | None = None
    module = 0
    indent = ""
    for i, line in enumerate(lines):
        begin = _BEGIN[language].match(line)
        if begin:
            if open_at is not None:
                raise MarkerError(f"{relative}:{i + 1}: BEGIN SOLUTION inside the region "
                                  f"opened at line {open_at + 1}")
            if begin.group(2) is None:
                raise MarkerError(f"{relative}:{i + 1}: BEGIN SOLUTION needs its module "
                                  "number, e.g. `BEGIN SOLUTION 06`")
            open_at, module, indent = i, int(begin.group(2)), begin.group(1)
        elif _END[language].match(line):
            if open_at is None:
                raise MarkerError(f"{relative}:{i + 1}: END SOLUTION without a BEGIN")
            if language == "py":
                if tree is None:
                    try:
                        tree = ast.parse(text)
                    except SyntaxError as error:
                        raise MarkerError(f"{relative}:{error.lineno}: {error.msg}") from None
                function = _python_function(tree, open_at + 1)
            else:
                function = _cpp_function(lines, open_at)
            if function is None:
                raise MarkerError(f"{relative}:{open_at + 1}: a solution region must lie "
                                  "inside the function it belongs to")
            regions.append(Region(relative, module, function, open_at, i, indent, language))
            open_at = None
    if open_at is not None:
        raise MarkerError(f"{relative}:{open_at + 1}: BEGIN SOLUTION is never closed")
    return regions


def placeholder_message(region: Region, title: str, guide: str) -> str:
    return (f"Module {region.module:02d} ({title}): implement {region.function} - "
            f"see {guide}/README.md")


def placeholder(region: Region, title: str, guide: str) -> str:
    message = placeholder_message(region, title, guide)
    if region.language == "py":
        return f'{region.indent}raise NotImplementedError("{message}")'
    return f'{region.indent}throw tinytorch::NotImplemented("{message}");'


def replace_regions(lines: list[str], regions: list[Region], texts: dict[Region, str]) -> list[str]:
    """``lines`` with the body of each region replaced by ``texts[region]`` (one line)."""
    out: list[str] = []
    position = 0
    for region in sorted(regions, key=lambda r: r.begin):
        out.extend(lines[position : region.begin + 1])
        out.append(texts[region])
        position = region.end
    out.extend(lines[position:])
    return out
