"""A student's progress: what the last ``tinytorch grade`` found, and milestone gates.

``tinytorch grade`` writes ``.tinytorch/progress.json`` in the checkout;
``tinytorch status`` and the milestone gate read it. Each record carries a
fingerprint of the package sources, so a grade is stale once the code changes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from tinytorch.course.curriculum import Curriculum
from tinytorch.course.release import MARKER, repository_root

PROGRESS = Path(".tinytorch") / "progress.json"
#: set by `tinytorch grade` for its pytest run
GUARD = "TINYTORCH_GRADING"


def fingerprint(checkout: Path) -> str:
    """sha256 over the student's sources (package and C++), not the tests."""
    digest = hashlib.sha256()
    files = sorted((checkout / "src" / "tinytorch").rglob("*.py")) + sorted(
        p for p in (checkout / "csrc").glob("*") if p.is_file())
    for path in files:
        digest.update(path.relative_to(checkout).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def read(checkout: Path) -> dict[str, Any]:
    try:
        return json.loads((checkout / PROGRESS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"modules": {}}


def record(checkout: Path, modules: list[dict[str, Any]], graded_at: str) -> None:
    data = read(checkout)
    stamp = fingerprint(checkout)
    for entry in modules:
        data.setdefault("modules", {})[f"{entry['number']:02d}"] = {
            "complete": entry["complete"], "state": entry["state"], "passed": entry["passed"],
            "failed": entry["failed"], "skipped": entry["skipped"], "total": entry["total"],
            "graded_at": graded_at, "fingerprint": stamp}
    path = checkout / PROGRESS
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def is_student_checkout(checkout: Path | None) -> bool:
    return checkout is not None and (checkout / MARKER).is_file()


def module_state(checkout: Path, number: int, data: dict[str, Any] | None = None,
                 stamp: str | None = None) -> tuple[bool, str]:
    """(complete and fresh, a one-line description) of one module."""
    data = read(checkout) if data is None else data
    entry = data.get("modules", {}).get(f"{number:02d}")
    if entry is None:
        return False, "not graded yet"
    stamp = fingerprint(checkout) if stamp is None else stamp
    counts = f"{entry['passed']}/{entry['total']} passed"
    if entry["fingerprint"] != stamp:
        return False, f"{entry['state']} ({counts}), but the code changed since - grade again"
    return bool(entry["complete"]), f"{entry['state']} ({counts})"


def milestone_refusal(name: str, curriculum: Curriculum) -> str | None:
    """Why milestone ``name`` may not run yet in this student checkout (None: it may).

    In the instructor repository (no release marker) every milestone runs, and so does
    every milestone inside the grader's own run: its tests are how a module becomes
    complete in the first place."""
    if os.environ.get(GUARD):
        return None
    checkout = repository_root()
    if not is_student_checkout(checkout):
        return None
    assert checkout is not None
    module = curriculum.milestone_module(name)
    if module is None:
        return None
    data, stamp = read(checkout), fingerprint(checkout)
    missing = [n for n in (*module.prerequisites, module.number)
               if not module_state(checkout, n, data, stamp)[0]]
    if not missing:
        return None
    listed = ", ".join(f"{n:02d}" for n in missing)
    return (f"milestone {name} unlocks when {module.label} grades complete; not complete yet: "
            f"{listed}. Run `tinytorch grade {module.number:02d}` (instructors: --force).")
