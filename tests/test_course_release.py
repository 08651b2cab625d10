"""The course's proof (slow, runs in CI): releases grade exactly as promised.

For each NN in THROUGH a release with the solutions of Modules 01..NN grades
complete for NN, and Module NN+1 fails - with NotImplementedError naming Module
NN+1, never an import or collection error, never a later module's placeholder.
An untouched full release fails every module after 01; the same release with
the reference solutions pasted back grades complete for every module.

Cost control (CI has 2 cores): one ``pip install -e`` of the full release into
a scratch virtual environment builds the release's C++ once (as a student
would, and proving the release builds, installs and imports); the releases
through NN < 15 have byte-identical csrc/ (checked), so they share that
extension. The solved release's csrc/ is byte-identical to this repository's
(checked), so it uses the extension this test session imports. Every grade run
imports the release's own Python sources (the grader checks this itself, inside
pytest); subprocesses are bounded and guarded by TINYTORCH_GRADING.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tinytorch.course.curriculum import load
from tinytorch.course.grade import GUARD
from tinytorch.course.release import make_release, paste_solutions, released_files

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bool(os.environ.get(GUARD)), reason="inside a grade run")]

ROOT = Path(__file__).resolve().parents[1]
COURSE = load()
THROUGH = (2, 5, 6, 8, 10, 14)
LAST = COURSE.numbers[-1]


def _csrc_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((root / "csrc").glob("*")):
        digest.update(path.name.encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _extension(folder: Path) -> Path:
    (found,) = folder.glob("_native*" + sysconfig.get_config_var("EXT_SUFFIX"))
    return found


def _grade(release: Path, number: int) -> tuple[int, dict]:
    """`tinytorch grade NN --json` in ``release``, importing the release's own sources.

    ``-S`` keeps an editable install of the instructor's tinytorch (a finder in a .pth
    file) out of the way; PYTHONPATH gives the release's src/ first, then the packages
    (numpy, pytest, torch) of this environment."""
    site = [p for p in sys.path if p.endswith("site-packages")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(release / "src"), *site]))
    env.pop(GUARD, None)
    result = subprocess.run([sys.executable, "-S", "-m", "tinytorch", "grade", f"{number:02d}",
                             "--json"], cwd=release, env=env, capture_output=True, text=True,
                            timeout=1800)
    assert result.stdout.strip(), result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert "error" not in report, report
    assert Path(report["tinytorch"]) == (release / "src" / "tinytorch").resolve()
    return result.returncode, report


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    base = tmp_path_factory.mktemp("course")
    made = {nn: base / f"through{nn:02d}" for nn in THROUGH}
    for nn, out in made.items():
        make_release(ROOT, out, nn, COURSE)
    full = base / "full"
    make_release(ROOT, full, 1, COURSE)
    solved = base / "solved"
    make_release(ROOT, solved, 1, COURSE)
    assert paste_solutions(solved, ROOT, COURSE) > 100
    for rel in released_files(ROOT, COURSE):  # pasted back, it is the instructor's code again
        assert (solved / rel).read_bytes() == (ROOT / rel).read_bytes(), rel
    # the student's path, once: a scratch venv on top of this one, pip install -e
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=300)
    site = [p for p in sys.path if p.endswith("site-packages")]
    (Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
     / "parent.pth").write_text("\n".join(site) + "\n")
    python = venv / "bin" / "python"
    build = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-build-isolation",
                            "--no-deps", "--ignore-installed", "-e", str(full), "-C", f"build-dir={base / 'build'}"],
                           capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    imported = subprocess.run([str(python), "-c", "import tinytorch, tinytorch._native as n; "
                               "print(tinytorch.__file__); print(n.__file__)"],
                              capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr
    package_file, extension = imported.stdout.split()
    assert Path(package_file).resolve() == (full / "src" / "tinytorch" / "__init__.py").resolve()
    placeholder_csrc = _csrc_hash(full)
    import tinytorch._native as instructor_native

    for nn, out in made.items():
        if nn < 15:
            assert _csrc_hash(out) == placeholder_csrc, f"release through {nn:02d}: csrc differs"
            shutil.copy2(extension, out / "src" / "tinytorch")
    assert _csrc_hash(solved) == _csrc_hash(ROOT) != placeholder_csrc
    shutil.copy2(instructor_native.__file__, solved / "src" / "tinytorch")
    shutil.copy2(extension, full / "src" / "tinytorch")
    return {"through": made, "full": full, "solved": solved}


def _module(report: dict, number: int) -> dict:
    (found,) = [m for m in report["modules"] if m["number"] == number]
    return found


@pytest.fixture(scope="module")
def grades(releases):
    """Every grade run of this file, two at a time (CI has 2 cores): {(release, NN): result}.

    A release through NN is graded for NN+1: that run holds the tests of Modules 01..NN+1,
    so it shows both that 01..NN are complete (what `grade NN` decides) and how NN+1 fails.
    `grade NN` itself runs once (through 02) to check its exit code and verdict."""
    runs = [(f"through{nn:02d}", releases["through"][nn], nn + 1) for nn in THROUGH]
    runs += [("through02", releases["through"][2], 2), ("full", releases["full"], LAST),
             ("solved", releases["solved"], LAST)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {(name, nn): pool.submit(_timed_grade, folder, nn) for name, folder, nn in runs}
        results = {key: future.result() for key, future in futures.items()}
    print(f"\n{len(runs)} grade runs in {time.monotonic() - started:.0f} s wall: "
          + ", ".join(f"{name} grade {nn:02d}: {results[name, nn][2]:.0f} s"
                      for name, _, nn in runs))
    return results


def _timed_grade(folder: Path, number: int) -> tuple[int, dict, float]:
    started = time.monotonic()
    code, report = _grade(folder, number)
    return code, report, time.monotonic() - started


PLACEHOLDER = re.compile(r"Module (\d\d) \([^)]*\): implement ")


def _placeholder_modules(exception: str) -> set[int]:
    """The modules whose placeholder message an exception shows. Usually the exception is
    the placeholder's NotImplementedError itself; a test that expects a RuntimeError with
    ``pytest.raises(RuntimeError, match=...)`` also catches it (NotImplementedError is a
    RuntimeError) and fails on the regex, quoting the placeholder as the actual message.
    A test that runs the ``tinytorch`` command in a subprocess fails on that process's
    output, which quotes the placeholder's traceback."""
    if (exception.startswith("NotImplementedError: ") or "Actual message: " in exception
            or "NotImplementedError: Module " in exception):
        return {int(n) for n in PLACEHOLDER.findall(exception)}
    return set()


