"""The package's structure is a checked contract, not a hope.

* layering (import-linter, configured in pyproject.toml): a module imports only
  the layers below it, from the command line at the top to the backends;
* every backend implements every kernel family's Protocol (mypy);
* small files: no source file over 400 lines;
* one source of truth: a single timer, a single conv output-size formula.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "tinytorch"
MAX_LINES = 400


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_layers_import_only_downwards():
    pytest.importorskip("importlinter", reason="pip install '.[test]' brings import-linter")
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    result = _run(lint, "--no-cache")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_every_backend_matches_its_family_protocol():
    pytest.importorskip("mypy", reason="pip install '.[test]' brings mypy")
    result = _run(sys.executable, "-m", "mypy", "--no-incremental")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "csrc").glob("*.[ch]*")):
        yield path, path.read_text(encoding="utf-8").splitlines()


def test_no_source_file_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): len(lines) for p, lines in _sources()
            if len(lines) > MAX_LINES}
    assert not long, f"split these by concept (limit {MAX_LINES} lines): {long}"


def test_there_is_one_timer():
    """Every measurement goes through tinytorch.utils.benchmark."""
    timer = re.compile(r"\bperf_counter\b|\btimeit\b|\btime\.time\(\)")
    allowed = PACKAGE / "utils" / "benchmark.py"
    places = [ROOT / "src", ROOT / "modules", ROOT / "benchmarks", ROOT / "milestones"]
    found = [f"{p.relative_to(ROOT)}:{i + 1}" for place in places for p in place.rglob("*.py")
             if p != allowed
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines())
             if timer.search(line)]
    assert not found, f"a second timer (use tinytorch.utils.benchmark): {found}"


def test_there_is_one_conv_output_size_formula():
    """(H + 2*pad - dil*(K-1) - 1) // stride + 1 lives in backends/spatial/shapes.py only."""
    formula = re.compile(r"-\s*1\s*\)\s*//")
    allowed = PACKAGE / "backends" / "spatial" / "shapes.py"
    places = [ROOT / "src", ROOT / "modules", ROOT / "benchmarks", ROOT / "tests"]
    found = [f"{p.relative_to(ROOT)}:{i + 1}" for place in places for p in place.rglob("*.py")
             if p not in (allowed, Path(__file__))
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines())
             if formula.search(line)]
    assert not found, f"a second output-size formula (use spatial.shapes): {found}"
