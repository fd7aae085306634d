"""``popdiffuseq evaluate``: the model and the baselines on the same test regions, measured the same way.

The run reads a built dataset (``popdiffuseq dataset build``), rebuilds a seeded choice of test songs,
plans the task regions (``tasks``), fills every region with the model (when a checkpoint is given) and
with each baseline, and writes ``results.json``, ``results.md`` and PNG figures to ``--out``. Songs,
regions and every random draw follow from ``--seed``, so two runs with the same arguments agree and a
model can be compared with an earlier one region by region.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.evaluate.baselines import BASELINES, run_baseline
from engine.evaluate.metrics import (
    METRIC_NAMES,
    ChordTable,
    Region,
    RegionCounts,
    chord_table,
    context_notes,
    estimate_key,
    intrinsic_metrics,
    pitch_class_histogram,
    region_metrics,
    region_notes,
    score_notes,
)
from engine.evaluate.report import (
    TRUTH,
    CaseResult,
    EvaluationResult,
    write_json,
    write_markdown,
    write_plots,
)
from engine.evaluate.tasks import TASKS, Song, choose_songs, load_song, parse_tasks, plan_tasks
from engine.novelty import NOVELTY_DEFAULT, NOVELTY_HELP


@dataclass(frozen=True)
class EvaluateOptions:
    data: Path
    out: Path
    model: Path | None = None
    split: str = "test"
    songs: int = 20
    tasks: tuple[str, ...] = TASKS
    variations: int = 1
    steps: int = 10
    guidance: float = 1.5
    temperature: float = 1.0
    thin_context: bool | None = None  # None: as the model was trained
    seed: int = 0
    ppl: bool = False
    prompt_regions: int = 0  # whole-track regions regenerated under every prompt (prompts.py); 0 = off
    limits: bool = True  # part limits at sampling (register strict, drum kit, one line); False = none
    novelty: float = NOVELTY_DEFAULT  # Prompts.novelty (repeats.py)
    part_density: bool = True  # Prompts.part_density (models with a density condition)
    guide_density: bool = True  # Prompts.guide_density: guidance scales the tempo class's density plan
    melody_scale: bool = True  # Prompts.melody_scale (representation.melody_scale); off with ``limits`` off too
    precision: str = "fp32"  # the model card's figures are fp32; "auto" = what infill uses (int8 on the CPU)
    plots: bool = True
    progress: bool = True


def _limit_prompts(limits: bool, novelty: float = NOVELTY_DEFAULT, part_density: bool = True,  # noqa: ANN202
                   melody_scale: bool = True):
    """The engine's default prompts (engine.infill.Prompts) with the part limits and the melody scale on
    (its defaults) or all off, at ``novelty``, with or without the part density condition and the melody
    scale; ValueError for a novelty outside 0-1."""
    from engine.infill import Prompts

    if limits:
        return Prompts(novelty=novelty, part_density=part_density, melody_scale=melody_scale)
    return Prompts(register="off", line=False, kit=False, novelty=novelty, part_density=part_density, melody_scale=False)


def _mean_metrics(runs: list[dict[str, float]]) -> dict[str, float]:
    """Average over variations, per metric, ignoring NaN (NaN only when every variation has none)."""
    out: dict[str, float] = {}
    for k in runs[0]:
        vals = [r[k] for r in runs if not math.isnan(r[k])]
        out[k] = float(np.mean(vals)) if vals else float("nan")
    return out


def validation_perplexity(data: Path, infill_model, seed: int = 0) -> dict[str, float]:  # noqa: ANN001
    """Token perplexity on the training code's fixed validation masks (``train.loop``), drawn with the
    evaluation's ``seed`` rather than the training run's, so that every model evaluated with one seed is
    scored on the very same masks (a training log's figures use its own run's seed and may differ)."""

    from engine.train.config import TrainConfig
    from engine.train.loop import _val_batches
    from engine.train.loop import evaluate as validate

    mcfg = infill_model.config
    cfg = TrainConfig(max_rows=int(mcfg.max_rows), diffusion=mcfg.diffusion, seed=seed)
    batches = _val_batches(data, cfg, int(mcfg.max_bars))
    if not batches:
        return {}
    dev = next(infill_model.model.parameters()).device
    loss, ppl = validate(infill_model.model, infill_model.diffusion, batches, cfg.seed, dev, contextlib.nullcontext)
    return {"val_loss": float(loss), "val_ppl": float(ppl), "val_examples": float(cfg.val_examples)}


def run_evaluation(opts: EvaluateOptions) -> EvaluationResult:
    """Plan, generate, measure; returns the result (nothing written)."""
    from tqdm import tqdm

    from engine.analysis.chords import detect_chords
    from engine.data.shards import SongStore
    from engine.data.split import unit_hash

    t_start = time.perf_counter()
    prompts = _limit_prompts(opts.limits, opts.novelty, opts.part_density, opts.melody_scale)  # a bad novelty fails here, before any work
    store = SongStore(opts.data, opts.split)
    if len(store) == 0:
        raise ValueError(f"{opts.data} has no songs in the {opts.split!r} split")
    songs: list[Song] = [load_song(store, i) for i in choose_songs(len(store), opts.songs, opts.seed)]
    plan = plan_tasks(songs, opts.tasks, opts.seed)
    model = None
    if opts.model is not None:
        from engine.infill import load_model

        model = load_model(opts.model, precision=opts.precision)
    methods = (["model"] if model is not None else []) + list(BASELINES)
    config = {"data": str(opts.data), "split": opts.split, "model": str(opts.model) if opts.model else None,
              "songs": len(songs), "song_ids": [s.song_id for s in songs], "tasks": list(opts.tasks),
              "variations": opts.variations, "steps": opts.steps, "guidance": opts.guidance,
              "temperature": opts.temperature, "seed": opts.seed, "limits": opts.limits, "precision": opts.precision,
              "novelty": opts.novelty, "part_density": opts.part_density, "guide_density": opts.guide_density,
              "melody_scale": opts.melody_scale and opts.limits,
              "thin_context": None if model is None else model.uses_thin_context(opts.thin_context)}
    result = EvaluationResult(config=config, tasks=list(opts.tasks), methods=methods, skipped=plan.skipped)
    seconds = dict.fromkeys(methods, 0.0)
    chords_cache: dict[int, ChordTable] = {}
    tonic_cache: dict[int, int] = {}  # per song, for pooling the figures' pitch classes

    for case in tqdm(plan.cases, desc="evaluating", unit="region", disable=not opts.progress):
        song = songs[case.song]
        truth, sel = song.score, case.selection
        if case.song not in chords_cache:
            chords_cache[case.song] = chord_table(truth.chords or detect_chords(truth, song.grid))
            pitched = score_notes(truth, song.grid).pitched
            tonic_cache[case.song] = estimate_key(pitch_class_histogram(pitched.pitch, pitched.duration.astype(float)))[0]
        tonic = tonic_cache[case.song]
        tracks = tuple(sorted(sel.tracks or range(len(truth.tracks))))
        region = Region(song.grid, tracks, sel.start_bar, sel.end_bar, song.categories, chords_cache[case.song])
        outputs: dict[str, list] = {}
        case_seed = int(unit_hash(f"{case.song_id}|{case.task}", opts.seed) * 2**31)  # independent of the other cases
        if model is not None:
            from engine.errors import StudioError
            from engine.infill import infill

            t0 = time.perf_counter()
            try:
                outputs["model"] = infill(truth, sel, prompts, opts.variations, opts.guidance, opts.steps, case_seed,
                                          opts.temperature, model, thin_context=opts.thin_context)
            except StudioError as e:  # the case is dropped for every method, so all columns see the same regions
                plan.skip(case.task, f"model failed: {type(e).__name__}")
                continue
            seconds["model"] += time.perf_counter() - t0
        for name in BASELINES:
            t0 = time.perf_counter()
            outputs[name] = run_baseline(name, truth, sel, opts.variations, case_seed, song.grid,
                                         category=lambda t, c=song.categories: c[t])
            seconds[name] += time.perf_counter() - t0
        truth_notes = region_notes(truth, song.grid, tracks, sel.start_bar, sel.end_bar)
        base = {"task": case.task, "song_id": case.song_id, "start_bar": sel.start_bar, "end_bar": sel.end_bar, "tracks": tracks}
        gt_metrics = dict.fromkeys(METRIC_NAMES, float("nan"))  # versus-truth metrics are trivial for the truth
        gt_metrics.update(intrinsic_metrics(truth_notes, context_notes(truth, region), region))
        result.cases.append(CaseResult(method=TRUTH, metrics=gt_metrics, **base))
        result.add_counts(case.task, TRUTH, RegionCounts.of(truth_notes, tonic))
        for name in methods:
            runs = []
            for out in outputs[name]:
                runs.append(region_metrics(out, truth, region))
                result.add_counts(case.task, name, RegionCounts.of(region_notes(out, song.grid, tracks, sel.start_bar, sel.end_bar), tonic))
            result.cases.append(CaseResult(method=name, metrics=_mean_metrics(runs), **base))
    if model is not None and opts.prompt_regions > 0:
        _prompt_adherence(opts, songs, plan, model, result)
    if model is not None and opts.ppl:
        result.perplexity = validation_perplexity(Path(opts.data), model, opts.seed)
    result.skipped = plan.skipped
    result.seconds = time.perf_counter() - t_start
    result.seconds_per_method = seconds
    return result


def _prompt_adherence(opts: EvaluateOptions, songs: list[Song], plan, model, result: EvaluationResult) -> None:  # noqa: ANN001
    """The prompt-adherence runs (``prompts``) on the first ``opts.prompt_regions`` whole-track regions of
    the plan, against the profile of the data's training split; added to ``result``."""
    from dataclasses import asdict

    from tqdm import tqdm

    from engine.data.shards import SongStore
    from engine.evaluate import prompts

    cases = [c for c in plan.cases if c.task == "whole_track"]
    if not cases:
        cases = plan_tasks(songs, ("whole_track",), opts.seed).cases
    cases = cases[: opts.prompt_regions]
    t0 = time.perf_counter()
    bar = tqdm(total=len(cases) * len(prompts.GUIDANCES) * (len(prompts.TEMPO_CLASSES) + 2), desc="prompts",
               disable=not opts.progress)
    runs = prompts.prompt_adherence(cases, songs, model, opts.steps, opts.seed,
                                    progress=lambda done, _t: bar.update(done - bar.n), thin_context=opts.thin_context,
                                    part_density=opts.part_density, guide_density=opts.guide_density)
    bar.close()
    data = prompts.profile_store(SongStore(opts.data, "train"))
    categories = [songs[c.song].categories[t] for c in cases for t in (c.selection.tracks or ())]
    result.prompt_adherence = {"regions": runs.regions, "values": {str(g): v for g, v in runs.values.items()},
                               "data": asdict(data), "seconds": time.perf_counter() - t0}
    result.sections += prompts.markdown(runs, data, categories)


