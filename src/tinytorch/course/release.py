"""``tinytorch release``: write a student repository with the solutions removed.

Every solution region of a module after ``through`` is replaced by a placeholder
raising ``NotImplementedError`` (C++: a ``throw`` that reaches Python as one);
the marker lines stay, so the student sees where to write. The generator never
writes into a student's checkout and refuses any other non-empty directory
unless ``force`` is given.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tinytorch.course.curriculum import Curriculum
from tinytorch.course.markers import Region, find_regions, language_of, placeholder, replace_regions
from tinytorch.course.student_readme import student_readme

#: written at the root of every release; marks a student checkout
MARKER = ".tinytorch-release.json"
_SKIP_DIRS = {"__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache", "build"}
_SKIP_SUFFIXES = (".pyc", ".so", ".pyd", ".dll", ".dylib", ".o")
#: a removed region leaks when this many of its consecutive code lines reappear ...
LEAK_WINDOW = 3
#: ... or, for a shorter region, when all of it (at least this many characters) does
LEAK_MIN_CHARS = 20


class ReleaseError(RuntimeError):
    """The release cannot be written (bad directory, inconsistent markers, a leak)."""


@dataclass
class Release:
    out: Path
    through: int
    files: int = 0
    removed: list[Region] = field(default_factory=list)
    bodies: dict[Region, list[str]] = field(default_factory=dict)
    given: dict[Region, list[str]] = field(default_factory=dict)   # kept solution regions


def repository_root() -> Path | None:
    """The checkout this tinytorch was imported from (src/tinytorch/course/..), if any."""
    root = Path(__file__).resolve().parents[3]
    if (root / "pyproject.toml").is_file() and (root / "src" / "tinytorch").is_dir():
        return root
    return None


def released_files(source: Path, curriculum: Curriculum) -> Iterator[Path]:
    """Repository-relative paths of everything a release contains."""
    spec = curriculum.release
    exclude = set(spec.get("exclude", []))
    for entry in spec.get("include", []):
        path = source / entry
        if path.is_file():
            if entry not in exclude:
                yield Path(entry)
            continue
        if not path.is_dir():
            continue
        for file in sorted(path.rglob("*")):
            rel = file.relative_to(source)
            if (not file.is_file() or any(part in _SKIP_DIRS or part.endswith(".egg-info")
                                          for part in rel.parts)
                    or file.name.endswith(_SKIP_SUFFIXES) or rel.as_posix() in exclude):
                continue
            yield rel


def is_marked(rel: Path, curriculum: Curriculum) -> bool:
    text = rel.as_posix()
    return language_of(rel) is not None and any(
        text.startswith(folder) for folder in curriculum.release.get("marked", []))


def all_regions(source: Path, curriculum: Curriculum) -> list[Region]:
    regions: list[Region] = []
    for rel in released_files(source, curriculum):
        if is_marked(rel, curriculum):
            regions.extend(find_regions(source / rel, rel.as_posix()))
    return regions


def exercise_name(region: Region) -> str:
    """The curriculum's name of a region's function: tinytorch.ops.arithmetic.Mul.forward,
    or csrc/matmul_steps.cpp:matmul_naive."""
    if region.language == "py" and region.path.startswith("src/"):
        module = region.path[len("src/"):].removesuffix(".py").replace("/", ".")
        return f"{module}.{region.function}"
    return f"{region.path}:{region.function}"


def check_exercises(regions: list[Region], curriculum: Curriculum) -> list[str]:
    """Disagreements between the markers in the sources and curriculum.toml's exercises."""
    problems = []
    marked: dict[int, set[str]] = {}
    for region in regions:
        marked.setdefault(region.module, set()).add(exercise_name(region))
    numbers = set(curriculum.numbers)
    for number in sorted(set(marked) - numbers):
        problems.append(f"solution regions tagged {number:02d}, but curriculum.toml has no "
                        f"Module {number:02d}: {sorted(marked[number])[:3]}")
    for module in curriculum.modules:
        listed, found = set(module.exercises), marked.get(module.number, set())
        for name in sorted(found - listed):
            problems.append(f"{name} has a BEGIN SOLUTION {module.number:02d} region but is "
                            f"not listed in {module.label}'s exercises")
        for name in sorted(listed - found):
            problems.append(f"{module.label} lists the exercise {name}, but no "
                            f"BEGIN SOLUTION {module.number:02d} region marks it")
    return problems


def _git_commit(source: Path) -> str:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True,
                                text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def _check_out_dir(out: Path, source: Path, force: bool) -> None:
    out_r, source_r = out.resolve(), source.resolve()
    if out_r == source_r or source_r in out_r.parents or out_r in source_r.parents:
        raise ReleaseError(f"{out} overlaps the source repository {source}; "
                           "choose a directory outside it")
    if out.exists() and not out.is_dir():
        raise ReleaseError(f"{out} exists and is not a directory")
    if (out / MARKER).exists():
        raise ReleaseError(f"{out} is a student checkout (it has {MARKER}); a release never "
                           "touches a student's existing work - write to a new directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ReleaseError(f"{out} is not empty; choose an empty directory or pass --force "
                           "to write the release into it anyway")


