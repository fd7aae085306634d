"""The one function the editor and the command line call: regenerate a selected region of a song.

``infill`` turns the selection into mask specs (``representation.masks``), samples them with the
model's diffusion process and writes the result back (``representation.apply``), so everything outside
the selected bars x tracks is left exactly as it was. Selections longer than the model's window are done
in parts; parts whose windows do not read each other's bars are sampled together (``schedule_parts``),
and a later part sees the bars generated before it. The model runs where ``load_model`` put it
(engine.device: the GPU when there is one). torch is imported lazily: the editor imports this module at
start-up and loads the model in the background (engine.threads keeps that load from stalling the window).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.analysis.categories import CATEGORY_INDEX, DEFAULT_PROGRAM
from engine.analysis.tempo import TEMPO_CLASSES
from engine.device import DeviceChoice
from engine.errors import CheckpointError, RepresentationError
from engine.novelty import NOVELTY_DEFAULT
from engine.representation.masks import (
    MAX_SLOTS,
    MIN_SLOTS,
    Selection,
    build_infill_problem,
    context_bars,
    estimate_slots,
    resolve_selection,
    split_selection,
)
from engine.representation.part_limits import CONTEXT_BARS, REGISTERS, PartLimits
from engine.scale import MELODY_SCALE_DEFAULT
from engine.score import ChordLabel, Score
from engine.threads import prefer_passive_wait

prefer_passive_wait()  # before anything imports torch: OpenMP reads its wait policy once (engine.threads)

if TYPE_CHECKING:
    from engine.diffusion.base import Diffusion
    from engine.model.config import ModelConfig
    from engine.model.network import SAModel

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL_DIR = REPO_ROOT / "resources" / "models" / "default"
# Temperature of the chords-only stage (a band for a melody with no chords): set from measurement, see
# the model card's "band from melody" table.
CHORD_TEMPERATURE = 1.0

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]

__all__ = ["InfillModel", "Prompts", "Selection", "infill", "load_default_model", "load_model"]


@dataclass(frozen=True)
class Prompts:
    """What the musician asks for in the region, besides the selection itself."""

    tempo_class: str | None = None  # one of TEMPO_CLASSES; None = the song's own
    instruments: tuple[str, ...] = ()  # categories wanted in the region; () = the song's instruments
    density: float = 1.0  # x the note slots estimated from the context (more or fewer notes)
    # Register of regenerated parts: "strict" (their own range around the region +-2 semitones; new
    # parts: the instrument's usual range), "loose" (that or the instrument's range, the wider), "off".
    register: str = "strict"
    line: bool | None = None  # one note at a time: None = for parts that are one line around the region
    kit: bool = True  # drums keep the pieces they play around the region
    # A regenerated melody's pitch classes follow the melody's own around the region
    # (representation.melody_scale); False: as the network alone chooses them.
    melody_scale: bool = MELODY_SCALE_DEFAULT
    # How far regenerated parts move from their own repeat (repeats.py): 1 = generated from scratch; below
    # 1 sampling starts from the bar each part plays again there, keeping each note's pitch with
    # 1 - novelty and its rhythm (a drum bar) with 1 - novelty**2 (engine.novelty). A tempo class other
    # than the song's own always generates from scratch (novelty 1).
    novelty: float = NOVELTY_DEFAULT
    # Models with a density condition (engine.model.density) are told each regenerated part's notes per
    # bar: its own around the region x the tempo class's factor x ``density``. False: not told (the
    # network reads the density from the context alone, and the tempo class acts only as trained).
    part_density: bool = True
    # Guidance scales the tempo class's density factor too (density.guided_factor: factor ** guidance).
    # False: the factor is applied once whatever the guidance (before stop 31), for comparison.
    guide_density: bool = True

    @property
    def limits(self) -> PartLimits:
        return PartLimits(self.register, self.kit, self.line)

    def __post_init__(self) -> None:
        if self.tempo_class is not None and self.tempo_class not in TEMPO_CLASSES:
            raise ValueError(f"unknown tempo class {self.tempo_class!r}; choose one of {', '.join(TEMPO_CLASSES)}")
        for c in self.instruments:
            if c not in CATEGORY_INDEX:
                raise ValueError(f"unknown instrument category {c!r}")
        if not 0.1 <= self.density <= 4.0:
            raise ValueError(f"density must be between 0.1 and 4, got {self.density}")
        if self.register not in REGISTERS:
            raise ValueError(f"register must be one of {', '.join(REGISTERS)}, got {self.register!r}")
        if not 0.0 <= self.novelty <= 1.0:
            raise ValueError(f"novelty must be between 0 and 1, got {self.novelty}")


@dataclass
class InfillModel:
    """A loaded network with the diffusion process it was trained for."""

    model: SAModel
    config: ModelConfig
    diffusion: Diffusion
    source: str = ""
    thin_context: bool = False  # trained with thinned far context: infill with it too (masks.build_problem)
    device: DeviceChoice = field(default_factory=DeviceChoice)  # where the weights are; CPU by default
    writes_chords: bool = False  # trained with chord masks: can sample a region's chords (Selection.chords)
    # Training songs' notes per beat per tempo class (density.read_tempo_density), for models with a density
    # condition: what a tempo class other than the song's asks of each part's density. None = no table.
    tempo_density: dict[str, float] | None = None

    def autocast(self) -> AbstractContextManager[Any]:
        """fp16 autocast on CUDA when ``device.half`` (engine.device), else nothing."""
        import torch

        if self.device.half:
            return torch.autocast(device_type="cuda", dtype=torch.float16)
        return nullcontext()

    @property
    def max_rows(self) -> int:
        return int(self.config.max_rows)

    def uses_thin_context(self, asked: bool | None) -> bool:
        """The layout ``infill`` builds for ``asked``: None means as this model was trained."""
        return self.thin_context if asked is None else bool(asked)


def load_model(directory: str | os.PathLike, device: str = "auto", precision: str = "auto") -> InfillModel:
    """Load a checkpoint folder (model.safetensors + config.json) onto ``device`` (auto/cpu/cuda/mps,
    engine.device; auto = the GPU when there is one) at ``precision`` (auto: fp16 autocast on CUDA,
    int8 Linear layers on the CPU; fp32: neither). Raises CheckpointError, or DeviceError for a device
    that is not present."""
    from engine.device import resolve_device
    from engine.diffusion import make_diffusion
    from engine.model.checkpoint import load_checkpoint, read_checkpoint_info
    from engine.threads import configure_torch_threads

    path = Path(directory)
    if not (path / "config.json").is_file():
        raise CheckpointError(f"no model found in {path} (expected config.json and model.safetensors)")
    configure_torch_threads()
    choice = resolve_device(device, precision)
    model, cfg = load_checkpoint(path, choice.torch_device())
    model.eval()
    if choice.int8:
        from engine.model.quantize import quantize_linear_int8

        quantized = quantize_linear_int8(model)
        if quantized is None:  # no int8 kernels here: fp32
            choice = replace(choice, int8=False, label=choice.label.replace(", int8", ""))
        else:
            model = quantized
    train = (read_checkpoint_info(path).get("metadata") or {}).get("train_config") or {}  # type: ignore[union-attr]
    thin = float(train.get("thin_context", 0.0)) > 0  # the training run thinned far context: infill so too
    # trained to write chords (Selection.chords)
    writes_chords = float(train.get("chord_masks", 0.0)) > 0 or float(train.get("harmonise", 0.0)) > 0
    from engine.model.density import read_tempo_density

    return InfillModel(model, cfg, make_diffusion(cfg), str(path), thin, device=choice, writes_chords=writes_chords,
                       tempo_density=read_tempo_density(path) if cfg.density_condition else None)


def load_default_model(device: str = "auto", precision: str = "auto") -> InfillModel:
    """The bundled model (``resources/models/default``), or $POPDIFFUSEQ_MODEL if set, on ``device``."""
    return load_model(os.environ.get("POPDIFFUSEQ_MODEL", DEFAULT_MODEL_DIR), device, precision)


def _slots(encoding: Any, selection: Selection, density: float) -> dict[int, int] | None:
    """Slots per bar for each regenerated track: the context estimate scaled by the density prompt."""
    if selection.attributes != "all":
        return None
    tracks, categories = resolve_selection(encoding, selection)
    return {
        t: int(np.clip(round(estimate_slots(encoding, t, selection, categories[t]) * density), MIN_SLOTS, MAX_SLOTS))
        for t in tracks
    }


def part_densities(encoding: Any, problem: Any, scale: float) -> np.ndarray | None:
    """int64 [R]: the density bucket (engine.model.density) of every generated row of a part with slots
    ('all' selections): the part's notes per bar around the region (``context_density``) x ``scale`` (the
    tempo class's factor x the density prompt); 0 (unknown) for other rows and for parts new to the song
    or silent outside the region. None when no row has a known density."""
    from engine.model.density import UNKNOWN, bucket, context_density

    if problem.selection.attributes != "all":
        return None
    out = np.full(len(problem.track_of_row), UNKNOWN, dtype=np.int64)
    gen = problem.generated_rows & (problem.track_of_row >= 0)
    sel = problem.selection
    for track in np.unique(problem.track_of_row[gen]).tolist():
        if track >= encoding.n_tracks:
            continue
        d = context_density(encoding.bar_of_row, encoding.track_of_row, track, sel.start_bar, sel.end_bar)
        out[gen & (problem.track_of_row == track)] = bucket(d * scale)
    return out if (out != UNKNOWN).any() else None


def _with_prompt(example: Any, prompts: Prompts, extra: tuple[str, ...]) -> Any:
    tempo = TEMPO_CLASSES.index(prompts.tempo_class) if prompts.tempo_class else example.tempo
    instruments = example.instruments
    wanted = prompts.instruments or extra
    if wanted:
        instruments = np.array(example.instruments if example.instruments is not None else np.zeros(len(CATEGORY_INDEX), bool))
        for c in wanted:
            instruments[CATEGORY_INDEX[c]] = True
    return replace(example, tempo=tempo, instruments=instruments)


def _chord_choice(score: Score, categories: tuple[str, ...], selection: Selection, model: InfillModel) -> tuple[Selection, bool]:
    """(the selection, whether the harmoniser writes the region's chords) for a request.

    Who writes a region's chords (``chord_source.model_writes_chords`` says when they are written at all):
    the user asked for it (``selection.chords``) and the network was trained for it: the network; else,
    when the song has a melody, the learned harmoniser (``analysis.harmoniser``), which matched the
    annotated chords better than the network's own chords on POP909 test songs (band from melody: band
    chord-tone ratio 0.598 against 0.523 and the detector's 0.453); else the song's (detected) chords stay,
    and asking for chords raises RepresentationError.
    """
    from engine.analysis.harmoniser import available
    from engine.representation.chord_source import has_melody, model_writes_chords

    if selection.chords and model.writes_chords and selection.attributes == "all":
        return selection, False
    wanted = selection.chords or (selection.attributes == "all" and model_writes_chords(score, selection, categories))
    if wanted and has_melody(score, categories) and available():
        return replace(selection, chords=False), True
    if selection.chords:
        raise RepresentationError(
            "this model was not trained to write chords (train with chord_masks > 0) and the song has no melody "
            "to harmonise; enter the chords instead")
    return selection, False


def harmonised(score: Score, grid: Any, categories: tuple[str, ...], selection: Selection) -> tuple[Score, list[ChordLabel]]:
    """(``score`` with the selected bars' chords chosen by the harmoniser, the chords to condition on).

    The harmoniser decodes the whole melody (``categories``' MELODY tracks) with the chords around the
    region clamped, so the region's chords lead from and into them: the song's own chords, or where it has
    none, what the chord lane shows for it (``chord_source.suggested_chords``: detected from a band, or
    the harmoniser's for a melody alone). Outside the region the returned copy keeps those chords, as the
    network's chord writing does (``apply._region_chords``), so the lane does not change there. ``infill``
    returns that copy's chords only when the chord lane was selected; a band added to a bare melody is
    conditioned on them but leaves the song's chords (and so its file's markers) as they were.
    """
    from engine.analysis.chord_edit import chords_in, replace_chords
    from engine.analysis.harmoniser import harmonise
    from engine.representation.chord_source import melody_part, suggested_chords

    context = list(score.chords) or suggested_chords(score, grid)[0]
    whole = harmonise(melody_part(score, categories), grid, 0, grid.n_bars, context_chords=context or None)
    t0, t1 = (int(grid.position_to_tick(int(grid.bar_starts[b]))) for b in (selection.start_bar, selection.end_bar))
    out = score.copy()
    out.chords = replace_chords(context, t0, t1, chords_in(whole, t0, t1))
    return out, out.chords


def _conflict(a: Selection, a_window: tuple[int, int], b: Selection, b_window: tuple[int, int]) -> bool:
    """Parts that must not be sampled together: one's window reads bars the other regenerates."""
    return (a_window[0] < b.end_bar and b.start_bar < a_window[1]) or (b_window[0] < a.end_bar and a.start_bar < b_window[1])


def schedule_parts(parts: list[Selection], windows: list[tuple[int, int]], adds_tracks: bool = False) -> list[list[int]]:
    """Rounds of part indices to sample together: a part joins the first round holding no part it
    conflicts with (``_conflict``), so parts 0, 2, 4 ... of a long selection run in one batch and 1, 3 ...
    in the next, each seeing generated music on both sides. With ``adds_tracks`` part 0 creates the new
    tracks, so it runs alone and first. Windows are grid bars [first, end) per part."""
    rounds: list[list[int]] = []
    for k in range(len(parts)):
        if adds_tracks and k == 0:
            rounds.append([0])
            continue
        for r in rounds[1 if adds_tracks else 0:]:
            if not any(_conflict(parts[k], windows[k], parts[j], windows[j]) for j in r):
                r.append(k)
                break
        else:
            rounds.append([k])
    return rounds


def infill(
    score: Score,
    selection: Selection,
    prompts: Prompts | None = None,
    n_variations: int = 1,
    guidance: float = 1.5,
    steps: int = 10,
    seed: int = 0,
    temperature: float = 1.0,
    model: InfillModel | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    thin_context: bool | None = None,
    chord_temperature: float | None = None,
) -> list[Score]:
    """``n_variations`` new versions of ``score`` in which only ``selection`` was regenerated.

    Deterministic for a given ``seed`` (and device). ``progress(done, total)`` is called after every
    model step; ``cancel()`` returning True stops the work and raises ``engine.diffusion.SamplingCancelled``.
    The input score is never modified. ``thin_context`` (None: as the model was trained) lets the window
    reach further into the regenerated parts by dropping the other parts of far bars (masks.build_problem).
    ``chord_temperature``: the sampling temperature of the chords-only first stage when the model writes a
    region's chords before its parts (None: CHORD_TEMPERATURE); the parts use ``temperature``.

    Per request, not per part: the beat grid, track categories, chords and slot counts are computed
    once; a selection longer than a window is split into parts, parts whose windows do not read each
    other's bars are sampled in one batch (``schedule_parts``), and each later part encodes only the
    bars its window can reach (``masks.context_bars``) of the song as the earlier parts left it.
    """
    import torch

    from engine.analysis.grid import beat_grid
    from engine.diffusion.batch import (
        collate,
        split_tokens,
        with_density,
        with_pitch_limits,
        with_pitch_moves,
        with_pitch_targets,
        with_seeds,
    )
    from engine.model.density import guided_factor, tempo_factor
    from engine.representation.apply import apply_infill
    from engine.representation.chord_source import has_harmony
    from engine.representation.encode import encode, score_categories, score_chords
    from engine.representation.melody_scale import move_targets, scale_targets
    from engine.representation.part_limits import pitch_allowed
    from engine.representation.repeats import region_seeds, seed_register, seed_rows, seed_slot_floor

    if n_variations < 1:
        raise ValueError("n_variations must be at least 1")
    if steps < 1:
        raise ValueError("steps must be at least 1")
    prompts = prompts or Prompts()
    model = model or load_default_model()
    thin = model.uses_thin_context(thin_context)
    grid = beat_grid(score)
    categories = score_categories(score)
    asked = selection.chords
    selection, harmonise = _chord_choice(score, categories, selection, model)
    harmony: list[ChordLabel] | None = None
    if harmonise:
        chosen, harmony = harmonised(score, grid, categories, selection)
        if asked:  # the chord lane was selected: the region's new chords are part of the result
            score = chosen
    # A bare melody (no chords, no harmony part) whose chords the model writes: the chords around the
    # region stay unknown rather than the detector's guesses from the melody alone, as in training
    # (training_masks.harmonise_problem).
    bare = selection.chords and not score.chords and not has_harmony(score, categories)
    chords = [] if bare else harmony if harmony is not None else score_chords(score, grid)
    encoding = encode(score, grid=grid, categories=categories, chords=chords)
    if selection.end_bar > encoding.end_bar or selection.start_bar < 0 or selection.start_bar >= selection.end_bar:
        raise RepresentationError(f"bars {selection.start_bar + 1}-{selection.end_bar} are outside the song's {encoding.end_bar} bars")
    limits = prompts.limits
    novelty = prompts.novelty
    if prompts.tempo_class is not None and TEMPO_CLASSES.index(prompts.tempo_class) != encoding.tempo:
        novelty = 1.0  # a new tempo feel is not the old part repeated
    seeding = novelty < 1.0 and model.diffusion.starts_from_seeds
    conditioned = model.config.density_condition and prompts.part_density
    # What the prompts ask of each part's notes: the density prompt x, for a model told part densities,
    # the tempo class's factor. The slots follow it both ways: the network reads a part's density from its
    # slot count above all (training gives the true notes + 0-50 % empty slots, and the bars around show
    # the same density), so left with the usual slots it played as many notes under presto as under largo
    # whatever density it was told (model card, "Stage 8").
    # Guidance scales the tempo class's pull on that plan as it scales the network's (guided_factor).
    tempo_scale = (guided_factor(tempo_factor(model.tempo_density, TEMPO_CLASSES[encoding.tempo], prompts.tempo_class),
                                 guidance if prompts.guide_density else 1.0)
                   if conditioned else 1.0)
    density_scale = prompts.density * tempo_scale
    programs = [int(t.program) for t in score.tracks] + [DEFAULT_PROGRAM[c] for c in selection.new_tracks]
    # Chords first, then the parts: when the model writes the region's chords with new or regenerated
    # parts, it samples them alone (conditioned on the melody and the chords around), and the parts are
    # then generated on those chords, as on chords the user entered.
    stages = [selection]
    if selection.chords and selection.attributes == "all" and (selection.tracks != () or selection.new_tracks):
        stages = [replace(selection, tracks=(), new_tracks=(), locked_notes=frozenset()), replace(selection, chords=False)]
    plans = []
    for stage in stages:
        slots = _slots(encoding, stage, density_scale)
        # The repeats of the whole stage, found once on the whole song (parts sampled on windowed encodings
        # each found their own, and a split region's repeat changed place between parts); each bar gets the
        # slots its repeat's notes need (repeats.seed_slot_floor). A stage after the chords stage re-finds
        # its repeats on the new chords below, and keeps these slots.
        found = region_seeds(encoding, stage) if seeding else None
        floor = seed_slot_floor(found, density_scale) if found is not None else None
        parts = split_selection(encoding, stage, slots, model.max_rows, slot_floor=floor)
        reach = [context_bars(encoding, part, model.max_rows, thin) for part in parts]
        plans.append((stage, slots, found, floor, parts, reach, schedule_parts(parts, reach, bool(stage.new_tracks))))
    all_categories = tuple(categories) + tuple(selection.new_tracks)
    total = steps * sum(len(plan[-1]) for plan in plans)
    device = model.device.torch_device()
    generator = torch.Generator(device=device).manual_seed(int(seed))
    results = [score.copy() for _ in range(n_variations)]

    def encode_result(v: int, bars: tuple[int, int] | None = None) -> Any:
        cats = all_categories[: len(results[v].tracks)]
        return encode(results[v], bars, grid=grid, categories=cats, chords=harmony if harmony is not None else results[v].chords or chords)
    done_rounds = 0
    for n_stage, (stage, slots, found, floor, parts, reach, rounds) in enumerate(plans):
        # each variation's whole song as the stages before left it: the first round samples on it
        wholes = [encoding] * n_variations if n_stage == 0 else [encode_result(v) for v in range(n_variations)]
        stage_seeds = [found if n_stage == 0 else region_seeds(whole, stage) for whole in wholes] if seeding else [None] * n_variations
        for r, members in enumerate(rounds):
            problems = []
            limit_masks = []
            seeds = []
            densities = []
            targets = []
            moves = []
            for k in members:
                part = parts[k]
                for v in range(n_variations):
                    enc = wholes[v] if r == 0 else encode_result(v, reach[k])
                    problem = build_infill_problem(enc, part, slots, model.max_rows, thin, slot_floor=floor)
                    problem.example = _with_prompt(problem.example, prompts, selection.new_tracks)
                    problems.append(problem)
                    limit = pitch_allowed(enc, problem, limits, programs) if stage.attributes != "rhythm" else None
                    seed = seed_rows(enc, problem, density=density_scale, seeds=stage_seeds[v]) if seeding else None
                    if seed is not None:  # generated rows stay in the register of the repeat they start from
                        limit = seed_register(seed, problem, limit)
                    limit_masks.append(limit)
                    seeds.append(seed)
                    densities.append(part_densities(enc, problem, density_scale) if conditioned else None)
                    fit = prompts.melody_scale and stage.attributes != "rhythm"
                    targets.append(scale_targets(enc, problem) if fit else None)
                    moves.append(move_targets(enc, problem) if fit else None)
            batch = with_pitch_limits(collate([p.example for p in problems], model.max_rows), limit_masks)
            batch = with_pitch_moves(with_pitch_targets(with_density(with_seeds(batch, seeds), densities), targets), moves).to(device)

            def step_progress(done: int, _total: int, offset: int = (done_rounds + r) * steps) -> None:
                if progress is not None:
                    progress(offset + done, total)

            with model.autocast():
                chords_only = len(plans) > 1 and n_stage == 0
                tokens = model.diffusion.sample(
                    model.model, batch, steps=steps, guidance=guidance,
                    temperature=(CHORD_TEMPERATURE if chord_temperature is None else chord_temperature) if chords_only else temperature,
                    generator=generator, progress=step_progress, cancel=cancel, novelty=novelty,
                )
            for i, (problem, rows) in enumerate(zip(problems, split_tokens(tokens, batch), strict=True)):
                v = i % n_variations  # problems are [part a: v0 v1 ..., part b: v0 v1 ...]
                results[v] = apply_infill(results[v], problem, rows)
        done_rounds += len(rounds)
    region, around = _region_ticks(grid, selection)
    if selection.attributes != "rhythm" and limits.line is not False:
        lines = _line_parts(score, selection, region, around, categories, limits.line)
        results = [_one_line(out, lines, region, categories) for out in results]
    if selection.attributes != "rhythm" and limits.register != "off":  # spikes: a register matter
        results = [_fold_spikes(out, selection, region, around, all_categories) for out in results]
    return results


def _region_ticks(grid: Any, selection: Selection) -> tuple[tuple[int, int], tuple[int, int]]:
    """Ticks of the selected bars and of the bars within CONTEXT_BARS of them."""
    region = tuple(int(grid.position_to_tick(int(grid.bar_starts[b]))) for b in (selection.start_bar, selection.end_bar))
    near = (max(selection.start_bar - CONTEXT_BARS, 0), min(selection.end_bar + CONTEXT_BARS, grid.n_bars))
    around = tuple(int(grid.position_to_tick(int(grid.bar_starts[b]))) for b in near)
    return region, around  # type: ignore[return-value]


def _fold_spikes(out: Score, selection: Selection, region: tuple[int, int], around: tuple[int, int],
                 categories: Any) -> Score:
    """``out`` with the region's octave spikes folded (part_limits.fold_spikes) in every generated pitched
    track, within the wider of its register around the region and its instrument's usual range."""
    from engine.analysis.ranges import CONTEXT_MIN_NOTES
    from engine.representation.part_limits import fold_spikes, register_range

    n_old = len(out.tracks) - len(selection.new_tracks)
    tracks = list(range(n_old)) if selection.tracks is None else list(selection.tracks)
    tracks += list(range(n_old, len(out.tracks)))
    for t in tracks:
        track = out.tracks[t]
        if track.is_drum or categories[t] == "DRUMS":
            continue
        ctx = np.asarray([n.pitch for n in track.notes if around[0] <= n.start < around[1] and not region[0] <= n.start < region[1]])
        limit = register_range(categories[t], int(track.program), ctx, "loose", min_notes=CONTEXT_MIN_NOTES)
        locked = frozenset((s, p) for tr, s, p in selection.locked_notes if tr == t)
        notes, moved = fold_spikes(track.notes, *region, around, limit, locked)
        if moved:
            out.tracks[t] = replace(track, notes=notes)
    return out


def _line_parts(score: Score, selection: Selection, region: tuple[int, int], around: tuple[int, int], categories: Any,
                line: bool | None) -> list[int]:
    """Selected pitched tracks to keep one line: all of them (``line`` True), or those that are a line in
    the bars ``around`` the region (ticks; ``analysis.lines.line_tracks``: the evaluation's definition and
    context). Once per request."""
    from engine.analysis.lines import line_tracks

    t0, t1 = region
    tracks = range(len(score.tracks)) if selection.tracks is None else selection.tracks
    out = []
    for t in tracks:
        if score.tracks[t].is_drum or categories[t] == "DRUMS":
            continue
        ctx = [n for n in score.tracks[t].notes if not t0 <= n.start < t1 and around[0] <= n.start < around[1]]
        starts = np.asarray([n.start for n in ctx], dtype=np.int64)
        lengths = np.asarray([n.end - n.start for n in ctx], dtype=np.int64)
        if line or line_tracks(starts, lengths, np.zeros(len(ctx), dtype=np.int64)):
            out.append(t)
    return out


def _one_line(out: Score, tracks: list[int], region: tuple[int, int], categories: Any) -> Score:
    """``out`` with the region's notes of ``tracks`` made one line (part_limits.line_up_region)."""
    from engine.representation.part_limits import line_up_region

    for t in tracks:
        notes, _dropped = line_up_region(out.tracks[t].notes, *region, keep_high=categories[t] != "BASS")
        if notes != out.tracks[t].notes:
            out.tracks[t] = replace(out.tracks[t], notes=notes)
    return out
