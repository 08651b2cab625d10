"""Module 20: the report a reviewer reads -- report.md, three charts, submission.json.

Every number comes from the submission document (one process, one run); the markdown
is a view of it, so the table and the JSON cannot disagree.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tinytorch.capstone import submission

__all__ = ["charts", "ladder_table", "markdown", "write_report"]


def _bytes(n: float) -> str:
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def _speed(doc: dict[str, Any], r: dict[str, Any]) -> str:
    if doc["model"] == "tinygpt":
        return f"{1.0 / r['primary_s']:,.0f} tok/s"
    return f"{r['primary_s'] * 1e3:.2f} ms"


def ladder_table(doc: dict[str, Any]) -> str:
    """The ladder as a markdown table (one row per rung, rejected ones included)."""
    speed = "decode" if doc["model"] == "tinygpt" else f"per {doc['primary_unit']}"
    head = (f"| step | what changed | {doc['metric']['name']} | delta | latency p50 / p99 "
            f"(single-stream) | {speed} | speedup | size | compression | offline "
            f"({doc['throughput_unit']}) | verdict |")
    lines = [head, "|" + "---|" * 11]
    for r in doc["rungs"]:
        verdict = "accepted" if r["accepted"] else f"**rejected**: {r['reason']}"
        lines.append(
            f"| {r['step']} | {r['change']} | {r['quality']:.4f} | {r['delta_quality']:+.4f} | "
            f"{r['latency_p50_s'] * 1e3:.2f} / {r['latency_p99_s'] * 1e3:.2f} ms | "
            f"{_speed(doc, r)} | {r['speedup']:.2f}x | {_bytes(r['size_bytes'])} | "
            f"{r['compression']:.2f}x | {r['throughput']:,.0f} | {verdict} |")
    return "\n".join(lines)


def _ops(r: dict[str, Any]) -> str:
    return ", ".join(f"{op['name']} {op['share']:.0%}" for op in r["top_ops"][:5])


def markdown(doc: dict[str, Any], chart_names: list[str]) -> str:
    w, rep = doc["workload"], doc["reproduce"]
    final = doc["final"]
    out = [f"# Capstone report: {doc['model']}{' (--quick)' if doc['quick'] else ''}", "",
           f"Created {doc['created']}, run `{doc['run_id']}`, {doc['wall_seconds'] / 60:.1f} "
           f"min wall time.", "",
           f"- model: {w['model']} ({w.get('parameters', '?')} parameters)",
           f"- data: {w['data']}", f"- quality: {w['quality']}", f"- speed: {w['speed']}",
           f"- baseline: {w['baseline']}", f"- quality budget: a rung may lose at most "
           f"{doc['metric']['budget']:g} ({doc['metric']['name']}) against the baseline; a "
           "rung that loses more, or fails its check, is rejected and the next step starts "
           "from the last accepted rung.", "",
           "## The ladder", "", ladder_table(doc), "",
           "Speedups and compression are the baseline's time per unit and size divided by the "
           "rung's, all measured in this one process. Latency p50/p99: single-stream queries "
           "(one at a time). Size: bytes of everything the model saves (parameters and "
           "buffers). Times were taken on a shared machine unless stated otherwise: rows "
           "flagged noisy below should be measured again.", ""]
    noisy = [r["step"] for r in doc["rungs"] if r["noisy"]]
    if noisy:
        out += [f"Noisy measurements (p90 > 1.25 x min): {', '.join(noisy)}.", ""]
    checks = [(r["step"], k, v) for r in doc["rungs"] for k, v in r["checks"].items()]
    if checks:
        out += ["Checks: " + "; ".join(f"{s}: {k} - {'yes' if v else 'NO'}"
                                       for s, k, v in checks) + ".", ""]
    out += ["## Where the time goes (profiler, self time of one query or batch)", ""]
    for r in doc["rungs"]:
        out.append(f"- **{r['step']}**: {_ops(r)}; peak memory {_bytes(r['peak_memory_bytes'])}")
    out += ["", "## Result", "",
            f"Final rung: **{final['step']}**, {final['speedup']:.2f}x faster, "
            f"{final['compression']:.2f}x smaller, quality {final['delta_quality']:+.4f}.", ""]
    for t in doc["targets"]:
        out.append(f"- [{'met' if t['passed'] else 'MISSED'}] {t['name']}: {t['value']:.4g} "
                   f"(target {t['target']})")
    out += ["", f"**{'All targets met.' if doc['passed'] else 'Targets missed.'}**", ""]
    if chart_names:
        out += ["## Charts", ""] + [f"![{n}]({n})" for n in chart_names] + [""]
    out += ["## Reproduce", "", "```"] + rep["commands"] + ["```", "",
            f"- tinytorch {rep['tinytorch_version']}, commit {rep['tinytorch_commit']}",
            f"- Python {rep['python']}, NumPy {rep['numpy']} ({rep['blas']})",
            f"- CPU: {rep['cpu']}, SIMD {rep['simd']}; {rep['threads']} threads; native "
            f"build: {rep.get('native', '?')}", ""]
    return "\n".join(out)


def charts(doc: dict[str, Any], out: Path) -> list[str]:
    """pareto.png, speedup.png, ops.png; returns the file names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rungs = doc["rungs"]
    names = [r["step"] for r in rungs]
    higher = doc["metric"]["higher_is_better"]
    gpt = doc["model"] == "tinygpt"
    x = [r["primary_s"] * 1e3 for r in rungs]
    y = [r["quality"] for r in rungs]

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r, xi, yi in zip(rungs, x, y, strict=True):
        ax.scatter(xi, yi, marker="o" if r["accepted"] else "x", s=60,
                   color="tab:blue" if r["accepted"] else "tab:red")
        ax.annotate(r["step"], (xi, yi), textcoords="offset points", xytext=(5, 5), fontsize=8)
    # the Pareto front of the accepted rungs: nothing else is both faster and better
    acc = sorted((xi, yi) for r, xi, yi in zip(rungs, x, y, strict=True) if r["accepted"])
    front, best = [], None
    for xi, yi in acc:
        if best is None or (yi > best if higher else yi < best):
            front.append((xi, yi))
            best = yi
    if len(front) > 1:
        ax.plot(*zip(*front, strict=True), "--", color="tab:blue", alpha=0.5,
                label="Pareto front (accepted)")
        ax.legend()
    ax.set_xscale("log")
    ax.set_xlabel(f"ms per {doc['primary_unit']} (log scale, lower is better)")
    ax.set_ylabel(doc["metric"]["name"])
    ax.set_title(f"{doc['model']}: quality vs latency (x = rejected)")
    fig.tight_layout()
    fig.savefig(out / "pareto.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    colors = ["tab:green" if r["accepted"] else "tab:red" for r in rungs]
    ax.bar(names, [r["speedup"] for r in rungs], color=colors)
    for i, r in enumerate(rungs):
        ax.text(i, r["speedup"], f"{r['speedup']:.1f}x", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("decode speedup vs baseline" if gpt else "speedup per batch vs baseline")
    ax.set_title(f"{doc['model']}: speedup per rung (red = rejected)")
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    fig.savefig(out / "speedup.png", dpi=110)
    plt.close(fig)

    last = [r for r in rungs if r["accepted"]][-1]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, r, title in ((axes[0], rungs[0], "baseline"), (axes[1], last, f"final: "
                                                                           f"{last['step']}")):
        ops = r["top_ops"][:8][::-1]
        ax.barh([o["name"][:32] for o in ops], [o["self_ms"] for o in ops])
        ax.set_xlabel("self time (ms)")
        ax.set_title(title)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(f"{doc['model']}: op breakdown of one query, before and after")
    fig.tight_layout()
    fig.savefig(out / "ops.png", dpi=110)
    plt.close(fig)
    return ["pareto.png", "speedup.png", "ops.png"]


def write_report(doc: dict[str, Any], out_dir: str | os.PathLike) -> Path:
    """Validate and write submission.json, the charts and report.md into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    submission.write(doc, out / "submission.json")  # validated before anything is written
    names = charts(doc, out)
    path = out / "report.md"
    path.write_text(markdown(doc, names), encoding="utf-8")
    return path
