"""The one function the editor and the command line call: regenerate a selected region of a song.

``infill`` turns the selection into mask specs (``representation.masks``), samples them with the
model's diffusion process and writes the result back (``representation.apply``), so everything outside
the selected bars x tracks is left exactly as it was. Selections longer than the model's window are done
in consecutive parts, each taking the bars generated before it as context. torch is imported lazily: the
editor imports this module at start-up and loads the model in the background.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.analysis.categories import CATEGORY_INDEX
from engine.analysis.tempo import TEMPO_CLASSES
from engine.errors import CheckpointError, RepresentationError
from engine.representation.masks import (
    MAX_SLOTS,
    MIN_SLOTS,
    Selection,
    build_infill_problem,
    estimate_slots,
    resolve_selection,
    split_selection,
)
from engine.score import Score

if TYPE_CHECKING:
    from engine.diffusion.base import Diffusion
    from engine.model.config import ModelConfig
    from engine.model.network import SAModel

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL_DIR = REPO_ROOT / "resources" / "models" / "default"

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]

__all__ = ["InfillModel", "Prompts", "Selection", "infill", "load_default_model", "load_model"]


@dataclass(frozen=True)
class Prompts:
    """What the musician asks for in the region, besides the selection itself."""

    tempo_class: str | None = None  # one of TEMPO_CLASSES; None = the song's own
    instruments: tuple[str, ...] = ()  # categories wanted in the region; () = the song's instruments
    density: float = 1.0  # x the note slots estimated from the context (more or fewer notes)

    def __post_init__(self) -> None:
        if self.tempo_class is not None and self.tempo_class not in TEMPO_CLASSES:
            raise ValueError(f"unknown tempo class {self.tempo_class!r}; choose one of {', '.join(TEMPO_CLASSES)}")
        for c in self.instruments:
            if c not in CATEGORY_INDEX:
                raise ValueError(f"unknown instrument category {c!r}")
        if not 0.1 <= self.density <= 4.0:
            raise ValueError(f"density must be between 0.1 and 4, got {self.density}")


@dataclass
class InfillModel:
    """A loaded network with the diffusion process it was trained for."""

    model: SAModel
    config: ModelConfig
    diffusion: Diffusion
    source: str = ""
    thin_context: bool = False  # trained with thinned far context: infill with it too (masks.build_problem)
    writes_chords: bool = False  # trained with chord masks: can sample a region's chords (Selection.chords)

    @property
    def max_rows(self) -> int:
        return int(self.config.max_rows)

    def uses_thin_context(self, asked: bool | None) -> bool:
        """The layout ``infill`` builds for ``asked``: None means as this model was trained."""
        return self.thin_context if asked is None else bool(asked)


def load_model(directory: str | os.PathLike) -> InfillModel:
    """Load a checkpoint folder (model.safetensors + config.json). Raises CheckpointError."""
    from engine.diffusion import make_diffusion
    from engine.model.checkpoint import load_checkpoint, read_checkpoint_info

    path = Path(directory)
    if not (path / "config.json").is_file():
        raise CheckpointError(f"no model found in {path} (expected config.json and model.safetensors)")
    model, cfg = load_checkpoint(path)
    model.eval()
    train = (read_checkpoint_info(path).get("metadata") or {}).get("train_config") or {}  # type: ignore[union-attr]
    thin = float(train.get("thin_context", 0.0)) > 0  # the training run thinned far context: infill so too
    writes_chords = float(train.get("chord_masks", 0.0)) > 0
    return InfillModel(model, cfg, make_diffusion(cfg), str(path), thin, writes_chords)


def load_default_model() -> InfillModel:
    """The bundled model (``resources/models/default``), or $POPDIFFUSEQ_MODEL if set."""
    return load_model(os.environ.get("POPDIFFUSEQ_MODEL", DEFAULT_MODEL_DIR))


def _slots(encoding: Any, selection: Selection, density: float) -> dict[int, int] | None:
    """Slots per bar for each regenerated track: the context estimate scaled by the density prompt."""
    if selection.attributes != "all":
        return None
    tracks, categories = resolve_selection(encoding, selection)
    return {
        t: int(np.clip(round(estimate_slots(encoding, t, selection, categories[t]) * density), MIN_SLOTS, MAX_SLOTS))
        for t in tracks
    }


def _with_prompt(example: Any, prompts: Prompts, extra: tuple[str, ...]) -> Any:
    tempo = TEMPO_CLASSES.index(prompts.tempo_class) if prompts.tempo_class else example.tempo
    instruments = example.instruments
    wanted = prompts.instruments or extra
    if wanted:
        instruments = np.array(example.instruments if example.instruments is not None else np.zeros(len(CATEGORY_INDEX), bool))
        for c in wanted:
            instruments[CATEGORY_INDEX[c]] = True
    return replace(example, tempo=tempo, instruments=instruments)


def _chord_choice(score: Score, encoding: Any, selection: Selection, model: InfillModel) -> Selection:
    """The selection with ``chords`` set where the model should write the region's chords
    (``chord_source.model_writes_chords``); a model not trained for it keeps the song's chords."""
    from engine.representation.chord_source import model_writes_chords

    if selection.chords and not model.writes_chords:
        raise RepresentationError(
            "this model was not trained to write chords (train with chord_masks > 0); enter the chords instead")
    if selection.attributes == "all" and model.writes_chords and model_writes_chords(score, selection, encoding.categories):
        return replace(selection, chords=True)
    return selection


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
) -> list[Score]:
    """``n_variations`` new versions of ``score`` in which only ``selection`` was regenerated.

    Deterministic for a given ``seed``. ``progress(done, total)`` is called after every model step;
    ``cancel()`` returning True stops the work and raises ``engine.diffusion.SamplingCancelled``.
    The input score is never modified. ``thin_context`` (None: as the model was trained) lets the window
    reach further into the regenerated parts by dropping the other parts of far bars (masks.build_problem).
    """
    import torch

    from engine.diffusion.batch import collate, split_tokens
    from engine.representation.apply import apply_infill
    from engine.representation.encode import encode

    if n_variations < 1:
        raise ValueError("n_variations must be at least 1")
    if steps < 1:
        raise ValueError("steps must be at least 1")
    prompts = prompts or Prompts()
    model = model or load_default_model()
    thin = model.uses_thin_context(thin_context)
    encoding = encode(score)
    if selection.end_bar > encoding.end_bar or selection.start_bar < 0 or selection.start_bar >= selection.end_bar:
        raise RepresentationError(f"bars {selection.start_bar + 1}-{selection.end_bar} are outside the song's {encoding.end_bar} bars")
    selection = _chord_choice(score, encoding, selection, model)
    parts = split_selection(encoding, selection, _slots(encoding, selection, prompts.density), model.max_rows)
    total = steps * len(parts)
    generator = torch.Generator().manual_seed(int(seed))
    results = [score.copy() for _ in range(n_variations)]
    for k, part in enumerate(parts):
        problems = []
        for v in range(n_variations):
            enc = encoding if k == 0 else encode(results[v])
            problem = build_infill_problem(enc, part, _slots(enc, part, prompts.density), model.max_rows, thin)
            problem.example = _with_prompt(problem.example, prompts, selection.new_tracks)
            problems.append(problem)
        batch = collate([p.example for p in problems], model.max_rows)

        def step_progress(done: int, _total: int, offset: int = k * steps) -> None:
            if progress is not None:
                progress(offset + done, total)

        tokens = model.diffusion.sample(
            model.model, batch, steps=steps, guidance=guidance, temperature=temperature,
            generator=generator, progress=step_progress, cancel=cancel,
        )
        for v, (problem, rows) in enumerate(zip(problems, split_tokens(tokens, batch), strict=True)):
            results[v] = apply_infill(results[v], problem, rows)
    return results
