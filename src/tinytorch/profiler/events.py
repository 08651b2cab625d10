"""Module 19: what a profile holds -- events, their averages, the table and the trace.

One :class:`FunctionEvent` per recorded range (an autograd Function's forward or
backward, a backend kernel call, an ``nn.Module`` forward, a ``record_function``
block, an optimizer step). Times are integer nanoseconds of one clock
(``tinytorch.utils.benchmark.now_ns``). ``self`` time is the range's duration minus
the durations of the ranges directly inside it, so the self-times of every event
add up to the time covered by the outermost ranges: nothing is counted twice.

The table and the trace follow PyTorch's shapes (``prof.key_averages().table(...)``,
``prof.export_chrome_trace(path)``), so what a student learns here reads the same in
``torch.profiler``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "SORT_KEYS"]


@dataclass
class FunctionEvent:
    """One recorded range. ``category``: function, backward, kernel, module, user,
    optimizer or engine (the whole backward pass)."""

    name: str
    category: str
    start_ns: int
    duration_ns: int
    self_ns: int
    thread: int
    depth: int
    input_shapes: tuple = ()
    backend: str = ""
    cpu_memory_usage: int = 0        # bytes of the outputs this range returned
    self_cpu_memory_usage: int = 0   # ... less those its children had already allocated
    flops: int = 0

    @property
    def cpu_time_total(self) -> float:  # microseconds, as PyTorch
        return self.duration_ns / 1e3

    @property
    def self_cpu_time_total(self) -> float:
        return self.self_ns / 1e3


@dataclass
class FunctionEventAvg:
    """Every event of one name (and input shapes, when grouped by them), added up."""

    key: str
    input_shapes: tuple = ()
    count: int = 0
    cpu_time_total: float = 0.0        # us
    self_cpu_time_total: float = 0.0   # us
    cpu_memory_usage: int = 0
    self_cpu_memory_usage: int = 0
    flops: int = 0
    categories: set[str] = field(default_factory=set)

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / max(self.count, 1)

    @property
    def self_cpu_time(self) -> float:
        return self.self_cpu_time_total / max(self.count, 1)

    def add(self, e: FunctionEvent) -> None:
        self.count += 1
        self.cpu_time_total += e.cpu_time_total
        self.self_cpu_time_total += e.self_cpu_time_total
        self.cpu_memory_usage += e.cpu_memory_usage
        self.self_cpu_memory_usage += e.self_cpu_memory_usage
        self.flops += e.flops
        self.categories.add(e.category)


#: sort_by names the table accepts (PyTorch's; the cpu_* ones are the only clock here)
SORT_KEYS = ("self_cpu_time_total", "cpu_time_total", "cpu_time", "self_cpu_time", "count",
             "cpu_memory_usage", "self_cpu_memory_usage", "flops")


def _format_time(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _format_bytes(n: int) -> str:
    for unit, scale in (("Gb", 1 << 30), ("Mb", 1 << 20), ("Kb", 1 << 10)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} b"


def _shapes_text(shapes: tuple) -> str:
    return "[" + ", ".join("[]" if s is None else str(list(s)) for s in shapes) + "]"


class EventList(list):
    """A list of :class:`FunctionEvent` (or of averages) with PyTorch's methods."""

    def __init__(self, events: Iterable[Any] = (), profile_memory: bool = False,
                 with_flops: bool = False, record_shapes: bool = False,
                 grouped_by_shape: bool = False) -> None:
        super().__init__(events)
        self.profile_memory, self.with_flops = profile_memory, with_flops
        self.record_shapes, self.grouped_by_shape = record_shapes, grouped_by_shape

    def self_cpu_time_total(self) -> float:
        """Sum of every event's self time (us): the time the outermost ranges cover."""
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shape: bool = False) -> EventList:
        """One :class:`FunctionEventAvg` per name (or per name and input shapes)."""
        if group_by_input_shape and not self.record_shapes:
            raise ValueError("key_averages(group_by_input_shape=True) needs the shapes: "
                             "profile with record_shapes=True")
        groups: dict[tuple, FunctionEventAvg] = {}
        for e in self:
            key = (e.name, e.input_shapes) if group_by_input_shape else (e.name,)
            avg = groups.get(key)
            if avg is None:
                avg = groups[key] = FunctionEventAvg(
                    e.name, e.input_shapes if group_by_input_shape else ())
            avg.add(e)
        return EventList(groups.values(), self.profile_memory, self.with_flops,
                         self.record_shapes, group_by_input_shape)

    def table(self, sort_by: str | None = "self_cpu_time_total", row_limit: int = 100,
              max_name_column_width: int = 55) -> str:
        """PyTorch's table: Name, Self CPU %, Self CPU, CPU total %, CPU total, CPU time
        avg, # of Calls (+ CPU Mem / Self CPU Mem, Total MFLOPs, Input Shapes)."""
        rows = list(self if not self or isinstance(self[0], FunctionEventAvg)
                    else self.key_averages())
        if sort_by is not None:
            if sort_by not in SORT_KEYS:
                raise ValueError(f"table(sort_by={sort_by!r}): choose one of "
                                 f"{', '.join(SORT_KEYS)}")
            rows.sort(key=lambda r: getattr(r, sort_by), reverse=True)
        if isinstance(row_limit, bool) or not isinstance(row_limit, int) or row_limit < 1:
            raise ValueError(f"table(row_limit=...) must be an int >= 1, got {row_limit!r}")
        total = sum(r.self_cpu_time_total for r in rows) or 1e-12
        header = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total",
                  "CPU time avg"]
        if self.profile_memory:
            header += ["CPU Mem", "Self CPU Mem"]
        header.append("# of Calls")
        if self.with_flops:
            header.append("Total MFLOPs")
        if self.grouped_by_shape:
            header.append("Input Shapes")
        body = []
        for r in rows[:row_limit]:
            name = r.key if len(r.key) <= max_name_column_width else \
                r.key[:max_name_column_width - 3] + "..."
            cells = [name, f"{100 * r.self_cpu_time_total / total:.2f}%",
                     _format_time(r.self_cpu_time_total),
                     f"{100 * r.cpu_time_total / total:.2f}%", _format_time(r.cpu_time_total),
                     _format_time(r.cpu_time)]
            if self.profile_memory:
                cells += [_format_bytes(r.cpu_memory_usage),
                          _format_bytes(r.self_cpu_memory_usage)]
            cells.append(str(r.count))
            if self.with_flops:
                cells.append(f"{r.flops / 1e6:.3f}" if r.flops else "--")
            if self.grouped_by_shape:
                cells.append(_shapes_text(r.input_shapes))
            body.append(cells)
        widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]
        rule = "  ".join("-" * w for w in widths)

        def line(cells: list[str]) -> str:
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

        out = [rule, line(header), rule] + [line(c) for c in body] + [rule]
        out.append(f"Self CPU time total: {_format_time(total)}")
        return "\n".join(out) + "\n"

    def export_chrome_trace(self, path: str | os.PathLike, origin_ns: int = 0,
                            thread_names: dict[int, str] | None = None) -> None:
        """Write the events as Chrome trace JSON (chrome://tracing, ui.perfetto.dev): one
        complete ("X") event per range, ts/dur in microseconds, one track per thread."""
        pid = os.getpid()
        trace: list[dict[str, Any]] = [
            {"name": "process_name", "ph": "M", "pid": pid, "tid": 0,
             "args": {"name": "tinytorch"}}]
        for tid, label in sorted((thread_names or {}).items()):
            trace.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                          "args": {"name": label}})
        # parents before children at equal start (a viewer then nests them right)
        for e in sorted(self, key=lambda e: (e.thread, e.start_ns, -e.duration_ns)):
            args: dict[str, Any] = {"self_us": e.self_ns / 1e3}
            if e.backend:
                args["backend"] = e.backend
            if e.input_shapes:
                args["input_shapes"] = [None if s is None else list(s) for s in e.input_shapes]
            if e.cpu_memory_usage:
                args["bytes"] = e.cpu_memory_usage
            if e.flops:
                args["flops"] = e.flops
            trace.append({"name": e.name, "cat": e.category, "ph": "X", "pid": pid,
                          "tid": e.thread, "ts": (e.start_ns - origin_ns) / 1e3,
                          "dur": e.duration_ns / 1e3, "args": args})
        try:
            with open(path, "w", encoding="utf-8") as f:
                json.dump({"traceEvents": trace, "displayTimeUnit": "ms"}, f)
        except OSError as exc:
            raise OSError(f"export_chrome_trace: cannot write {os.fspath(path)!r}: "
                          f"{exc.strerror or exc}") from exc
