"""The course's promise: module N's tests need nothing from modules after N.

A student who has finished Module 05 must pass the tests of Modules 01-05
without having written an optimizer. Each test file runs in a subprocess in
which the packages of later modules cannot be imported.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent

#: package -> the module that introduces it
INTRODUCED_IN = {
    "tinytorch.nn": 3,
    "tinytorch.optim": 7,
    "tinytorch.training": 9,
    "tinytorch.data": 10,
    "tinytorch.text": 11,
    "tinytorch.models": 14,
    "tinytorch.kv_cache": 16,
    "tinytorch.quant": 17,
    "tinytorch.compress": 18,
    "tinytorch.profiler": 19,
}

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
    found = []
    for path in sorted(TESTS.glob("test_[0-9][0-9]_*.py")):
        number = int(re.match(r"test_(\d\d)_", path.name).group(1))
        found.append((number, path))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("number,path", module_test_files(), ids=lambda v: getattr(v, "name", ""))
def test_module_tests_need_no_later_module(number, path):
    blocked = sorted(p for p, introduced in INTRODUCED_IN.items() if introduced > number)
    if not blocked:
        pytest.skip("nothing comes after this module yet")
    args = [str(path), "-q", "-x", "-m", "not slow", "-p", "no:cacheprovider",
            "-p", "no:randomly"]
    code = BLOCKER.format(blocked=blocked, args=args)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=TESTS.parent, env=dict(os.environ), timeout=600)
    assert result.returncode in (0, 5), (
        f"{path.name} needs a later module ({', '.join(blocked)} blocked):\n"
        + result.stdout[-3000:] + result.stderr[-2000:])