def make_release(source: Path, out: Path, through: int, curriculum: Curriculum,
                 force: bool = False) -> Release:
    numbers = curriculum.numbers
    if through not in numbers:
        raise ReleaseError(f"--through {through:02d}: not a module of curriculum.toml "
                           f"(built: {numbers[0]:02d}-{numbers[-1]:02d})")
    _check_out_dir(out, source, force)
    regions = all_regions(source, curriculum)
    problems = check_exercises(regions, curriculum)
    if problems:
        raise ReleaseError("the solution markers and curriculum.toml disagree:\n  "
                           + "\n  ".join(problems))
    keep = set(curriculum.release.get("always_solved", [])) | {n for n in numbers if n <= through}
    release = Release(out=out, through=through)
    out.mkdir(parents=True, exist_ok=True)
    for rel in released_files(source, curriculum):
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not is_marked(rel, curriculum):
            target.write_bytes((source / rel).read_bytes())
            release.files += 1
            continue
        text = (source / rel).read_text(encoding="utf-8")
        regions = find_regions(source / rel, rel.as_posix(), text)
        removed = [r for r in regions if r.module not in keep]
        lines = text.splitlines()
        release.given.update((r, r.body(lines)) for r in regions if r.module in keep)
        if removed:
            texts = {}
            for region in removed:
                module = curriculum.module(region.module)
                texts[region] = placeholder(region, module.title, f"modules/{module.guide}")
                release.bodies[region] = region.body(lines)
            lines = replace_regions(lines, removed, texts)
            release.removed.extend(removed)
        target.write_text("\n".join(lines) + ("\n" if text.endswith("\n") else ""),
                          encoding="utf-8")
        release.files += 1
    (out / "README.md").write_text(student_readme(curriculum, through), encoding="utf-8")
    (out / ".gitignore").write_text("__pycache__/\n*.egg-info/\nbuild/\n*.so\n.tinytorch/\n",
                                    encoding="utf-8")
    removed_modules = sorted({r.module for r in release.removed})
    (out / MARKER).write_text(json.dumps({
        "through": through, "source_commit": _git_commit(source),
        "removed_regions": len(release.removed), "removed_modules": removed_modules,
    }, indent=2) + "\n", encoding="utf-8")
    leaks = find_leaks(out, release.bodies, release.given)
    if leaks:
        raise ReleaseError("solution text survived in the release:\n  " + "\n  ".join(leaks[:20]))
    return release


def _code_lines(lines: list[str]) -> list[str]:
    """Stripped lines that carry code (not blank, not only a comment or a closing bracket)."""
    return [t for t in (line.strip() for line in lines)
            if any(c.isalnum() for c in t) and not t.startswith(("#", "//"))]


def leak_keys(body: list[str]) -> set[tuple[str, ...]]:
    """What must not reappear of a removed body: every run of LEAK_WINDOW consecutive code
    lines, or - for a shorter body - the whole body (when it has LEAK_MIN_CHARS or more;
    `return -grad` alone is not evidence of anything)."""
    code = _code_lines(body)
    if len(code) >= LEAK_WINDOW:
        return {tuple(code[i : i + LEAK_WINDOW]) for i in range(len(code) - LEAK_WINDOW + 1)}
    if code and sum(map(len, code)) >= LEAK_MIN_CHARS:
        return {tuple(code)}
    return set()


def find_leaks(out: Path, bodies: dict[Region, list[str]],
               given: dict[Region, list[str]] | None = None) -> list[str]:
    """Places in ``out`` where a removed solution reappears: LEAK_WINDOW consecutive code
    lines of a removed region (or the whole of a short one), in any text file.

    Lines that are also part of a solution the release gives (an earlier module's, e.g.
    Module 13's softmax loop inside Module 16's decode attention) are not a leak."""
    known = {key for body in (given or {}).values() for key in leak_keys(body)}
    wanted: dict[tuple[str, ...], Region] = {}
    for region, body in bodies.items():
        for key in leak_keys(body) - known:
            wanted.setdefault(key, region)
    sizes = sorted({len(key) for key in wanted})
    leaks = []
    for file in sorted(out.rglob("*")):
        if not file.is_file() or file.suffix in _SKIP_SUFFIXES:
            continue
        try:
            code = _code_lines(file.read_text(encoding="utf-8").splitlines())
        except UnicodeDecodeError:
            continue
        rel = file.relative_to(out).as_posix()
        for size in sizes:
            for i in range(len(code) - size + 1):
                region = wanted.get(tuple(code[i : i + size]))
                if region is not None:
                    leaks.append(f"{rel}: {code[i]!r}... (from {region.path}:{region.begin + 1}, "
                                 f"{region.function}, Module {region.module:02d})")
    return leaks


def paste_solutions(release_dir: Path, source: Path, curriculum: Curriculum) -> int:
    """Put the reference solutions back into a release (the instructor's "solved" checkout):
    every placeholder region gets the source's body. Returns the number of regions filled;
    ReleaseError if a file's regions no longer match the source's (edited markers)."""
    filled = 0
    for rel in released_files(release_dir, curriculum):
        if not is_marked(rel, curriculum) or not (source / rel).is_file():
            continue
        text = (release_dir / rel).read_text(encoding="utf-8")
        ours = find_regions(release_dir / rel, rel.as_posix(), text)
        if not ours:
            continue
        source_text = (source / rel).read_text(encoding="utf-8")
        theirs = find_regions(source / rel, rel.as_posix(), source_text)
        if [(r.module, r.function) for r in ours] != [(r.module, r.function) for r in theirs]:
            raise ReleaseError(f"{rel}: its solution regions differ from the source's")
        source_lines = source_text.splitlines()
        lines = text.splitlines()
        texts = {r: "\n".join(t.body(source_lines)) for r, t in zip(ours, theirs, strict=True)}
        lines = replace_regions(lines, [r for r in ours if texts[r] != "\n".join(r.body(lines))],
                                texts) if ours else lines
        filled += sum(1 for r, t in zip(ours, theirs, strict=True)
                      if r.body(text.splitlines()) != t.body(source_lines))
        (release_dir / rel).write_text("\n".join(lines) + ("\n" if text.endswith("\n") else ""),
                                       encoding="utf-8")
    return filled