def _fails_with_placeholders(module: dict, allowed: range) -> None:
    number = module["number"]
    assert not module["complete"] and module["failed"] > 0, module
    assert not module["collection_errors"], module["collection_errors"]
    others = [f for f in module["failures"]
              if not all(_placeholder_modules(e) & set(allowed) for e in f["exceptions"])]
    assert not others, f"Module {number:02d} fails for other reasons: {others[:5]}"


def _fails_with_its_own_placeholders(module: dict) -> None:
    _fails_with_placeholders(module, range(module["number"], module["number"] + 1))


def _incomplete(report: dict) -> list:
    return [(m["number"], m["state"], m["first_failure"]) for m in report["modules"]
            if not m["complete"]]


@pytest.mark.parametrize("nn", THROUGH)
def test_release_through_nn_completes_nn_and_fails_nn_plus_1(grades, nn):
    code, report, _ = grades[f"through{nn:02d}", nn + 1]
    assert code == 1 and not report["complete"]
    done = [m for m in report["modules"] if m["number"] <= nn]
    assert len(done) == nn and all(m["complete"] for m in done), _incomplete(report)
    _fails_with_its_own_placeholders(_module(report, nn + 1))


def test_grade_nn_exits_0_when_complete(grades):
    code, report, _ = grades["through02", 2]
    assert code == 0 and report["complete"], _incomplete(report)


def test_untouched_full_release_fails_every_module_after_01(grades):
    code, report, _ = grades["full", LAST]
    assert code == 1 and not report["complete"]
    assert _module(report, 1)["complete"], _incomplete(report)
    for module in report["modules"][1:]:  # each fails, with placeholders of it or before it
        _fails_with_placeholders(module, range(2, module["number"] + 1))


def test_solved_release_grades_complete_for_every_module(grades, releases):
    code, report, _ = grades["solved", LAST]
    assert code == 0 and all(m["complete"] for m in report["modules"]), _incomplete(report)
