"""Loss curves for milestones: ASCII in the terminal, PNG with matplotlib when asked."""

from __future__ import annotations

import math
from collections.abc import Sequence


def ascii_curve(series: dict[str, Sequence[float]], width: int = 60, height: int = 12,
                title: str = "loss") -> str:
    """Plot one or more curves with plain ASCII characters (safe on any terminal).

    Each series gets its own marker; the x axis is the step index scaled to
    ``width`` columns, the y axis spans the min..max of all finite values.
    """
    markers = "*o+x#@"
    values = [v for s in series.values() for v in s if math.isfinite(v)]
    if not values:
        return f"{title}: no finite values to plot"
    low, high = min(values), max(values)
    span = high - low or 1.0
    grid = [[" "] * width for _ in range(height)]
    for marker, ys in zip(markers, series.values(), strict=False):
        n = len(ys)
        for col in range(width):
            i = min(n - 1, round(col * (n - 1) / max(width - 1, 1))) if n else 0
            if n == 0 or not math.isfinite(ys[i]):
                continue
            # measured from the top, like the labels below: a flat series (high == low)
            # lands on the top row, the one labelled with its value
            row = round((high - ys[i]) / span * (height - 1))
            grid[row][col] = marker
    lines = [f"{title}"]
    for r, cells in enumerate(grid):
        label = high - r * span / (height - 1)
        lines.append(f"{label:9.4f} |" + "".join(cells))
    steps = max((len(s) for s in series.values()), default=0)
    lines.append(" " * 10 + "+" + "-" * width)
    lines.append(" " * 11 + f"0{'steps':^{width - 2 * len(str(steps))}}{steps}")
    legend = "   ".join(f"{m} {name}" for m, name in zip(markers, series, strict=False))
    lines.append(" " * 11 + legend)
    return "\n".join(lines)


def save_png(series: dict[str, Sequence[float]], path: str, title: str,
             ylabel: str = "loss", logy: bool = False) -> str:
    """Write the curves to ``path`` with matplotlib; returns a message for the user."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return f"not saving {path}: matplotlib is not installed (pip install '.[bench]')"
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, ys in series.items():
        ax.plot(range(len(ys)), ys, label=name)
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return f"saved the curves to {path}"
