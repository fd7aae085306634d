"""Paired comparison of the model with a baseline, region by region, with a bootstrap confidence interval.

The tables give mean ± std over songs per method, but the spread between songs (one song is simply
harder than another for every method) hides how sure a difference between two methods is. Both methods
infill the very same regions, so the fair question is per region: by how much is the model better there,
and is the mean of that clearly above zero? "Better" follows each metric's reading (``MetricSpec.better``):
higher, lower, or closer to the ground truth's own value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from engine.evaluate.metrics import METRICS, MetricSpec

TRUTH = "ground_truth"
OVERALL = "overall"  # the key of all tasks together
RESAMPLES = 2000


@dataclass(frozen=True)
class Advantage:
    """Mean per-region advantage of the model (> 0: the model is better) and its 95 % percentile bootstrap
    interval over regions; ``n`` regions had the metric for both methods (and the truth, where needed)."""

    mean: float
    low: float
    high: float
    n: int

    def text(self, digits: int = 3) -> str:
        if self.n == 0:
            return "n/a"
        return f"{self.mean:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"


def _value(metrics: Mapping[str, object], name: str) -> float:
    v = metrics.get(name)
    return float("nan") if v is None else float(v)  # type: ignore[arg-type]


def region_advantages(cases: Iterable[Mapping[str, object]], baseline: str, spec: MetricSpec,
                      task: str | None = None, model: str = "model") -> np.ndarray:
    """Per region (task, song, bars, tracks), the model's advantage over ``baseline`` on one metric.

    ``cases`` are the evaluation's case records (``CaseResult`` or its JSON form); ``task`` None = all
    tasks. Regions where a value is missing (NaN or None) are left out."""
    by_region: dict[tuple, dict[str, float]] = {}
    for c in cases:
        if task is not None and c["task"] != task:
            continue
        key = (c["task"], c["song_id"], c["start_bar"], c["end_bar"], tuple(c["tracks"]))  # type: ignore[arg-type]
        by_region.setdefault(key, {})[str(c["method"])] = _value(c["metrics"], spec.name)  # type: ignore[arg-type]
    out = []
    for values in by_region.values():
        m, b, t = values.get(model, math.nan), values.get(baseline, math.nan), values.get(TRUTH, math.nan)
        if spec.better == "higher":
            d = m - b
        elif spec.better == "lower":
            d = b - m
        else:
            d = abs(b - t) - abs(m - t)
        if not math.isnan(d):
            out.append(d)
    return np.asarray(out, dtype=np.float64)


def bootstrap(d: np.ndarray, resamples: int = RESAMPLES, seed: int = 0) -> Advantage:
    """Mean of ``d`` with the 2.5 and 97.5 percentiles of the means of ``resamples`` resamples (seeded)."""
    d = np.asarray(d, dtype=np.float64)
    if not len(d):
        return Advantage(math.nan, math.nan, math.nan, 0)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(resamples, len(d)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return Advantage(float(d.mean()), float(low), float(high), int(len(d)))


def advantages(cases: list[Mapping[str, object]], baselines: Iterable[str], tasks: Iterable[str | None],
               seed: int = 0) -> dict[str, dict[str, dict[str, Advantage]]]:
    """task (OVERALL for None) -> baseline -> metric name -> Advantage, for every metric."""
    return {
        (task or OVERALL): {
            b: {spec.name: bootstrap(region_advantages(cases, b, spec, task), seed=seed) for spec in METRICS}
            for b in baselines
        }
        for task in tasks
    }
