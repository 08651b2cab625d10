"""The course's promise: module N's tests need nothing from modules after N.

A student who has finished Module 05 must pass the tests of Modules 01-05
without having written an optimizer. Each test file runs in a subprocess in
which the packages of later modules cannot be imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NOT_APPLICABLE
from tinytorch.course.curriculum import load

TESTS = Path(__file__).parent

#: package -> the module that introduces it (curriculum.toml's `introduces`, planned
#: modules included so their packages are blocked from the start)
INTRODUCED_IN = {package: m.number for m in load().table() for package in m.introduces}


BLOCKER = """
import sys
BLOCKED = {blocked!r}
class _LaterModules:
    def find_spec(self, name, path=None, target=None):
        for package in BLOCKED:
            if name == package or name.startswith(package + "."):
                raise ImportError(f"{{name}} belongs to a later module than this test file")
        return None
sys.meta_path.insert(0, _LaterModules())
import pytest
sys.exit(pytest.main({args!r}))
"""


def module_test_files() -> list[tuple[int, Path]]:
    """(module, test file) for every test file curriculum.toml lists."""
    return [(m.number, TESTS.parent / test) for m in load().modules for test in m.tests]


@pytest.mark.slow
@pytest.mark.parametrize("number,path", module_test_files(), ids=lambda v: getattr(v, "name", ""))
def test_module_tests_need_no_later_module(number, path):
    blocked = sorted(p for p, introduced in INTRODUCED_IN.items() if introduced > number)
    if not blocked:
        pytest.skip(f"{NOT_APPLICABLE} nothing comes after this module yet")
    args = [str(path), "-q", "-x", "-m", "not slow", "-p", "no:cacheprovider",
            "-p", "no:randomly"]
    code = BLOCKER.format(blocked=blocked, args=args)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=TESTS.parent, env=dict(os.environ), timeout=600)
    assert result.returncode in (0, 5), (
        f"{path.name} needs a later module ({', '.join(blocked)} blocked):\n"
        + result.stdout[-3000:] + result.stderr[-2000:])
