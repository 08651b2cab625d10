"""``tinytorch capstone`` (Module 20): optimize a trained model one measured step at a time.

    tinytorch capstone --model cnn --quick --out cap-cnn      # < 5 min on 2 cores
    tinytorch capstone --model tinygpt --out cap-gpt          # full run (< 30 min)
    tinytorch capstone --model tinygpt --checkpoint gpt.npz   # load (or train and save) it
    tinytorch capstone --plugin mysteps:my_step               # your own rung (@register_step)
    tinytorch capstone validate cap-cnn/submission.json       # exit 0 valid, 1 invalid

Writes DIR/report.md (the ladder table, op breakdowns, targets, how to reproduce),
DIR/pareto.png, speedup.png, ops.png and DIR/submission.json (checked against its JSON
Schema before it is written). Exits 1 when a target of the course is missed: TinyGPT's
final rung >= 10x the decode tokens/s of the numpy-backend, uncached, fp32 baseline with
validation loss within 0.05; the CNN's >= 3x faster per batch and >= 3x smaller with at
most 1 point of accuracy lost.
"""

from __future__ import annotations

import argparse
import shlex
import sys


def _validate(path: str | None) -> int:
    from tinytorch.capstone.submission import SubmissionError, load

    if not path:
        print("tinytorch capstone validate: give the submission file (DIR/submission.json)",
              file=sys.stderr)
        return 2
    try:
        doc = load(path)
    except SubmissionError as exc:
        print(f"{path}: INVALID - {exc}", file=sys.stderr)
        return 1
    final = doc["final"]
    print(f"{path}: valid ({doc['model']}, {len(doc['rungs'])} rungs; final {final['step']}: "
          f"{final['speedup']:.2f}x faster, {final['compression']:.2f}x smaller; targets "
          f"{'met' if doc['passed'] else 'missed'})")
    return 0


def _commands(args: argparse.Namespace) -> list[str]:
    run = ["tinytorch", "capstone", "--model", args.model, "--out", args.out]
    if args.quick:
        run.append("--quick")
    if args.checkpoint:
        run += ["--checkpoint", args.checkpoint]
    for plugin in args.plugin:
        run += ["--plugin", plugin]
    if args.steps:
        run += ["--steps", args.steps]
    if args.seed:
        run += ["--seed", str(args.seed)]
    if args.threads is not None:
        run += ["--threads", str(args.threads)]
    return ['pip install -e ".[data]"', shlex.join(run),
            f"tinytorch capstone validate {shlex.quote(args.out + '/submission.json')}"]


def _workload(args: argparse.Namespace):
    from dataclasses import replace

    if args.model == "cnn":
        from tinytorch.capstone import cnn

        config = replace(cnn.QUICK if args.quick else cnn.FULL, seed=args.seed)
        data = cnn.load_data(config, args.data_dir, args.download)
        model = None
        if args.checkpoint:
            import os

            from tinytorch import serialization
            from tinytorch.models import lenet

            if os.path.exists(args.checkpoint):
                state = serialization.load(args.checkpoint)
                if not isinstance(state, dict) or state.get("kind") != "tinytorch-capstone-cnn":
                    raise ValueError(f"{args.checkpoint} is not a capstone CNN checkpoint (one "
                                     "that `tinytorch capstone --model cnn --checkpoint` wrote)")
                model = lenet(data.x_train.shape[1], data.x_train.shape[-1], 10)
                model.load_state_dict(state["model"])
                print(f"loaded {args.checkpoint}")
        work = cnn.CNNWorkload(data, config, model)
        if args.checkpoint and model is None:
            from tinytorch import serialization

            serialization.save({"kind": "tinytorch-capstone-cnn", "model":
                                work.teacher.state_dict()}, args.checkpoint)
            print(f"saved {args.checkpoint}")
        return work
    from tinytorch.capstone import gpt
    from tinytorch.text import load_shakespeare

    settings = replace(gpt.QUICK if args.quick else gpt.FULL, seed=args.seed)
    train_text = load_shakespeare("train", root=args.data_dir, download=args.download)
    val_text = load_shakespeare("val", root=args.data_dir, download=args.download)
    run = gpt.prepare_run(settings, train_text, val_text, args.checkpoint)
    return gpt.GPTWorkload(run, queries=5, seed=args.seed,
                           finetune_steps=100 if args.quick else 300)


