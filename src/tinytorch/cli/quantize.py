"""``tinytorch quantize --checkpoint PATH``: make a trained model int8, measure what it costs.

    tinytorch milestone mlp --dataset fashion-mnist --checkpoint mlp.npz
    tinytorch quantize --checkpoint mlp.npz                  # dynamic: Linear (+ Embedding) int8
    tinytorch milestone cnn --checkpoint cnn.npz
    tinytorch quantize --checkpoint cnn.npz --static         # Linear + Conv2d, calibrated
    tinytorch milestone tinygpt --checkpoint gpt.npz
    tinytorch quantize --checkpoint gpt.npz                  # validation loss, nats/char

Loads the model the checkpoint names (``tinytorch.models.load_model``), evaluates it in
float32 on the held-out split, quantizes it (Module 17: ``quantize_dynamic``, or with
``--static`` ``prepare`` -> N calibration batches of training data -> ``convert``),
evaluates again and prints accuracy (or validation loss), size and latency per batch,
both measured in this process with the shared timer. Writes the int8 model (``--out``,
default ``PATH.int8.npz``), loads it back and checks it gives the same outputs.

Exit codes: 0 within the accuracy budget (the issue's: an image classifier loses at most
0.5 points of test accuracy, a language model's validation loss rises at most 0.03
nats), 1 budget missed (or the reloaded model differs), 2 bad input (options, file,
architecture, data).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Any

from tinytorch.backends import BACKEND_NAMES
from tinytorch.milestones import count, positive_int

#: the issue's accuracy budgets: points of test accuracy lost, nats of validation loss
MAX_ACCURACY_DROP = 0.5
MAX_LOSS_RISE = 0.03


class QuantizeError(ValueError):
    """Bad input: an option, a file, an architecture or a dataset (exit code 2)."""


@dataclass
class Task:
    """What the model is measured on: its held-out batches, calibration batches, one
    batch for timing, and how a score is computed and compared."""

    name: str                 # "test accuracy" or "val loss"
    unit: str                 # "%" or "nats"
    higher_is_better: bool
    evaluate: Any             # model -> score
    calibration: Any          # n -> list of inputs
    timing_input: Any         # one batch of inputs
    description: str


def _image_task(model: Any, state: dict, args: argparse.Namespace) -> Task:
    import numpy as np

    import tinytorch as tt
    from tinytorch.data import DatasetError
    from tinytorch.milestones.common import DATASETS, load_image_data

    dataset = args.dataset or state.get("meta", {}).get("dataset")
    if dataset is None:
        raise QuantizeError(f"{args.checkpoint} does not say which dataset it was trained on: "
                            f"pass --dataset ({', '.join(DATASETS)})")
    if dataset not in DATASETS:
        raise QuantizeError(f"{args.checkpoint} was trained on {dataset!r}, which tinytorch "
                            f"quantize cannot load (known: {', '.join(DATASETS)})")
    tt.manual_seed(args.seed)
    options = argparse.Namespace(dataset=dataset, data_dir=args.data_dir,
                                 download=args.download, limit=None)
    try:
        data = load_image_data(options, args.batch_size)
    except DatasetError as exc:
        raise QuantizeError(f"cannot load {dataset}: {exc}") from None

    def evaluate(m: Any) -> float:
        correct = total = 0
        with tt.no_grad():
            for x, y in data.test:
                correct += int((m(x).data.argmax(axis=-1) == y.data).sum())
                total += len(y.data)
        return 100.0 * correct / total

    def calibration(n: int) -> list[Any]:
        batches = []
        for x, _ in data.train:
            batches.append(x)
            if len(batches) == n:
                break
        return batches

    x, _ = next(iter(data.test))
    timing = tt.Tensor(np.ascontiguousarray(x.data[:args.batch_size]))
    return Task("test accuracy", "%", True, evaluate, calibration, timing,
                f"{dataset}: {len(data.test.dataset):,} test images, batch of "
                f"{len(timing.data)} for latency")


def _language_task(model: Any, state: dict, args: argparse.Namespace) -> Task:
    import numpy as np

    import tinytorch as tt
    from tinytorch.data import DatasetError
    from tinytorch.milestones.tinygpt_run import _val_batches
    from tinytorch.text import CharTokenizer, TokenDataset, load_shakespeare

    meta = state.get("meta", {})
    vocabulary = state.get("vocabulary", meta.get("vocabulary"))
    settings = state.get("settings", meta.get("settings"))
    if vocabulary is None or settings is None:
        raise QuantizeError(f"{args.checkpoint}: a GPT checkpoint needs its 'vocabulary' and "
                            "'settings' (write it with `tinytorch milestone tinygpt "
                            "--checkpoint PATH`)")
    if args.dataset is not None:
        raise QuantizeError("--dataset is for image classifiers; a TinyGPT is evaluated on "
                            "the Shakespeare validation text")
    try:
        train_text = load_shakespeare("train", root=args.data_dir, download=args.download)
        val_text = load_shakespeare("val", root=args.data_dir, download=args.download)
    except DatasetError as exc:
        raise QuantizeError(f"cannot load the Shakespeare corpus: {exc}") from None
    tokenizer = CharTokenizer(chars=vocabulary)
    block = model.config.block_size
    try:
        train = TokenDataset(np.asarray(tokenizer.encode(train_text), np.int64), block)
        val = TokenDataset(np.asarray(tokenizer.encode(val_text), np.int64), block)
    except ValueError as exc:
        raise QuantizeError(f"the corpus does not fit the checkpoint's vocabulary: {exc}"
                            ) from None
    # the milestone's own validation windows: the same characters it reported on
    batches = [val.get_batch(s) for s in
               _val_batches(val, settings["eval_batches"], settings["batch_size"])]

    def evaluate(m: Any) -> float:
        with tt.no_grad():
            return float(np.mean([m(tt.Tensor(x), tt.Tensor(y))[1].item() for x, y in batches]))

    def calibration(n: int) -> list[Any]:
        rng = np.random.default_rng(args.seed)
        return [tt.Tensor(train.random_batch(settings["batch_size"], rng)[0]) for _ in range(n)]

    return Task("val loss", "nats", False, evaluate, calibration, tt.Tensor(batches[0][0]),
                f"Shakespeare: {len(batches)} validation batches of {batches[0][0].shape[0]} x "
                f"{block} characters (the milestone's), one for latency")


def _quantize(model: Any, task: Task, args: argparse.Namespace) -> Any:
    import tinytorch as tt
    from tinytorch import nn, quant

    if not args.static:
        return quant.quantize_dynamic(model, {nn.Linear, nn.Embedding})
    # as PyTorch's static flow: fuse each layer with its ReLU (one int8 layer, the ReLU in
    # its epilogue), observe, convert
    prepared = quant.prepare(quant.fuse_modules(model, quant.fusable_modules(model)))
    with tt.no_grad():
        for x in task.calibration(args.calibration_batches):
            prepared(x)
    return quant.convert(prepared)


def _outputs(model: Any, x: Any) -> Any:
    import tinytorch as tt

    with tt.no_grad():
        out = model(x)
    return (out[0] if isinstance(out, tuple) else out).data


def _check_options(args: argparse.Namespace) -> None:
    if args.calibration_batches is not None and not args.static:
        raise QuantizeError("--calibration-batches is for --static (dynamic quantization "
                            "measures every batch as it comes)")
    if os.path.isdir(args.checkpoint):
        raise QuantizeError(f"--checkpoint {args.checkpoint}: is a folder, not a file")
    if not os.path.exists(args.checkpoint):
        raise QuantizeError(f"no checkpoint at {args.checkpoint} (write one with `tinytorch "
                            "milestone mlp|cnn|tinygpt --checkpoint PATH`)")
    out = args.out or default_out(args.checkpoint)
    if os.path.abspath(out) == os.path.abspath(args.checkpoint):
        raise QuantizeError(f"--out {out} would overwrite the float32 checkpoint")
    if os.path.isdir(out):
        raise QuantizeError(f"--out {out}: is a folder, not a file name")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise QuantizeError(f"--out {out}: the folder {folder} does not exist")


def default_out(checkpoint: str) -> str:
    """``cnn.npz`` -> ``cnn.int8.npz``."""
    stem, ext = os.path.splitext(checkpoint)
    return f"{stem}.int8{ext or '.npz'}"


def _format(score: float, task: Task) -> str:
    return f"{score:.2f}%" if task.unit == "%" else f"{score:.4f}"


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except QuantizeError as exc:
        print(f"tinytorch quantize: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    import tinytorch as tt
    from tinytorch import quant, serialization
    from tinytorch.models import GPT, ArchitectureError, load_model, save_model
    from tinytorch.utils.benchmark import benchmark, format_seconds

    _check_options(args)
    tt.set_backend(args.backend)
    if args.static and args.calibration_batches is None:
        args.calibration_batches = 32
    try:
        model, state = load_model(args.checkpoint)
    except (ArchitectureError, serialization.CheckpointError, FileNotFoundError) as exc:
        raise QuantizeError(str(exc)) from None
    if state.get("quantized"):
        raise QuantizeError(f"{args.checkpoint} is already quantized (int8 layers: "
                            f"{', '.join(state['quantized'])}); pass the float32 checkpoint")
    arch = state["architecture"]["name"] if "architecture" in state else "gpt"
    task = (_language_task if isinstance(model, GPT) else _image_task)(model, state, args)
    mode = (f"static (Linear + Conv2d, {args.calibration_batches} calibration batches of "
            "training data)" if args.static else "dynamic (Linear weights int8 per output "
                                                 "channel, activations per batch; Embedding "
                                                 "rows int8)")
    print(f"model: {arch} from {args.checkpoint}; backend {tt.get_backend()}")
    print(f"data: {task.description}")
    print(f"quantization: {mode}", flush=True)

    fp32_score = task.evaluate(model)
    qmodel = _quantize(model, task, args)
    int8_score = task.evaluate(qmodel)
    sizes = quant.model_size_bytes(model), quant.model_size_bytes(qmodel)
    x = task.timing_input
    # fp32, int8, fp32, int8: each keeps its better median, so a burst of load from
    # another process during one measurement does not decide the comparison alone
    runs = [benchmark(_outputs, m, x, min_time=0.5) for _ in range(2) for m in (model, qmodel)]
    times = [min(r.median for r in runs[i::2]) for i in range(2)]
    noisy = any(r.noisy for r in runs)

    change = int8_score - fp32_score
    if task.higher_is_better:
        lost, budget = -change, MAX_ACCURACY_DROP
        verdict_text = (f"{task.name} {'fell' if change < 0 else 'rose'} by {abs(change):.2f} "
                        f"points (budget: at most {budget} points lost)")
        change_text = f"{change:+.2f} points"
    else:
        lost, budget = change, MAX_LOSS_RISE
        verdict_text = (f"{task.name} {'rose' if change > 0 else 'fell'} by {abs(change):.4f} "
                        f"nats (budget: a rise of at most {budget} nats)")
        change_text = f"{change:+.4f} nats"
    within = lost <= budget
    rows = [
        (task.name, _format(fp32_score, task), _format(int8_score, task), change_text),
        ("model size (bytes)", f"{sizes[0]:,}", f"{sizes[1]:,}",
         f"{sizes[0] / sizes[1]:.2f}x smaller"),
        (f"latency per batch of {len(x.data)}", format_seconds(times[0]),
         format_seconds(times[1]), f"{times[0] / times[1]:.2f}x "
         + ("faster" if times[1] <= times[0] else "(slower)")),
    ]
    widths = [max(len(r[i]) for r in rows + [("", "fp32", "int8", "change")]) for i in range(4)]
    print()
    for row in [("", "fp32", "int8", "change")] + rows:
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  "
              f"{row[3]}")
    print("(latency: the better of two medians of repeated rounds each, fp32 and int8 "
          "alternating, tinytorch.utils.benchmark, this process"
          + ("; NOISY: the machine was busy, measure again before quoting" if noisy else "")
          + ")")

    out = args.out or default_out(args.checkpoint)
    meta = dict(state.get("meta", {}))
    for key in ("vocabulary", "settings"):  # a GPT checkpoint's tokenizer and run shape
        if key in state:
            meta[key] = state[key]
    meta.update({"quantized_from": os.path.abspath(args.checkpoint),
                 "quantization": "static" if args.static else "dynamic",
                 "fp32_" + task.name.replace(" ", "_"): fp32_score,
                 "int8_" + task.name.replace(" ", "_"): int8_score})
    save_model(qmodel, out, meta)
    reloaded, _ = load_model(out)
    same = np.array_equal(_outputs(reloaded, x), _outputs(qmodel, x))
    print(f"\nwrote {out} ({os.path.getsize(out):,} bytes on disk); reloaded: "
          + ("the same outputs" if same else "OUTPUTS DIFFER"))
    print(("PASSED: " if within else "MISSED: ") + verdict_text)
    return 0 if within and same else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "quantize", help="int8-quantize a trained checkpoint: accuracy, size, latency "
                         "(Module 17)",
        description=(__doc__ or "").strip().split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--checkpoint", required=True, metavar="PATH",
                        help="a model checkpoint from `tinytorch milestone mlp|cnn|tinygpt "
                             "--checkpoint PATH`")
    parser.add_argument("--static", action="store_true",
                        help="static post-training quantization of Linear and Conv2d, "
                             "calibrated on training batches (default: dynamic, Linear and "
                             "Embedding weights)")
    parser.add_argument("--calibration-batches", type=positive_int, default=None, metavar="N",
                        help="training batches to calibrate on (with --static; default 32)")
    parser.add_argument("--out", metavar="PATH", default=None,
                        help="where to write the int8 model (default: PATH.int8.npz)")
    parser.add_argument("--dataset", default=None,
                        help="image dataset to evaluate on (default: the checkpoint's)")
    parser.add_argument("--data-dir", default=None, help="folder with the dataset files")
    parser.add_argument("--download", action="store_true",
                        help="download the dataset if missing")
    parser.add_argument("--batch-size", type=count(1 << 16), default=256,
                        help="images per calibration and latency batch (default 256)")
    parser.add_argument("--backend", choices=BACKEND_NAMES, default="native",
                        help="compute backend (default native: the int8 GEMM kernels)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run)
