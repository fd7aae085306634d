"""Paired model-vs-baseline advantages on hand-made case records with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.evaluate.metrics import METRICS
from engine.evaluate.paired import bootstrap, region_advantages
from engine.evaluate.report import CaseResult, EvaluationResult, markdown, to_json

SPEC = {m.name: m for m in METRICS}


def _case(song: str, method: str, task: str = "span", **metrics: float | None) -> dict[str, object]:
    return {"task": task, "song_id": song, "start_bar": 0, "end_bar": 4, "tracks": [0], "method": method,
            "metrics": metrics}


def test_higher_lower_and_truth_metrics_read_the_right_way() -> None:
    cases = [
        _case("a", "model", groove_similarity=0.9, density_error=0.1, chord_tone_ratio=0.80),
        _case("a", "copy_previous", groove_similarity=0.8, density_error=0.3, chord_tone_ratio=0.95),
        _case("a", "ground_truth", groove_similarity=None, density_error=None, chord_tone_ratio=0.85),
        _case("b", "model", groove_similarity=0.7, density_error=0.2, chord_tone_ratio=0.60),
        _case("b", "copy_previous", groove_similarity=0.9, density_error=0.1, chord_tone_ratio=0.50),
        _case("b", "ground_truth", groove_similarity=None, density_error=None, chord_tone_ratio=0.70),
    ]
    groove = region_advantages(cases, "copy_previous", SPEC["groove_similarity"])
    np.testing.assert_allclose(sorted(groove), [-0.2, 0.1])
    density = region_advantages(cases, "copy_previous", SPEC["density_error"])  # lower is better
    np.testing.assert_allclose(sorted(density), [-0.1, 0.2])
    chord = region_advantages(cases, "copy_previous", SPEC["chord_tone_ratio"])  # closer to the truth
    np.testing.assert_allclose(sorted(chord), [0.05, 0.10])  # a: |0.95-0.85|-|0.80-0.85|, b: 0.2-0.1


def test_regions_are_paired_by_task_song_and_bars_and_gaps_are_left_out() -> None:
    cases = [
        _case("a", "model", groove_similarity=1.0), _case("a", "copy_previous", groove_similarity=0.5),
        _case("a", "model", task="drums", groove_similarity=0.2),
        _case("a", "copy_previous", task="drums", groove_similarity=0.4),
        _case("b", "model", groove_similarity=float("nan")), _case("b", "copy_previous", groove_similarity=0.3),
        _case("c", "model", groove_similarity=0.6),  # no baseline on this region
    ]
    spec = SPEC["groove_similarity"]
    np.testing.assert_allclose(sorted(region_advantages(cases, "copy_previous", spec)), [-0.2, 0.5])
    np.testing.assert_allclose(region_advantages(cases, "copy_previous", spec, task="drums"), [-0.2])


def test_bootstrap_interval_brackets_the_mean_and_collapses_for_a_constant() -> None:
    const = bootstrap(np.full(10, 0.25))
    assert (const.mean, const.low, const.high, const.n) == pytest.approx((0.25, 0.25, 0.25, 10))
    rng = np.random.default_rng(1)
    d = rng.normal(0.1, 1.0, size=400)
    a = bootstrap(d, seed=0)
    assert a.low < a.mean < a.high
    se = d.std() / math.sqrt(len(d))  # the normal approximation: mean ± 1.96 se
    assert a.high - a.low == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert bootstrap(d, seed=0) == a and bootstrap(np.array([])).n == 0
    assert bootstrap(np.array([])).text() == "n/a"


def test_report_carries_the_advantage_table() -> None:
    result = EvaluationResult(config={}, tasks=["span"], methods=["model", "copy_previous"])
    for song, (m, b) in {"a": (0.9, 0.8), "b": (0.8, 0.7)}.items():
        for method, v in (("model", m), ("copy_previous", b)):
            result.cases.append(CaseResult("span", song, 0, 4, (0,), method, {"groove_similarity": v}))
    js = to_json(result)
    groove = js["advantage"]["overall"]["copy_previous"]["groove_similarity"]  # type: ignore[index]
    assert groove["mean"] == pytest.approx(0.1) and groove["n"] == 2
    assert "| groove similarity (groove_similarity) | +0.100 [+0.100, +0.100] |" in markdown(result)
    baselines_only = EvaluationResult(config={}, tasks=["span"], methods=["copy_previous"])
    assert "region by region" not in markdown(baselines_only) and to_json(baselines_only)["advantage"] == {}
