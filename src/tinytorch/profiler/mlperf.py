"""Module 19: an MLPerf-style inference harness -- scenarios, a quality target, a result
file with a schema.

MLPerf Inference judges a system by a *scenario* and a *quality target* together:

* **single-stream**: one query (one sample) at a time, the next sent when the last
  answered, as a phone app would; the figure is the latency distribution -- MLPerf
  reports the 90th percentile, we also give p50 and p99;
* **offline**: every sample available at once, batched as the system likes; the
  figure is throughput (samples per second);
* **quality**: the outputs of that same offline run must reach the target (a fast
  answer that is wrong does not count).

``run_task`` runs both scenarios of one task under one backend; ``run`` does every
task under every backend and ``format_table`` puts them in one table. Results are
JSON (``save`` / ``load``), checked against :data:`SCHEMA` on load::

    python -m tinytorch.profiler.mlperf --tasks cnn tinygpt --out results.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinytorch.backends import available_backends, use_backend
from tinytorch.profiler.mlperf_tasks import TASKS, Task, make_task
from tinytorch.utils.benchmark import Stopwatch, benchmark

__all__ = ["SCHEMA", "SCHEMA_VERSION", "format_table", "load", "offline", "run",
           "run_task", "save", "single_stream", "validate"]

SCHEMA_VERSION = "tinytorch.mlperf/1"

#: field -> type (or a nested schema) of a result file; every field is required
RESULT_SCHEMA: dict[str, Any] = {
    "task": str, "backend": str, "description": str,
    "single_stream": {"queries": int, "mean_s": float, "p50_s": float, "p90_s": float,
                      "p99_s": float, "queries_per_s": float},
    "offline": {"samples": int, "batch_size": int, "seconds": float, "samples_per_s": float,
                "noisy": bool},
    "quality": {"metric": str, "value": float, "target": float, "higher_is_better": bool,
                "passed": bool},
}
SCHEMA: dict[str, Any] = {"schema": str, "machine": dict, "results": [RESULT_SCHEMA]}


def single_stream(task: Task, queries: int, warmup: int = 3) -> dict[str, Any]:
    """``queries`` one-sample queries, one after the other: the latency of each."""
    if queries < 1:
        raise ValueError(f"single_stream: queries must be >= 1, got {queries}")
    samples = task.samples
    order = itertools.cycle(range(len(samples)))  # the queries walk through the samples

    def query() -> Any:
        i = next(order)
        return task.predict(samples[i:i + 1])

    # BEGIN SOLUTION 19
    # one call per round (round_time tiny): each timed round is one query's latency, and
    # the percentiles of those rounds are the latency distribution MLPerf asks for
    m = benchmark(query, warmup=warmup, repeats=queries, round_time=1e-12)
    return {"queries": queries, "mean_s": m.mean, "p50_s": m.median,
            "p90_s": m.p90, "p99_s": m.p99, "queries_per_s": 1.0 / m.mean}
    # END SOLUTION


def offline(task: Task, batch_size: int) -> tuple[dict[str, Any], np.ndarray]:
    """Every sample, in batches of ``batch_size``: the throughput, and the outputs."""
    if batch_size < 1:
        raise ValueError(f"offline: batch_size must be >= 1, got {batch_size}")
    samples = task.samples

    def everything() -> np.ndarray:
        return np.concatenate([task.predict(samples[i:i + batch_size])
                               for i in range(0, len(samples), batch_size)])

    m = benchmark(everything, warmup=1, repeats=3)
    return ({"samples": len(samples), "batch_size": batch_size, "seconds": m.median,
             "samples_per_s": len(samples) / m.median, "noisy": m.noisy}, m.result)


def run_task(task: Task, backend: str, queries: int = 100,
             batch_size: int = 64) -> dict[str, Any]:
    """Both scenarios of ``task`` under ``backend``; quality from the offline outputs."""
    with use_backend(backend):
        stream = single_stream(task, queries)
        scenario, outputs = offline(task, batch_size)
    value = task.evaluate(outputs)
    return {"task": task.name, "backend": backend, "description": task.description,
            "single_stream": stream, "offline": scenario,
            "quality": {"metric": task.metric, "value": value, "target": task.target,
                        "higher_is_better": task.higher_is_better,
                        "passed": task.meets(value)}}


def run(tasks: Sequence[str | Task] = tuple(TASKS), backends: Sequence[str] | None = None,
        queries: int = 100, batch_size: int = 64) -> dict[str, Any]:
    """Every task under every backend (default: every available one but ``loop``, whose
    Python loops would take minutes per task)."""
    from tinytorch.utils.machine import describe

    names = list(backends) if backends is not None else \
        [b for b in available_backends() if b != "loop"]
    for b in names:
        if b not in available_backends():
            raise ValueError(f"backend {b!r} is not available here (available: "
                             f"{', '.join(available_backends())})")
    results = []
    for t in tasks:
        task = t if isinstance(t, Task) else make_task(t)
        results += [run_task(task, b, queries, batch_size) for b in names]
    return {"schema": SCHEMA_VERSION, "machine": describe(), "results": results}


def validate(document: Any, schema: Any = SCHEMA, where: str = "result") -> None:
    """Raise ``ValueError`` naming the first field that is missing or of the wrong type."""
    if isinstance(schema, dict):
        if not isinstance(document, dict):
            raise ValueError(f"{where}: expected an object, got {type(document).__name__}")
        for key, sub in schema.items():
            if key not in document:
                raise ValueError(f"{where}: missing field {key!r}")
            validate(document[key], sub, f"{where}.{key}")
    elif isinstance(schema, list):
        if not isinstance(document, list):
            raise ValueError(f"{where}: expected a list, got {type(document).__name__}")
        for i, item in enumerate(document):
            validate(item, schema[0], f"{where}[{i}]")
    elif schema is float:
        if isinstance(document, bool) or not isinstance(document, int | float) \
                or not math.isfinite(document):
            raise ValueError(f"{where}: expected a finite number, got {document!r}")
    elif schema is int:
        if isinstance(document, bool) or not isinstance(document, int):
            raise ValueError(f"{where}: expected an integer, got {document!r}")
    elif not isinstance(document, schema):
        raise ValueError(f"{where}: expected {schema.__name__}, got "
                         f"{type(document).__name__}")
    if where == "result" and document["schema"] != SCHEMA_VERSION:
        raise ValueError(f"result: schema {document['schema']!r} is not {SCHEMA_VERSION!r}")
    if isinstance(schema, dict) and "p90_s" in schema:
        if not 0 < document["p50_s"] <= document["p90_s"] <= document["p99_s"]:
            raise ValueError(f"{where}: latency percentiles must satisfy 0 < p50 <= p90 <= "
                             f"p99, got {document['p50_s']}, {document['p90_s']}, "
                             f"{document['p99_s']}")


def save(document: dict[str, Any], path: str | os.PathLike) -> None:
    validate(document)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2)


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a result file (ValueError naming the file and the bad field)."""
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except FileNotFoundError:
        raise ValueError(f"no result file at {os.fspath(path)}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{os.fspath(path)} is not JSON: {exc}") from None
    try:
        validate(document)
    except ValueError as exc:
        raise ValueError(f"{os.fspath(path)}: {exc}") from None
    return document


