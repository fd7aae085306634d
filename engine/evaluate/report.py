"""Results of an evaluation run: aggregation (mean +- std over songs), results.json, a Markdown table
and PNG figures like the seed paper's (pitch-class histograms, PCTM heat maps, duration and IOI
histograms, generated against ground truth). matplotlib is imported only when plotting, with the Agg
backend, so the evaluation runs on machines without a display.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from engine.evaluate.metrics import MAX_BIN, METRICS, RegionCounts
from engine.evaluate.paired import OVERALL, TRUTH, Advantage, advantages

# Pitch classes relative to each song's tonic (the figures pool songs in different keys).
DEGREES: tuple[str, ...] = ("1", "b2", "2", "b3", "3", "4", "#4", "5", "b6", "6", "b7", "7")
METHOD_LABELS: dict[str, str] = {"model": "model", "copy_previous": "copy previous bars",
                                 "random_in_key": "random in key", TRUTH: "ground truth"}


@dataclass(frozen=True)
class Summary:
    """Mean and (population) standard deviation over the songs where the metric exists."""

    mean: float
    std: float
    n: int

    @staticmethod
    def of(values: list[float]) -> Summary:
        v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=np.float64)
        if not len(v):
            return Summary(float("nan"), float("nan"), 0)
        return Summary(float(v.mean()), float(v.std()), int(len(v)))

    def text(self, digits: int = 3) -> str:
        return "n/a" if self.n == 0 else f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


@dataclass
class CaseResult:
    """One (task, song, method): its metrics, averaged over the variations."""

    task: str
    song_id: str
    start_bar: int
    end_bar: int
    tracks: tuple[int, ...]
    method: str
    metrics: dict[str, float]


@dataclass
class EvaluationResult:
    config: dict[str, object]
    tasks: list[str]
    methods: list[str]  # without TRUTH
    cases: list[CaseResult] = field(default_factory=list)
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: dict[str, dict[str, RegionCounts]] = field(default_factory=dict)  # task -> method (or TRUTH) -> counts
    perplexity: dict[str, float] | None = None
    seconds: float = 0.0
    seconds_per_method: dict[str, float] = field(default_factory=dict)
    prompt_adherence: dict[str, object] | None = None  # ``prompts`` runs, when asked for
    sections: list[str] = field(default_factory=list)  # more Markdown lines for results.md (prompt adherence)

    def add_counts(self, task: str, method: str, counts: RegionCounts) -> None:
        for key in (task, OVERALL):
            per = self.counts.setdefault(key, {})
            per[method] = per.get(method, RegionCounts.zeros()) + counts

    def summaries(self) -> dict[str, dict[str, dict[str, Summary]]]:
        """task (and 'overall') -> method (and TRUTH) -> metric -> Summary."""
        out: dict[str, dict[str, dict[str, Summary]]] = {}
        for task in [*self.tasks, OVERALL]:
            rows = [c for c in self.cases if task in (OVERALL, c.task)]
            out[task] = {}
            for method in [*self.methods, TRUTH]:
                mine = [c for c in rows if c.method == method]
                out[task][method] = {m.name: Summary.of([c.metrics.get(m.name, float("nan")) for c in mine]) for m in METRICS}
        return out

    def advantages(self) -> dict[str, dict[str, dict[str, Advantage]]]:
        """task (and 'overall') -> baseline -> metric -> the model's paired advantage (``paired.py``);
        empty without a model."""
        if "model" not in self.methods:
            return {}
        baselines = [m for m in self.methods if m != "model"]
        return advantages([asdict(c) for c in self.cases], baselines, [*self.tasks, None])

    def n_cases(self, task: str) -> int:
        return len({(c.task, c.song_id) for c in self.cases if task in (OVERALL, c.task)})


def _clean(x: object) -> object:
    """JSON without NaN (not valid JSON): NaN -> null."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def to_json(result: EvaluationResult) -> dict[str, object]:
    summaries = result.summaries()
    return _clean({
        "config": result.config,
        "tasks": result.tasks,
        "methods": [*result.methods, TRUTH],
        "metrics": [asdict(m) for m in METRICS],
        "n_cases": {t: result.n_cases(t) for t in [*result.tasks, OVERALL]},
        "skipped": result.skipped,
        "summary": {t: {m: {k: asdict(s) for k, s in per.items()} for m, per in pm.items()} for t, pm in summaries.items()},
        "advantage": {t: {b: {k: asdict(a) for k, a in per.items()} for b, per in pb.items()}
                      for t, pb in result.advantages().items()},
        "perplexity": result.perplexity,
        "prompt_adherence": result.prompt_adherence,
        "seconds": result.seconds,
        "seconds_per_method": result.seconds_per_method,
        "cases": [asdict(c) for c in result.cases],
    })  # type: ignore[return-value]


