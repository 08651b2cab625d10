"""``tinytorch release``, ``tinytorch grade NN`` and ``tinytorch status``: the course itself."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tinytorch.course import curriculum as _curriculum


def module_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a module number like 06, got {text!r}") \
            from None


def _release(args: argparse.Namespace) -> int:
    from tinytorch.course.release import ReleaseError, make_release, repository_root

    source = Path(args.source) if args.source else repository_root()
    if source is None:
        print("error: this tinytorch is not a repository checkout; pass --source REPO "
              "(the instructor repository with csrc/, tests/ and modules/)", file=sys.stderr)
        return 2
    course = _curriculum.load()
    try:
        release = make_release(source, Path(args.out), args.through, course, force=args.force)
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    modules = sorted({r.module for r in release.removed})
    removed = (f"removed {len(release.removed)} solution regions of Modules "
               f"{', '.join(f'{m:02d}' for m in modules)}" if modules else "removed nothing")
    print(f"wrote a student release through Module {args.through:02d} to {release.out} "
          f"({release.files} files; {removed}).")
    print(f'next: cd {release.out} && pip install -e ".[test]" && tinytorch status')
    return 0


def _grade(args: argparse.Namespace) -> int:
    from tinytorch.course.grade import GradeError, format_report, grade

    course = _curriculum.load()
    try:
        course.module(args.module)
        result = grade(args.module, course, slow=args.slow)
    except (GradeError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) else str(error)
        if args.json:
            print(json.dumps({"module": args.module, "complete": False, "error": message}))
        print(f"error: {message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(format_report(result, course))
    return 0 if result.complete else 1


def _status(args: argparse.Namespace) -> int:
    from tinytorch.course import progress
    from tinytorch.course.release import repository_root

    course = _curriculum.load()
    checkout = repository_root()
    if checkout is None:
        print("error: this tinytorch is not a repository checkout (install with pip install -e .)",
              file=sys.stderr)
        return 2
    student = progress.is_student_checkout(checkout)
    data, stamp = progress.read(checkout), progress.fingerprint(checkout)
    kind = "student checkout" if student else "instructor repository"
    print(f"TinyTorch course status ({kind}: {checkout})")
    for m in course.modules:
        _, state = progress.module_state(checkout, m.number, data, stamp)
        print(f"  {m.number:02d} {m.title:<13} {state}")
    print("Milestones:")
    for m in course.modules:
        for name in m.milestones:
            refusal = progress.milestone_refusal(name, course) if student else None
            unlocked = "unlocked" if refusal is None else f"locked until Module {m.number:02d} "\
                "and its prerequisites grade complete"
            print(f"  {name:<12} (Module {m.number:02d}) {unlocked}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    release = subparsers.add_parser(
        "release", help="write a student repository with the solutions removed",
        description="Write a student repository in which every solution region of a module "
                    "after --through is replaced by a NotImplementedError placeholder.")
    release.add_argument("--out", required=True, metavar="DIR", help="an empty directory")
    release.add_argument("--through", type=module_number, default=1, metavar="NN",
                         help="keep the solutions of Modules 01..NN (default: 01)")
    release.add_argument("--force", action="store_true",
                         help="write into a non-empty directory (never into a student checkout)")
    release.add_argument("--source", metavar="REPO",
                         help="the instructor repository (default: the one tinytorch runs from)")
    release.set_defaults(func=_release)

    grade = subparsers.add_parser(
        "grade", help="run the tests of Modules 01..NN against your code",
        description="Run the tests of Modules 01..NN against this checkout's code; exit 0 only "
                    "when Module NN (and its prerequisites) is complete.")
    grade.add_argument("module", type=module_number, metavar="NN")
    grade.add_argument("--json", action="store_true", help="print the result as JSON")
    grade.add_argument("--slow", action="store_true",
                       help="also run the slow end-to-end tests (milestones on real data)")
    grade.set_defaults(func=_grade)

    status = subparsers.add_parser("status", help="every module's state and the milestones")
    status.set_defaults(func=_status)