def format_table(document: dict[str, Any]) -> str:
    header = ["task", "backend", "p50 ms", "p90 ms", "p99 ms", "offline samples/s",
              "quality", "target", "passed"]
    rows = []
    for r in document["results"]:
        s, o, q = r["single_stream"], r["offline"], r["quality"]
        sign = ">=" if q["higher_is_better"] else "<="
        rows.append([r["task"], r["backend"], f"{s['p50_s'] * 1e3:.3f}",
                     f"{s['p90_s'] * 1e3:.3f}", f"{s['p99_s'] * 1e3:.3f}",
                     f"{o['samples_per_s']:.1f}" + ("~" if o["noisy"] else ""),
                     f"{q['metric']} {q['value']:.4f}", f"{sign} {q['target']}",
                     "yes" if q["passed"] else "NO"])
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in [header] + rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines) + "\n~ marks a noisy offline measurement (machine busy?)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinytorch.profiler.mlperf",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", choices=tuple(TASKS), default=list(TASKS))
    parser.add_argument("--backends", nargs="+", default=None)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for every contender (tinytorch.utils.benchmark.set_threads)")
    parser.add_argument("--out", default=None, help="write the JSON result here")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from tinytorch.utils.benchmark import set_threads
        try:
            set_threads(args.threads)
        except ValueError as exc:
            parser.error(str(exc))
    with Stopwatch() as clock:
        try:
            document = run(args.tasks, args.backends, args.queries, args.batch_size)
        except ValueError as exc:
            print(f"mlperf: {exc}", file=sys.stderr)
            return 2
    print(format_table(document))
    print(f"({clock.seconds:.0f} s including training each task once)")
    if args.out:
        save(document, args.out)
        print(f"result: {args.out}")
    failed = [f"{r['task']}/{r['backend']}" for r in document["results"]
              if not r["quality"]["passed"]]
    if failed:
        print(f"quality target missed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