def write_json(result: EvaluationResult, path: Path) -> Path:
    path.write_text(json.dumps(to_json(result), indent=1))
    return path


_ARROWS = {"higher": "↑", "lower": "↓", "truth": "≈ GT"}
GROUP_LABELS = {"musician": "checks a musician would make (engine/evaluate/musician.py)"}


def markdown(result: EvaluationResult) -> str:
    """One table per task and one overall: rows = metrics, columns = methods and the ground truth."""
    summaries = result.summaries()
    cols = [*result.methods, TRUTH]
    lines = ["# Infilling evaluation", ""]
    cfg = result.config
    lines.append(f"data `{cfg.get('data')}` ({cfg.get('split')} split), model `{cfg.get('model') or 'none'}`, "
                 f"{cfg.get('songs')} songs, {cfg.get('variations')} variation(s), steps {cfg.get('steps')}, "
                 f"guidance {cfg.get('guidance')}, seed {cfg.get('seed')}; {result.seconds:.1f} s.")
    lines.append("Mean ± std over songs (one region per song and task). ↑ higher is better, ↓ lower is better, ≈ GT: closest to the ground truth's "
                 "value is best. Versus-truth metrics are trivial (1 or 0) for the ground truth and shown as —.")
    if result.perplexity:
        lines += ["", "Token perplexity on the validation masks: "
                  + ", ".join(f"{k} {v:.3f}" for k, v in result.perplexity.items())]
    for task in [*result.tasks, OVERALL]:
        n = result.n_cases(task)
        skipped = result.skipped.get(task, {}) if task != OVERALL else {}
        unit = "regions, all tasks" if task == OVERALL else "songs"
        head = f"## {task} ({n} {unit}" + (f"; skipped {sum(skipped.values())}: "
                                          + ", ".join(f"{r} ×{k}" for r, k in skipped.items()) if skipped else "") + ")"
        lines += ["", head, ""]
        if n == 0:
            lines.append("no song supports this task.")
            continue
        lines.append("| metric | " + " | ".join(METHOD_LABELS.get(c, c) for c in cols) + " |")
        lines.append("|---|" + "---:|" * len(cols))
        group = METRICS[0].group
        for m in METRICS:
            if all(summaries[task][c][m.name].n == 0 for c in cols):
                continue  # a check that does not apply to this task (drum checks on a melody)
            if m.group != group:
                group = m.group
                lines.append(f"| *{GROUP_LABELS.get(group, group)}* |" + " |" * len(cols))
            cells = []
            for c in cols:
                if c == TRUTH and m.versus_truth:
                    cells.append("—")
                else:
                    cells.append(summaries[task][c][m.name].text())
            lines.append(f"| {m.label} ({m.name}) {_ARROWS[m.better]} | " + " | ".join(cells) + " |")
    lines += _advantage_table(result)
    lines += result.sections
    return "\n".join(lines) + "\n"


