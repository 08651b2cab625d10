"""``tinytorch grade NN``: run the tests of Modules 01..NN against the student's code.

Honesty rules (each one is a way an earlier course's grader lied):
* the tests must import *this checkout's* tinytorch - a non-editable install
  would test a copy, so the grader refuses (and checks again inside pytest);
* a module is complete only when its tests were collected, every one ran and
  passed (a skip, e.g. PyTorch missing, is not a pass), and so did its
  prerequisites; zero tests collected is a failure;
* the grader never starts itself again (``TINYTORCH_GRADING`` guards the
  pytest subprocess, whose tests could call ``tinytorch grade``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinytorch.course import progress
from tinytorch.course.curriculum import Curriculum

GUARD = progress.GUARD
TIMEOUT_SECONDS = 3 * 3600


class GradeError(RuntimeError):
    """The grader cannot run (wrong install, not in a checkout, pytest crashed)."""


#: A test that cannot apply on this machine (a CPU feature it lacks, a situation that
#: does not exist here) skips with a reason starting with this text; such a skip is
#: neither a pass nor a missing requirement. Every other skip (PyTorch or matplotlib
#: missing, no data) keeps a module from being complete.
NOT_APPLICABLE = "not applicable here:"


@dataclass
class ModuleResult:
    number: int
    title: str
    tests: list[str]
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    not_run: int = 0          # deselected slow tests
    not_applicable: int = 0   # skips that say "not applicable here:" (see NOT_APPLICABLE)
    errors: list[str] = field(default_factory=list)
    first_failure: dict[str, str] | None = None
    failures: list[dict[str, str]] = field(default_factory=list)
    complete: bool = False
    state: str = ""

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "title": self.title, "complete": self.complete,
                "state": self.state, "passed": self.passed, "failed": self.failed,
                "skipped": self.skipped, "total": self.total, "slow_not_run": self.not_run,
                "not_applicable": self.not_applicable,
                "collection_errors": self.errors, "first_failure": self.first_failure,
                "failures": self.failures,
                "tests": self.tests}


@dataclass
class Grade:
    module: int
    checkout: Path
    tinytorch: str
    modules: list[ModuleResult]
    slow: bool

    @property
    def target(self) -> ModuleResult:
        return self.modules[-1]

    @property
    def complete(self) -> bool:
        return self.target.complete

    def as_dict(self) -> dict[str, Any]:
        return {"module": self.module, "complete": self.complete, "checkout": str(self.checkout),
                "tinytorch": self.tinytorch, "slow_tests": self.slow,
                "graded_at": _now(), "modules": [m.as_dict() for m in self.modules]}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def find_checkout(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "src" / "tinytorch").is_dir():
            return folder
    raise GradeError(f"{start} is not inside a TinyTorch checkout (no pyproject.toml with "
                     "src/tinytorch above it); cd into your repository first")


def check_install(checkout: Path) -> str:
    """The imported package's folder; GradeError unless it is the checkout's own."""
    imported = Path(__file__).resolve().parents[1]
    own = (checkout / "src" / "tinytorch").resolve()
    if imported != own:
        raise GradeError(
            f"Python imports tinytorch from {imported}, not from this checkout ({own}), so the "
            "tests would grade a copy instead of your code. Install editable: "
            f'cd {checkout} && pip install -e ".[test]"')
    return str(imported)


def _module_of(nodeid: str, by_file: dict[str, ModuleResult]) -> ModuleResult | None:
    return by_file.get(nodeid.split("::", 1)[0])


def _run_pytest(checkout: Path, files: list[str], slow: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tinytorch-grade-") as tmp:
        report = Path(tmp) / "report.json"
        env = dict(os.environ, **{GUARD: "1", "TINYTORCH_GRADE_REPORT": str(report)})
        # the same interpreter with the same -S (no site), so pytest imports what we import
        flags = ["-S"] if sys.flags.no_site else []
        command = [sys.executable, *flags, "-m", "pytest", *files, "-q", "-p", "no:cacheprovider",
                   "-p", "tinytorch.course.grade_plugin", "--rootdir", str(checkout)]
        if not slow:
            command += ["-m", "not slow"]
        try:
            result = subprocess.run(command, cwd=checkout, env=env, capture_output=True,
                                    text=True, timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise GradeError(f"the tests took longer than {TIMEOUT_SECONDS} s") from None
        if not report.is_file():
            raise GradeError("pytest ended without a report (exit code "
                             f"{result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}")
        data = json.loads(report.read_text(encoding="utf-8"))
    data["output"] = result.stdout[-20000:]
    return data


def grade(number: int, curriculum: Curriculum, start: Path | None = None,
          slow: bool = False) -> Grade:
    if os.environ.get(GUARD):
        raise GradeError(f"tinytorch grade is already running ({GUARD} is set): it never "
                         "starts itself again from inside its own tests")
    target = curriculum.module(number)
    checkout = find_checkout((start or Path.cwd()).resolve())
    imported = check_install(checkout)
    results = [ModuleResult(m.number, m.title, list(m.tests))
               for m in curriculum.modules if m.number <= target.number]
    by_file = {test: r for r in results for test in r.tests}
    files = []
    for r in results:
        for test in r.tests:
            if (checkout / test).is_file():
                files.append(test)
            else:
                r.errors.append(f"{test} is missing")
    data = _run_pytest(checkout, files, slow) if files else {"tests": {}, "tinytorch": imported}
    if data.get("tinytorch") != imported:
        raise GradeError(f"the tests imported tinytorch from {data.get('tinytorch')}, not from "
                         f"{imported}; install editable (pip install -e .) and grade again")
    for error in data.get("collection_errors", []):
        r = _module_of(error["nodeid"], by_file)
        if r is not None:
            r.errors.append(f"{error['nodeid']}: {error['message']}")
            r.first_failure = r.first_failure or {"test": error["nodeid"],
                                                  "message": error["message"],
                                                  "where": error.get("where", "")}
    for nodeid in data.get("deselected", []):
        r = _module_of(nodeid, by_file)
        if r is not None:
            r.not_run += 1
    for nodeid, entry in data["tests"].items():
        r = _module_of(nodeid, by_file)
        if r is None:
            continue
        outcome = entry["outcome"]
        if outcome == "passed":
            r.passed += 1
            continue
        if outcome == "failed":
            r.failed += 1
        elif str(entry.get("message", "")).startswith(NOT_APPLICABLE):
            r.not_applicable += 1  # e.g. a VNNI kernel path on a CPU without VNNI
            continue
        else:
            r.skipped += 1
        r.failures.append({"test": nodeid, "outcome": outcome, "message": entry["message"],
                           "exceptions": entry.get("exceptions", [entry["message"]])})
        if r.first_failure is None or (outcome == "failed"
                                       and r.first_failure.get("outcome") == "skipped"):
            r.first_failure = {"test": nodeid, "outcome": outcome, "message": entry["message"],
                               "where": entry.get("where", "")}
    done: dict[int, bool] = {}
    for r in results:
        module = curriculum.module(r.number)
        own = r.total > 0 and r.failed == 0 and r.skipped == 0 and not r.errors
        blocked = [p for p in module.prerequisites if not done.get(p, False)]
        r.complete = own and not blocked
        if r.errors:
            r.state = "error"
        elif r.total == 0:
            r.state = "no tests ran"
        elif r.failed:
            r.state = "failing"
        elif r.skipped:
            r.state = "skipped tests"
        elif blocked:
            r.state = "waiting for " + ", ".join(f"{p:02d}" for p in blocked)
        else:
            r.state = "complete"
        done[r.number] = r.complete
    result = Grade(number, checkout, imported, results, slow)
    progress.record(checkout, [m.as_dict() for m in results], _now())
    return result


def hint(r: ModuleResult, curriculum: Curriculum) -> str:
    message = (r.first_failure or {}).get("message", "")
    if "NotImplementedError" in message:
        return "write that function (its body still raises NotImplementedError)"
    if r.errors and not r.total:
        return "the test file did not even import; fix the error above first"
    if (r.first_failure or {}).get("outcome") == "skipped":
        return ("a skipped test does not count as passed; install what the reason names "
                "(e.g. pip install torch) and grade again")
    guide = curriculum.module(r.number).guide
    return (f"run `pytest {(r.first_failure or {}).get('test', '')}` to see the whole failure; "
            f"modules/{guide}/README.md explains the exercise")


def format_report(result: Grade, curriculum: Curriculum) -> str:
    lines = [f"tinytorch grade {result.module:02d}: testing {result.tinytorch}"]
    for r in result.modules:
        status = "complete" if r.complete else r.state.upper()
        counts = f"{r.passed} passed, {r.failed} failed, {r.skipped} skipped of {r.total}"
        slow = f" (+{r.not_run} slow not run)" if r.not_run else ""
        if r.not_applicable:
            slow += f" (+{r.not_applicable} not applicable here)"
        lines.append(f"  {r.number:02d} {r.title:<13} {status:<16} {counts}{slow}")
        if not r.complete and r.first_failure is not None:
            lines.append(f"       first failure: {r.first_failure['test']}")
            lines.append(f"         {r.first_failure['message'][:300]}")
            if r.first_failure.get("where"):
                lines.append(f"         at {r.first_failure['where']}")
            lines.append(f"         hint: {hint(r, curriculum)}")
        for error in r.errors[1:4] if r.first_failure else r.errors[:3]:
            lines.append(f"       error: {error[:300]}")
    target = result.target
    label = curriculum.module(target.number).label
    if result.complete:
        lines.append(f"{label}: complete.")
    else:
        lines.append(f"{label}: NOT complete ({target.state}).")
    return "\n".join(lines)
