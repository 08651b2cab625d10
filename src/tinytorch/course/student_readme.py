"""The README.md of a student release, generated from the curriculum."""

from __future__ import annotations

from tinytorch.course.curriculum import Curriculum


def student_readme(curriculum: Curriculum, through: int) -> str:
    rows = []
    for m in curriculum.modules:
        state = "given" if m.number <= through else f"{len(m.exercises)} to write"
        milestone = ", ".join(m.milestones)
        rows.append(f"| {m.number:02d} | {m.title} | {m.chapter} | "
                    f"`modules/{m.guide}/README.md` | {state} | {milestone} |")
    first = next((m for m in curriculum.modules if m.number > through), None)
    start = (f"Your first module is **{first.label}**: read `modules/{first.guide}/README.md`, "
             f"then `grep -rn \"Module {first.number:02d} (\" src csrc` lists every function "
             "you write for it." if first else "Every module of this release is already solved.")
    given = "Module 01 is" if through == 1 else f"Modules 01-{through:02d} are"
    return f"""# TinyTorch (student repository)

You build a deep-learning framework - tensors, autograd, layers, optimizers, CNNs, a GPT -
module by module, then make it fast. {given} given; for every later
module the body of each function you write raises

    NotImplementedError("Module 06 (Autograd): implement Mul.backward - see modules/06_autograd/README.md")

between a `# BEGIN SOLUTION 06` and an `# END SOLUTION` line (C++ in `csrc/`: `// BEGIN
SOLUTION 15`). Replace that line by your code; keep the two marker lines.

## Set up (once)

You need Python >= 3.10, a C++17 compiler and CMake >= 3.18 (pip fetches CMake if missing).
Install **editable** - the grader tests the code in this folder, and refuses to run when
Python imports a copy of tinytorch from somewhere else:

    pip install -e ".[test]"
    tinytorch doctor

`pip install torch` (CPU) as well if you can: many tests compare with PyTorch, and a test
that is skipped because PyTorch is missing does not count as passed. After editing a C++
file in `csrc/`, run `pip install -e ".[test]"` again to rebuild the extension (Python edits
are live).

## Work on a module

{start}

    tinytorch grade 06          # runs the tests of Modules 01-06 against your code
    tinytorch grade 06 --json   # the same, as JSON (what your instructor collects)
    tinytorch status            # every module's state and which milestones are unlocked

`tinytorch grade NN` prints, per module, how many tests passed, failed or were skipped, and
the first failure with its message. Module NN is **complete** only when every one of its
tests (and of the modules it builds on) ran and passed; only then does the command exit 0.
Slow end-to-end tests run with `tinytorch grade NN --slow`.

A milestone (`tinytorch milestone xor`, ...) runs once its module grades complete.

## Modules

| # | Module | Textbook | Guide | Exercises | Milestone |
|---|--------|----------|-------|-----------|-----------|
""" + "\n".join(rows) + "\n"
