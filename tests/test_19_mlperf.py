"""Module 19: the MLPerf-style harness -- scenarios, quality on the same run, the schema;
and ``profiler.benchmark`` is the one measuring toolkit."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import tinytorch as tt
from tests.conftest import AVAILABLE_BACKENDS
from tinytorch import nn, profiler
from tinytorch.autograd import no_grad
from tinytorch.profiler import mlperf
from tinytorch.profiler.mlperf_tasks import Task
from tinytorch.utils import benchmark as toolkit
from tinytorch.utils.benchmark import Measurement


def _toy_task(target: float = 0.99) -> Task:
    """A fixed linear classifier whose labels are its own float64 predictions."""
    tt.manual_seed(0)
    model = nn.Linear(16, 5)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 16)).astype(np.float32)
    labels = (x.astype(np.float64) @ model.weight.data.T.astype(np.float64)
              + model.bias.data).argmax(1)

    def predict(batch):
        with no_grad():
            return model(tt.Tensor(batch)).data.argmax(1)

    return Task("toy", model, x, predict, lambda p: float((p == labels).mean()), "accuracy",
                target, True, "a linear classifier on 40 random samples")


def test_profiler_benchmark_is_the_one_toolkit():
    assert profiler.benchmark is toolkit.benchmark and profiler.Measurement is Measurement
    m = profiler.benchmark(lambda: sum(range(100)), warmup=2, repeats=25, min_time=0.0)
    assert m.rounds == 25 and m.result == 4950
    for stat in (m.mean, m.std, m.median, m.p90, m.p99):
        assert stat >= 0
    low, high = m.median_ci95
    assert m.min <= low <= m.median <= high <= m.max


def test_statistics_of_known_rounds():
    m = Measurement("x", tuple(float(t) for t in range(1, 101)), 1)  # 1..100 seconds
    assert m.mean == 50.5 and m.median == 50.5
    assert m.p90 == pytest.approx(90.1) and m.p99 == pytest.approx(99.01)
    assert m.median_ci95 == (40.0, 60.0)  # ranks 50 -+ 1.96 * sqrt(100) / 2
    assert m.noisy  # p90 is 90x the minimum: a busy machine, not a measurement
    assert not Measurement("y", (1.0, 1.01, 1.02, 1.0), 1).noisy


def test_single_stream_times_one_query_at_a_time():
    task = _toy_task()
    calls = []
    predict = task.predict
    task.predict = lambda batch: calls.append(len(batch)) or predict(batch)
    result = mlperf.single_stream(task, queries=30, warmup=2)
    assert result["queries"] == 30 and set(calls) == {1}
    assert len(calls) >= 32  # warm-up + the 30 timed queries
    assert 0 < result["p50_s"] <= result["p90_s"] <= result["p99_s"]
    assert result["queries_per_s"] == pytest.approx(1 / result["mean_s"])
    with pytest.raises(ValueError, match="queries"):
        mlperf.single_stream(task, queries=0)


def test_offline_returns_every_output_for_the_quality_check():
    task = _toy_task()
    scenario, outputs = mlperf.offline(task, batch_size=16)
    assert scenario["samples"] == 40 and outputs.shape == (40,)
    assert scenario["samples_per_s"] == pytest.approx(40 / scenario["seconds"])
    assert task.evaluate(outputs) == 1.0


@pytest.mark.parametrize("name", [b for b in AVAILABLE_BACKENDS if b != "loop"])
def test_run_checks_quality_on_the_timed_run_and_validates(name, tmp_path):
    document = mlperf.run([_toy_task()], backends=[name], queries=10, batch_size=8)
    (result,) = document["results"]
    assert result["backend"] == name and result["quality"]["passed"]
    path = tmp_path / "result.json"
    mlperf.save(document, path)
    assert mlperf.load(path) == json.loads(path.read_text())
    assert "toy" in mlperf.format_table(document)
    missed = mlperf.run([_toy_task(target=1.01)], backends=[name], queries=5)
    assert not missed["results"][0]["quality"]["passed"]
    assert "NO" in mlperf.format_table(missed)


def test_the_schema_names_the_bad_field(tmp_path):
    good = mlperf.run([_toy_task()], backends=["numpy"], queries=5, batch_size=8)
    mlperf.validate(good)
    for change, message in [
            (lambda d: d.pop("machine"), "missing field 'machine'"),
            (lambda d: d["results"][0]["offline"].update(samples=2.5), r"offline\.samples"),
            (lambda d: d["results"][0]["quality"].update(value=float("nan")), "finite"),
            (lambda d: d["results"][0]["single_stream"].update(p50_s=1e9), "p50 <= p90"),
            (lambda d: d.update(schema="other/9"), "schema"),
            (lambda d: d["results"][0].update(task=3), r"results\[0\]\.task")]:
        bad = copy.deepcopy(good)
        change(bad)
        with pytest.raises(ValueError, match=message):
            mlperf.validate(bad)
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        mlperf.load(path)
    with pytest.raises(ValueError, match="no result file"):
        mlperf.load(tmp_path / "missing.json")


def test_unknown_backend_and_task_are_refused():
    with pytest.raises(ValueError, match="not available"):
        mlperf.run([_toy_task()], backends=["gpu"])
    with pytest.raises(ValueError, match="unknown task"):
        mlperf.run(["resnet"])


@pytest.mark.slow
def test_cnn_and_tinygpt_meet_their_quality_targets_under_every_backend(tmp_path):
    pytest.importorskip("sklearn")
    from tinytorch.data import DatasetError
    try:
        code = mlperf.main(["--queries", "20", "--out", str(tmp_path / "r.json")])
    except DatasetError as exc:
        pytest.skip(f"the Shakespeare corpus is not installed: {exc}")
    document = mlperf.load(tmp_path / "r.json")
    assert {r["task"] for r in document["results"]} == {"cnn", "tinygpt"}
    assert code == 0, mlperf.format_table(document)
