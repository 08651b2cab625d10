"""Module 20: ``submission.json`` -- the ladder as data, checked against a JSON Schema.

The schema (``submission.schema.json`` beside this file) fixes the shape; ``validate``
also checks what a schema cannot say: the first rung is the baseline, every ratio is the
one its raw numbers give (a reviewer recomputes them), the final rung is accepted and
every rung comes from the same process as the baseline.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.capstone.ladder import RUN_ID, Ladder, Rung, Workload

__all__ = ["SCHEMA_VERSION", "SubmissionError", "build", "load_schema", "reproduce_info",
           "load", "targets", "validate", "write"]

SCHEMA_VERSION = "tinytorch.capstone/1"

#: the Done-when targets of the issue, per model: (name, kind, threshold)
TARGETS = {
    "tinygpt": [("decode speedup vs numpy, uncached, fp32", "speedup", 10.0),
                ("validation loss rise", "quality_loss", 0.05)],
    "cnn": [("speedup per batch", "speedup", 3.0), ("size reduction", "compression", 3.0),
            ("accuracy loss", "quality_loss", 0.01)],
}


class SubmissionError(ValueError):
    """A submission that does not validate; the message says where and why."""


def load_schema() -> dict[str, Any]:
    text = resources.files("tinytorch.capstone").joinpath("submission.schema.json").read_text(
        encoding="utf-8")
    return json.loads(text)


def _git_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                                text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    if commit.returncode != 0:
        return "unknown (not a git checkout)"
    return commit.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def reproduce_info(commands: list[str]) -> dict[str, Any]:
    from tinytorch import __version__
    from tinytorch.backends import available_backends
    from tinytorch.utils.machine import cpu_model, describe, numpy_blas, simd_level

    info = describe()
    threads = os.cpu_count() or 1
    if "native" in available_backends():
        from tinytorch.backends.native_support import ext
        threads = int(ext.get_num_threads())
    return {"commands": commands, "tinytorch_version": __version__,
            "tinytorch_commit": _git_commit(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": numpy_blas(), "simd": simd_level(),
            "threads": threads, "cpu": f"{cpu_model()}, {os.cpu_count()} CPUs",
            "native": info.get("native", "not built")}


def _rung(r: Rung) -> dict[str, Any]:
    m = r.measured
    return {"step": r.step, "change": r.change, "accepted": r.accepted, "reason": r.reason,
            "quality": m.quality, "delta_quality": r.delta_quality,
            "latency_p50_s": m.latency_p50_s, "latency_p99_s": m.latency_p99_s,
            "primary_s": m.primary_s, "speedup": r.speedup, "throughput": m.throughput,
            "size_bytes": int(m.size_bytes), "compression": r.compression,
            "peak_memory_bytes": int(m.peak_memory_bytes), "seconds": r.seconds,
            "noisy": bool(m.noisy), "checks": dict(m.checks),
            "top_ops": [dict(op) for op in m.top_ops]}


def targets(model: str, final: Rung, higher_is_better: bool) -> list[dict[str, Any]]:
    """The Done-when targets, judged on the final (last accepted) rung."""
    lost = -final.delta_quality if higher_is_better else final.delta_quality
    values = {"speedup": final.speedup, "compression": final.compression, "quality_loss": lost}
    out = []
    for name, kind, threshold in TARGETS.get(model, []):
        value = values[kind]
        if kind == "quality_loss":
            out.append({"name": name, "value": value, "target": f"<= {threshold:g}",
                        "passed": bool(value <= threshold)})
        else:
            out.append({"name": name, "value": value, "target": f">= {threshold:g}x",
                        "passed": bool(value >= threshold)})
    return out


def build(ladder: Ladder, workload: Workload, quick: bool, commands: list[str],
          wall_seconds: float) -> dict[str, Any]:
    final = ladder.last
    judged = targets(ladder.workload, final, workload.higher_is_better)
    return {
        "schema": SCHEMA_VERSION, "model": ladder.workload, "quick": bool(quick),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run_id": ladder.baseline.measured.run_id if ladder.rungs else RUN_ID,
        "workload": {k: (v if isinstance(v, (str, int, float)) else str(v))
                     for k, v in workload.describe().items()},
        "metric": {"name": workload.metric, "higher_is_better": workload.higher_is_better,
                   "budget": workload.budget},
        "primary_unit": workload.primary_unit, "throughput_unit": workload.throughput_unit,
        "rungs": [_rung(r) for r in ladder.rungs],
        "final": {"step": final.step, "speedup": final.speedup,
                  "compression": final.compression, "delta_quality": final.delta_quality},
        "targets": judged, "passed": all(t["passed"] for t in judged),
        "reproduce": reproduce_info(commands), "wall_seconds": float(wall_seconds),
    }


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


def validate(document: Any) -> None:
    """Raise :class:`SubmissionError` unless ``document`` is a consistent submission."""
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - a dependency of tinytorch[data] and [test]
        raise SubmissionError("validating needs the jsonschema package: pip install "
                              "jsonschema (it comes with tinytorch[data] and [test])") from None
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise SubmissionError(f"{where}: {e.message}{more}")
    rungs = document["rungs"]
    base = rungs[0]
    if base["step"] != "baseline" or not base["accepted"]:
        raise SubmissionError("rungs/0 must be the accepted baseline")
    for i, r in enumerate(rungs):
        if not _close(r["speedup"], base["primary_s"] / r["primary_s"]):
            raise SubmissionError(f"rungs/{i} ({r['step']}): speedup {r['speedup']:.6g} is not "
                                  f"baseline primary_s / primary_s = "
                                  f"{base['primary_s'] / r['primary_s']:.6g}")
        if not _close(r["compression"], base["size_bytes"] / r["size_bytes"]):
            raise SubmissionError(f"rungs/{i} ({r['step']}): compression does not match the "
                                  "sizes")
        if not _close(r["delta_quality"], r["quality"] - base["quality"]):
            raise SubmissionError(f"rungs/{i} ({r['step']}): delta_quality is not quality - "
                                  "baseline quality")
        lost = -r["delta_quality"] if document["metric"]["higher_is_better"] \
            else r["delta_quality"]
        failed_check = not all(r["checks"].values())
        if r["accepted"] and (lost > document["metric"]["budget"] + 1e-12 or failed_check):
            raise SubmissionError(f"rungs/{i} ({r['step']}) is marked accepted but breaks the "
                                  "quality budget or a check")
    accepted = [r for r in rungs if r["accepted"]]
    final = document["final"]
    if final["step"] != accepted[-1]["step"] or not _close(final["speedup"],
                                                             accepted[-1]["speedup"]):
        raise SubmissionError("final must be the last accepted rung")
    if document["passed"] != all(t["passed"] for t in document["targets"]):
        raise SubmissionError("passed does not agree with the targets")


def write(document: dict[str, Any], path: str | os.PathLike) -> None:
    """Validate, then write (an invalid submission is never written)."""
    validate(document)
    Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def load(path: str | os.PathLike) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"cannot read {os.fspath(path)}: {exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{os.fspath(path)} is not JSON: {exc}") from None
    validate(document)
    return document