def run(args: argparse.Namespace) -> int:
    if args.action == "validate":
        return _validate(args.file)
    if args.file is not None:
        print(f"tinytorch capstone: unexpected argument {args.file!r} (did you mean "
              "`tinytorch capstone validate FILE`?)", file=sys.stderr)
        return 2
    from tinytorch.backends import BackendUnavailableError
    from tinytorch.capstone import load_plugin, run_ladder, steps_for
    from tinytorch.capstone.report import ladder_table, write_report
    from tinytorch.capstone.submission import build
    from tinytorch.data import DatasetError
    from tinytorch.utils.benchmark import Stopwatch
    from tinytorch.utils.machine import describe

    clock = Stopwatch()
    args.out = args.out or f"capstone-{args.model}"
    if args.threads is not None:
        from tinytorch.utils.benchmark import set_threads

        try:
            for note in set_threads(args.threads):
                print(f"note: {note}")
        except ValueError as exc:
            print(f"tinytorch capstone: {exc}", file=sys.stderr)
            return 2
    only = [s.strip() for s in args.steps.split(",") if s.strip()] if args.steps else None
    try:
        for spec in args.plugin:
            step = load_plugin(spec)
            if step is not None:
                print(f"plugin step {step.name!r}: {step.change}")
        names = [s.name for s in steps_for(args.model, only)]
    except ValueError as exc:
        print(f"tinytorch capstone: {exc}", file=sys.stderr)
        return 2
    print(f"capstone {args.model}{' (quick)' if args.quick else ''}: baseline -> "
          f"{' -> '.join(names)}")
    print(f"machine: {describe()['cpu']}", flush=True)
    try:
        work = _workload(args)
    except (DatasetError, ValueError, KeyError) as exc:
        print(f"tinytorch capstone: cannot prepare the {args.model} model: {exc}",
              file=sys.stderr)
        return 1
    try:
        ladder = run_ladder(work, only, log=lambda s: print(s, flush=True))
    except (BackendUnavailableError, ValueError) as exc:  # a step that cannot apply here
        print(f"tinytorch capstone: {exc}", file=sys.stderr)
        return 1
    doc = build(ladder, work, args.quick, _commands(args), clock.seconds)
    path = write_report(doc, args.out)
    print("\n" + ladder_table(doc) + "\n")
    for t in doc["targets"]:
        print(f"[{'met' if t['passed'] else 'MISSED'}] {t['name']}: {t['value']:.4g} "
              f"(target {t['target']})")
    print(f"\nreport: {path} ({clock.seconds / 60:.1f} min); check it with "
          f"`tinytorch capstone validate {args.out}/submission.json`")
    if not doc["passed"]:
        print("tinytorch capstone: a target was missed (see above)", file=sys.stderr)
    return 0 if doc["passed"] else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "capstone", help="Module 20: the optimization ladder, measured, with a checkable report",
        description=(__doc__ or "").strip().split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("action", nargs="?", choices=("run", "validate"), default="run",
                        help="run the ladder (default) or validate a submission.json")
    parser.add_argument("file", nargs="?", default=None, help="the file to validate")
    parser.add_argument("--model", choices=("cnn", "tinygpt"), default="tinygpt")
    parser.add_argument("--quick", action="store_true",
                        help="a small model and a data subset: under 5 minutes on 2 cores")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="where the report goes (default capstone-MODEL)")
    parser.add_argument("--checkpoint", default=None, metavar="PATH",
                        help="load the trained model from PATH if it exists, else train and "
                             "save it there (TinyGPT: a `tinytorch milestone tinygpt "
                             "--checkpoint` file)")
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE[:FUNCTION]",
                        help="import a module that registers a step with @register_step "
                             "(repeatable)")
    parser.add_argument("--steps", default=None, metavar="A,B,...",
                        help="run only these registered steps (default: all that apply)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of the native kernels and NumPy's BLAS (default: the "
                             "native default; 1 on a loaded machine, where a busy core "
                             "stalls every OpenMP barrier)")
    parser.add_argument("--data-dir", default=None, help="dataset folder (else the defaults)")
    parser.add_argument("--download", action="store_true", help="download missing data")
    parser.set_defaults(func=run)
