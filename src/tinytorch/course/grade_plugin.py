"""pytest plugin of ``tinytorch grade``: records every test's outcome as JSON.

Loaded with ``-p tinytorch.course.grade_plugin`` in the grader's pytest run;
writes to the file named by ``TINYTORCH_GRADE_REPORT``. It also records which
``tinytorch`` the tests imported, so the grader can prove it tested the
student's own code.
"""

from __future__ import annotations

import json
import os
from typing import Any

_tests: dict[str, dict[str, Any]] = {}
_errors: list[dict[str, Any]] = []
_deselected: list[str] = []


def _message(report: Any) -> tuple[str, str]:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: "), f"{longrepr[0]}:{longrepr[1]}"
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message, f"{crash.path}:{crash.lineno}"
    text = str(longrepr or "")
    return (text.strip().splitlines() or [""])[-1], ""


def _leaves(error: BaseException) -> list[BaseException]:
    nested = getattr(error, "exceptions", None)  # an ExceptionGroup (e.g. from hypothesis)
    if not nested:
        return [error]
    return [leaf for inner in nested for leaf in _leaves(inner)]


try:
    import pytest

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(item: Any, call: Any) -> Any:
        outcome = yield
        report = outcome.get_result()
        if call.excinfo is not None and report.failed:
            report.tinytorch_exceptions = [f"{type(e).__name__}: {e}"
                                           for e in _leaves(call.excinfo.value)]
except ImportError:  # pragma: no cover - only ever loaded by pytest
    pass


def pytest_configure(config: Any) -> None:
    # A failing property test stops at its first bug instead of hunting for more distinct
    # ones (which multiplies the time of a run full of NotImplementedError); passing
    # tests are unaffected.
    try:
        from hypothesis import settings
    except ImportError:
        return
    settings.register_profile("tinytorch-grade", report_multiple_bugs=False)
    settings.load_profile("tinytorch-grade")


def pytest_runtest_logreport(report: Any) -> None:
    entry = _tests.setdefault(report.nodeid, {"outcome": "passed", "message": "", "where": ""})
    if entry["outcome"] == "failed":
        return
    if hasattr(report, "wasxfail"):
        if report.skipped:  # an expected failure that failed: the test passed
            return
        if report.failed:  # strict xfail that passed
            entry.update(outcome="failed", message=f"XPASS(strict): {report.wasxfail}")
            return
    if report.failed:
        message, where = _message(report)
        exceptions = getattr(report, "tinytorch_exceptions", None) or [message]
        if len(exceptions) > 1:
            message = f"{len(exceptions)} failures: " + " | ".join(exceptions)
        entry.update(outcome="failed", message=message, where=where, phase=report.when,
                     exceptions=exceptions)
    elif report.skipped:
        message, where = _message(report)
        entry.update(outcome="skipped", message=message, where=where)


def pytest_collectreport(report: Any) -> None:
    if report.failed:
        message, where = _message(report)
        _errors.append({"nodeid": report.nodeid, "message": message, "where": where})


def pytest_deselected(items: list[Any]) -> None:
    _deselected.extend(item.nodeid for item in items)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    path = os.environ.get("TINYTORCH_GRADE_REPORT")
    if not path:
        return
    try:
        import tinytorch
        imported = os.path.dirname(os.path.abspath(tinytorch.__file__))
    except Exception as error:  # noqa: BLE001 - a broken package is a result, not a crash
        imported = f"import failed: {type(error).__name__}: {error}"
    with open(path, "w", encoding="utf-8") as stream:
        json.dump({"tests": _tests, "collection_errors": _errors, "deselected": _deselected,
                   "exitstatus": int(exitstatus), "tinytorch": imported}, stream)