def _advantage_table(result: EvaluationResult) -> list[str]:
    adv = result.advantages().get(OVERALL)
    if not adv:
        return []
    baselines = list(adv)
    lines = ["", f"## model against each baseline, region by region ({OVERALL})", "",
             "Mean advantage of the model over the regions both infilled (> 0: the model is better: higher, lower, "
             "or closer to the ground truth, as the metric reads) and its 95 % bootstrap interval; per task in "
             "results.json (`advantage`).", "",
             "| metric | " + " | ".join(METHOD_LABELS.get(b, b) for b in baselines) + " |",
             "|---|" + "---:|" * len(baselines)]
    group = METRICS[0].group
    for m in METRICS:
        if all(adv[b][m.name].n == 0 for b in baselines):
            continue
        if m.group != group:
            group = m.group
            lines.append(f"| *{GROUP_LABELS.get(group, group)}* |" + " |" * len(baselines))
        lines.append(f"| {m.label} ({m.name}) | " + " | ".join(adv[b][m.name].text() for b in baselines) + " |")
    return lines


def write_markdown(result: EvaluationResult, path: Path) -> Path:
    path.write_text(markdown(result))
    return path


# -- figures --------------------------------------------------------------------------------------------------
def _norm(x: np.ndarray) -> np.ndarray:
    s = x.sum()
    return x / s if s > 0 else x


def write_plots(result: EvaluationResult, out: Path) -> list[Path]:
    """Per task (and overall): pitch-class histograms, PCTM heat maps side by side, and duration and IOI
    histograms, every method against the ground truth (notes pooled over the songs, pitch classes taken
    relative to each song's tonic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths: list[Path] = []
    for task, per in result.counts.items():
        cols = [c for c in [TRUTH, *result.methods] if c in per]
        if not cols:
            continue
        labels = [METHOD_LABELS.get(c, c) for c in cols]
        # pitch-class histograms
        fig, ax = plt.subplots(figsize=(9, 3.6))
        width = 0.8 / len(cols)
        for i, c in enumerate(cols):
            ax.bar(np.arange(12) + (i - (len(cols) - 1) / 2) * width, _norm(per[c].pch), width, label=labels[i])
        ax.set_xticks(range(12), DEGREES)
        ax.set_ylabel("share of notes")
        ax.set_title(f"Pitch-class histogram: {task}")
        ax.set_xlabel("pitch class relative to the song's tonic (Krumhansl key estimate)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        paths.append(_save(fig, out / f"pch_{task}.png", plt))
        # PCTM heat maps
        fig, axes = plt.subplots(1, len(cols), figsize=(3.3 * len(cols), 3.4), squeeze=False)
        for ax, c, label in zip(axes[0], cols, labels, strict=True):
            im = ax.imshow(_norm(per[c].pctm), cmap="viridis", origin="lower")
            ax.set_title(label, fontsize=9)
            ax.set_xticks(range(12), DEGREES, fontsize=6)
            ax.set_yticks(range(12), DEGREES, fontsize=6)
            ax.set_xlabel("to", fontsize=8)
            ax.set_ylabel("from", fontsize=8)
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        fig.suptitle(f"Pitch-class transition matrix: {task}", fontsize=10)
        fig.tight_layout()
        paths.append(_save(fig, out / f"pctm_{task}.png", plt))
        # duration and IOI histograms
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
        x = np.arange(1, MAX_BIN + 1)
        for ax, attr, title in ((axes[0], "duration", "note duration"), (axes[1], "ioi", "inter-onset interval")):
            for c, label in zip(cols, labels, strict=True):
                ax.step(x, _norm(getattr(per[c], attr)), where="mid", label=label)
            ax.set_xlabel(f"32nds (last bin: {MAX_BIN} or more)")
            ax.set_ylabel("share")
            ax.set_title(f"{title}: {task}")
            ax.legend(fontsize=8)
        fig.tight_layout()
        paths.append(_save(fig, out / f"rhythm_{task}.png", plt))
    return paths


def _save(fig, path: Path, plt) -> Path:  # noqa: ANN001
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