def write_results(result: EvaluationResult, out: Path, plots: bool = True) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_json(result, out / "results.json"), write_markdown(result, out / "results.md")]
    if plots:
        paths += write_plots(result, out)
    return paths


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="popdiffuseq evaluate",
        description="Infill test-song regions with a model and baselines; write music metrics, a table and figures.")
    ap.add_argument("--data", type=Path, required=True, help="a built dataset folder (popdiffuseq dataset build)")
    ap.add_argument("--model", type=Path, default=None, help="checkpoint folder; without it only the baselines run")
    ap.add_argument("--out", type=Path, required=True, help="folder for results.json, results.md and the PNGs")
    ap.add_argument("--split", default="test", choices=("train", "valid", "test"))
    ap.add_argument("--songs", type=int, default=20, help="songs drawn from the split (0 = all)")
    ap.add_argument("--tasks", default="all", help=f"'all' or a comma list of: {', '.join(TASKS)}")
    ap.add_argument("--variations", type=int, default=1, help="samples per region (metrics are averaged)")
    ap.add_argument("--steps", type=int, default=10, help="sampler steps")
    ap.add_argument("--guidance", type=float, default=1.5, help="classifier-free guidance scale")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--thin-context", choices=("auto", "on", "off"), default="auto",
                    help="far bars keep only the regenerated parts (auto: as the model was trained)")
    ap.add_argument("--seed", type=int, default=0, help="song choice, regions and every sample")
    ap.add_argument("--ppl", action="store_true", help="also token perplexity on the validation masks (needs --model)")
    ap.add_argument("--prompt-regions", type=int, default=0,
                    help="also regenerate this many whole-track regions under every tempo class and with a band "
                         "added, at guidance 1, 2 and 3, against the training data (needs --model; 21 infills each)")
    ap.add_argument("--band-from-melody", type=int, default=0, metavar="N",
                    help="also the 'band from melody' task on N POP909 test songs (engine/evaluate/band_from_melody.py): "
                         "a band for the bare melody with model, detector or annotated chords, and 'follows edited chords'")
    ap.add_argument("--new-drums", type=int, default=0, metavar="N",
                    help="also the 'new drum track' task on N POP909 originals and N MIDI-folder test songs "
                         "(engine/evaluate/new_drums.py): kick on beat 1 and backbeat of a drum part added to the song")
    ap.add_argument("--precision", choices=("fp32", "auto", "int8", "fp16"), default="fp32",
                    help="model precision (default fp32, the model card's; auto = as infill runs it: int8 on the CPU)")
    ap.add_argument("--no-limits", action="store_true",
                    help="sample without the part limits (register, drum kit, one line) and the melody scale: "
                         "the model alone")
    ap.add_argument("--no-melody-scale", action="store_true",
                    help="regenerated melodies' pitch classes as the network chooses them (engine.scale)")
    ap.add_argument("--novelty", type=float, default=NOVELTY_DEFAULT, help=NOVELTY_HELP)
    ap.add_argument("--no-part-density", action="store_true",
                    help="do not tell a model with a density condition each part's notes per bar (the model alone)")
    ap.add_argument("--no-guided-density", action="store_true",
                    help="prompt runs: the tempo class's density factor applied once, whatever the guidance "
                         "(as before density.guided_factor)")
    ap.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap


def evaluate_main(argv: list[str] | None = None) -> int:
    """``popdiffuseq evaluate ...``: see --help. Prints the Markdown table; 0 on success, 2 on bad input."""
    args = build_parser().parse_args(argv)
    try:
        tasks = parse_tasks(args.tasks)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.variations < 1 or args.steps < 1:
        print("error: --variations and --steps must be at least 1", file=sys.stderr)
        return 2
    if (args.ppl or args.prompt_regions) and args.model is None:
        print("error: --ppl and --prompt-regions need --model", file=sys.stderr)
        return 2
    opts = EvaluateOptions(data=args.data, out=args.out, model=args.model, split=args.split, songs=args.songs,
                           tasks=tasks, variations=args.variations, steps=args.steps, guidance=args.guidance,
                           temperature=args.temperature, seed=args.seed,
                           thin_context={"auto": None, "on": True, "off": False}[args.thin_context],
                           ppl=args.ppl, prompt_regions=max(args.prompt_regions, 0), plots=not args.no_plots, progress=not args.quiet,
                           limits=not args.no_limits, precision=args.precision, novelty=args.novelty,
                           part_density=not args.no_part_density, guide_density=not args.no_guided_density,
                           melody_scale=not args.no_melody_scale)
    from engine.errors import StudioError

    try:
        result = run_evaluation(opts)
    except (FileNotFoundError, ValueError, StudioError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    paths = write_results(result, args.out, opts.plots)
    print((args.out / "results.md").read_text(), end="")  # the table just written, not computed again
    if args.band_from_melody > 0:
        from engine.evaluate.band_from_melody import main as band_main

        band_out = args.out / "band_from_melody.json"
        band_args = ["--data", str(args.data), "--songs", str(args.band_from_melody), "--seed", str(args.seed),
                     "--steps", str(args.steps), "--guidance", str(args.guidance), "--out", str(band_out)]
        band_main(band_args + (["--model", str(args.model)] if args.model else []))
        paths.append(band_out)
    if args.new_drums > 0:
        from engine.evaluate.new_drums import main as drums_main

        drums_out = args.out / "new_drums.json"
        drums_args = ["--data", str(args.data), "--songs", str(args.new_drums), "--seed", str(args.seed),
                      "--steps", str(args.steps), "--guidance", str(args.guidance), "--out", str(drums_out)]
        drums_main(drums_args + (["--model", str(args.model)] if args.model else []) + (["--quiet"] if args.quiet else []))
        paths.append(drums_out)
    print(f"wrote {len(paths)} files to {args.out}")
    return 0
