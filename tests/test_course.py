"""The course machinery: curriculum.toml, solution markers, release, grade, status.

Fast checks; tests/test_course_release.py (slow) proves the releases grade as
promised. Instructor-only: the student release does not contain this file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinytorch.course import grade as grading
from tinytorch.course import progress
from tinytorch.course.curriculum import load, parse
from tinytorch.course.markers import MarkerError, find_regions
from tinytorch.course.release import (
    MARKER,
    ReleaseError,
    all_regions,
    check_exercises,
    leak_keys,
    make_release,
)

ROOT = Path(__file__).resolve().parents[1]
COURSE = load()


def test_curriculum_numbers_guides_and_tests_exist():
    numbers = COURSE.numbers
    assert numbers == list(range(1, len(numbers) + 1)), "modules are numbered 01, 02, ..."
    for m in COURSE.modules:
        assert (ROOT / "modules" / m.guide).is_dir(), f"{m.label}: no modules/{m.guide}/"
        assert m.guide.startswith(f"{m.number:02d}_")
        for path in m.files:
            assert (ROOT / path).exists(), f"{m.label} lists {path}, which does not exist"
        assert m.tests, f"{m.label} has no tests"
        for test in m.tests:
            assert (ROOT / test).is_file(), f"{m.label} lists {test}, which does not exist"
    listed = {t for m in COURSE.modules for t in m.tests}
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("test_[0-9]*.py")}
    assert on_disk == listed, f"test files and curriculum.toml differ: {on_disk ^ listed}"
    for m in COURSE.modules:
        for test in m.tests:
            assert Path(test).name.startswith(f"test_{m.number:02d}_"), (m.label, test)


def test_every_marker_is_an_exercise_of_curriculum_toml_and_back():
    regions = all_regions(ROOT, COURSE)
    assert len(regions) > 100
    assert check_exercises(regions, COURSE) == []
    # the minimum: these modules have exercises
    for number in (2, 3, 4, 5, 6, 7, 8, 9, 10, 15):
        assert COURSE.module(number).exercises, f"Module {number:02d} has no exercise"


def test_milestones_of_the_registry_are_in_the_curriculum():
    from tinytorch.milestones import REGISTRY

    for name, info in REGISTRY.items():
        module = COURSE.milestone_module(name)
        assert module is not None and module.number == info.module, name


def test_readme_module_table_is_the_curriculum():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if re.match(r"^\| \d\d \|", line)]
    expected = [f"| {m.number:02d} | {m.title} | {m.chapter} | {m.package_cell} | {m.milestone} |"
                .replace("|  |", "| |") for m in COURSE.table()]
    assert [r.rstrip() for r in rows] == expected


def test_markers_must_be_tagged_balanced_and_inside_a_function(tmp_path):
    bad = {
        "untagged.py": "def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n",
        "open.py": "def f():\n    # BEGIN SOLUTION 02\n    return 1\n",
        "outside.py": "# BEGIN SOLUTION 02\nX = 1\n# END SOLUTION\n",
        "nested.py": "def f():\n    # BEGIN SOLUTION 02\n    # BEGIN SOLUTION 02\n",
    }
    for name, text in bad.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(MarkerError):
            find_regions(path, name)
    good = tmp_path / "good.py"
    good.write_text("class A:\n    def f(self):\n        # BEGIN SOLUTION 06\n        return 1\n"
                    "        # END SOLUTION\n")
    (region,) = find_regions(good, "good.py")
    assert (region.module, region.function, region.begin, region.end) == (6, "A.f", 2, 4)


@pytest.fixture(scope="module")
def release01(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "student"
    release = make_release(ROOT, out, 1, COURSE)
    return out, release


def test_release_removes_every_later_solution_and_leaks_none(release01):
    out, release = release01
    source = all_regions(ROOT, COURSE)
    assert len(release.removed) == len([r for r in source if r.module > 1]) > 100
    # an independent search: every removed body's code, in every file of the release
    texts = {p: p.read_text(encoding="utf-8") for p in out.rglob("*")
             if p.is_file() and p.suffix in (".py", ".cpp", ".h", ".md", ".toml", ".txt")}
    normalized = {p: "\n".join(line.strip() for line in t.splitlines()) for p, t in texts.items()}
    for region in source:
        lines = (ROOT / region.path).read_text(encoding="utf-8").splitlines()
        for key in leak_keys(region.body(lines)):
            needle = "\n".join(key)
            hits = [p for p, t in normalized.items() if needle in t]
            assert not hits, f"{region.function} ({region.path}) leaked into {hits}"
    # what is left in each region is exactly one placeholder naming module and function
    for region in all_regions(out, COURSE):
        lines = (out / region.path).read_text(encoding="utf-8").splitlines()
        (body,) = region.body(lines)
        m = COURSE.module(region.module)
        assert f"Module {m.number:02d} ({m.title}): implement {region.function} - see " \
               f"modules/{m.guide}/README.md" in body
        assert ("NotImplementedError" if region.language == "py" else "NotImplemented(") in body


def test_release_is_a_student_repository(release01):
    out, _ = release01
    for path in ("pyproject.toml", "CMakeLists.txt", "csrc/matmul_steps.cpp", "README.md",
                 "src/tinytorch/course/curriculum.toml", "tests/conftest.py",
                 "modules/06_autograd/README.md", "milestones/1969_xor.py", MARKER):
        assert (out / path).is_file(), path
    for path in COURSE.release["exclude"]:
        assert not (out / path).exists(), f"instructor-only {path} was released"
    readme = (out / "README.md").read_text()
    assert 'pip install -e ".[test]"' in readme and "tinytorch grade" in readme
    assert json.loads((out / MARKER).read_text())["through"] == 1


def test_release_refuses_non_empty_directories_and_student_checkouts(tmp_path, release01):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ReleaseError, match="not empty"):
        make_release(ROOT, busy, 1, COURSE)
    make_release(ROOT, busy, 14, COURSE, force=True)  # --force writes, keeps other files
    assert (busy / "notes.txt").read_text() == "mine"
    student, _ = release01
    with pytest.raises(ReleaseError, match="student checkout"):
        make_release(ROOT, student, 1, COURSE, force=True)
    with pytest.raises(ReleaseError, match="not a module"):
        make_release(ROOT, tmp_path / "new", 42, COURSE)


def test_release_command_line(tmp_path):
    env = dict(os.environ)
    command = [sys.executable, "-m", "tinytorch", "release", "--out", str(tmp_path / "r"),
               "--through", "06"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "through Module 06" in result.stdout
    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 1 and "student checkout" in again.stderr


def _fake_run(tests):
    def run(checkout, files, slow):
        return {"tests": tests, "collection_errors": [], "deselected": [],
                "tinytorch": grading.check_install(checkout)}
    return run


def _grade(monkeypatch, tests, number=1, text=None):
    course = parse(text) if text else COURSE
    monkeypatch.setattr(grading, "_run_pytest", _fake_run(tests))
    monkeypatch.setattr(progress, "record", lambda *args: None)
    return grading.grade(number, course, start=ROOT)


def test_grade_complete_only_when_every_test_ran_and_passed(monkeypatch):
    ok = {"outcome": "passed", "message": "", "where": ""}
    skip = {"outcome": "skipped", "message": "torch is not installed", "where": ""}
    test = "tests/test_01_setup.py::test_x"
    assert _grade(monkeypatch, {test: ok}).complete
    skipped = _grade(monkeypatch, {test: ok, test + "2": skip})
    assert not skipped.complete and skipped.target.state == "skipped tests"
    nothing = _grade(monkeypatch, {})
    assert not nothing.complete and nothing.target.state == "no tests ran"
    failed = _grade(monkeypatch, {test: {"outcome": "failed", "where": "",
                                         "message": "NotImplementedError: Module 01"}})
    assert not failed.complete and "NotImplementedError" in failed.target.first_failure["message"]
    # Module 02 is not complete when its prerequisite 01 fails, even if its own tests pass
    both = _grade(monkeypatch, {test: skip, "tests/test_02_tensor.py::test_y": ok}, number=2)
    assert [m.complete for m in both.modules] == [False, False]
    assert both.modules[1].state == "waiting for 01"


def test_a_not_applicable_skip_neither_passes_nor_blocks(monkeypatch):
    ok = {"outcome": "passed", "message": "", "where": ""}
    na = {"outcome": "skipped", "where": "",
          "message": f"{grading.NOT_APPLICABLE} path avx512_vnni cannot run on this CPU"}
    test = "tests/test_01_setup.py::test_x"
    graded = _grade(monkeypatch, {test: ok, test + "2": na})
    assert graded.complete and graded.target.state == "complete"
    assert (graded.target.passed, graded.target.skipped, graded.target.not_applicable) == (1, 0, 1)
    # only skips: nothing ran, so the module is not complete
    alone = _grade(monkeypatch, {test: na})
    assert not alone.complete and alone.target.state == "no tests ran"
    # the prefix must start the reason: a required skip that merely mentions it still counts
    other = {"outcome": "skipped", "where": "",
             "message": f"torch missing ({grading.NOT_APPLICABLE})"}
    assert not _grade(monkeypatch, {test: ok, test + "2": other}).complete


def test_grade_refuses_a_copy_of_tinytorch_and_running_inside_itself(tmp_path, monkeypatch,
                                                                    release01):
    student, _ = release01
    with pytest.raises(grading.GradeError, match="install editable|not from this checkout"):
        grading.grade(1, COURSE, start=student)  # this process imports the instructor's copy
    with pytest.raises(grading.GradeError, match="not inside a TinyTorch checkout"):
        grading.grade(1, COURSE, start=tmp_path)
    monkeypatch.setenv(grading.GUARD, "1")
    with pytest.raises(grading.GradeError, match="never starts itself again"):
        grading.grade(1, COURSE, start=ROOT)


@pytest.mark.skipif(bool(os.environ.get(grading.GUARD)), reason="inside a grade run")
def test_grade_01_runs_the_real_tests_and_writes_progress(tmp_path):
    env = dict(os.environ)
    result = subprocess.run([sys.executable, "-m", "tinytorch", "grade", "01", "--json"],
                            cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["complete"], result.stdout[-3000:]
    (setup,) = report["modules"]
    assert setup["passed"] == setup["total"] > 0 and setup["failed"] == setup["skipped"] == 0
    status = subprocess.run([sys.executable, "-m", "tinytorch", "status"], cwd=ROOT,
                            capture_output=True, text=True, env=env, timeout=120)
    assert status.returncode == 0 and "01 Setup" in status.stdout
    assert "instructor repository" in status.stdout


def test_milestones_unlock_only_when_their_modules_grade_complete(monkeypatch, release01):
    student, _ = release01
    assert progress.milestone_refusal("xor", COURSE) is None  # the instructor repo: no gate
    monkeypatch.setattr(progress, "repository_root", lambda: student)
    refusal = progress.milestone_refusal("xor", COURSE)
    assert refusal is not None and "tinytorch grade 06" in refusal and "--force" in refusal
    entry = {"state": "complete", "passed": 1, "failed": 0, "skipped": 0, "total": 1}
    modules = [dict(entry, number=n, complete=True) for n in range(1, 7)]
    progress.record(student, modules, "now")
    assert progress.milestone_refusal("xor", COURSE) is None
    assert progress.milestone_refusal("tinygpt", COURSE) is not None
    (student / "src" / "tinytorch" / "ops" / "arithmetic.py").open("a").write("\n# edited\n")
    assert "grade again" in progress.module_state(student, 6)[1]  # stale: the code changed
    assert progress.milestone_refusal("xor", COURSE) is not None
