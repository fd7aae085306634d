"""Part density: how many notes a regenerated part plays per bar, as a condition the network learns.

Why: the tempo prompt did not act (model card, "Prompt adherence"). In training the prompt always agrees
with the song around the region, and that context already tells the network how busy each part is, so it
learnt to read the context and ignore the tempo class; classifier-free guidance then had nothing to
amplify. A condition carries information into sampling only if the context does not already hold it.
The number of notes the regenerated part plays is such a condition: in training it is the truth of the
masked part (and dropped at random, so it stays optional); at sampling it is taken from the part's own
bars around the region and scaled by what the prompts ask for, the tempo class among them
(``tempo_factor``: how much busier parts of the asked class are than parts of the song's class in the
training data, per beat). Composer's Assistant (Malandro 2023) conditions its infilling the same way,
on per-track note density and polyphony classes.

The condition is one bucket per row (``BUCKET_EDGES``: notes per bar in which the part plays, on a
roughly logarithmic scale), given to every row of a part being generated; 0 = unknown (rows of other
parts, dropped conditions, and the unconditional half of classifier-free guidance).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from engine.representation.vocab import CHORD_ROW, COL_INSTRUMENT, COL_ONSET, FIRST_POS

# Upper edges of the buckets 1..len(BUCKET_EDGES), in notes per bar the part plays in; the last bucket
# is everything above. A 4/4 bass on quarters plays 4, a piano in broken eighths 8-16, a busy drum kit 20-40.
BUCKET_EDGES: tuple[float, ...] = (1.5, 2.5, 3.5, 4.5, 6.0, 8.0, 10.0, 12.5, 16.0, 20.0, 25.0, 32.0, 40.0)
N_BUCKETS = len(BUCKET_EDGES) + 2  # 0 = unknown, 1 .. len + 1
UNKNOWN = 0


def bucket(notes_per_bar: float) -> int:
    """The bucket (1 .. N_BUCKETS - 1) of a density in notes per playing bar; UNKNOWN for NaN or <= 0."""
    if not notes_per_bar > 0 or math.isnan(notes_per_bar):
        return UNKNOWN
    return 1 + int(np.searchsorted(np.asarray(BUCKET_EDGES), notes_per_bar, side="left"))


def truth_density(tokens: torch.Tensor, generate: torch.Tensor, track_id: torch.Tensor, bar_index: torch.Tensor,
                  valid: torch.Tensor) -> torch.Tensor:
    """long [B, R]: for each row of a part with generated rows, the bucket of that part's notes per bar over
    the bars in which its generated rows hold a note (the training target's density); UNKNOWN elsewhere
    and for a part whose generated rows are all empty slots.

    tokens [B, R, 4] the truth (PAD onset = empty slot), generate [B, R, 4] bool, track_id and bar_index
    [B, R] long, valid [B, R] bool."""
    B, R = track_id.shape
    dev = tokens.device
    gen_row = valid & generate[..., 1:].any(-1) & (tokens[..., COL_INSTRUMENT] != CHORD_ROW) & (track_id > 0)
    note = gen_row & (tokens[..., COL_ONSET] >= FIRST_POS)
    n_tracks = int(track_id.max()) + 1 if R else 1
    n_bars = int(bar_index.max()) + 1 if R else 1
    flat = track_id.clamp(min=0) * n_bars + bar_index.clamp(min=0)  # [B, R] (track, bar) cell
    per_cell = torch.zeros(B, n_tracks * n_bars, device=dev).scatter_add_(1, flat, note.float())
    per_cell = per_cell.view(B, n_tracks, n_bars)
    notes = per_cell.sum(-1)  # [B, T]
    bars = (per_cell > 0).sum(-1).clamp(min=1)
    density = notes / bars
    edges = torch.tensor(BUCKET_EDGES, device=dev)
    buckets = torch.where(notes > 0, 1 + torch.bucketize(density, edges, right=False), torch.zeros_like(notes).long())
    part_bucket = buckets.gather(1, track_id.clamp(min=0))  # [B, R]
    has_gen = torch.zeros(B, n_tracks, dtype=torch.bool, device=dev).scatter_(1, track_id.clamp(min=0), gen_row)
    return torch.where(has_gen.gather(1, track_id.clamp(min=0)) & (track_id > 0), part_bucket, torch.zeros_like(part_bucket))


def drop_density(density: torch.Tensor, p: float, dropped_prompt: torch.Tensor | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Training side: each example loses its density condition with probability ``p``, and always where its
    prompt was dropped (``dropped_prompt`` [B] bool), so the unconditional half of guidance is seen."""
    drop = torch.rand(density.shape[0], generator=generator, device=density.device) < p
    if dropped_prompt is not None:
        drop = drop | dropped_prompt
    return density.masked_fill(drop[:, None], UNKNOWN)


def tempo_factor(table: Mapping[str, float] | None, song_class: str, asked_class: str | None) -> float:
    """How many notes per beat a part plays under ``asked_class`` relative to ``song_class``: the ratio of
    the training data's mean notes per beat of parts in songs of each class (``table``, written next to
    the model as ``tempo_density.json`` from ``evaluate.prompts.profile_store``). 1 when nothing is
    asked, the classes agree, or the table lacks one of them. Slow songs subdivide more, so presto parts
    play fewer notes per beat than largo ones (about 0.5x in POP909 + MMA + band-freedoom)."""
    if table is None or asked_class is None or asked_class == song_class:
        return 1.0
    a, s = table.get(asked_class), table.get(song_class)
    if not a or not s or math.isnan(a) or math.isnan(s):
        return 1.0
    return float(a) / float(s)


def guided_factor(factor: float, guidance: float) -> float:
    """The density factor a prompt asks for under classifier-free guidance ``guidance`` (w): ``factor ** w``.

    Why: the sampler, not the network, sets how many note slots a part gets (``infill``'s slot plan), so
    guidance mixing the network's logits cannot move a part's density beyond that plan, and a tempo prompt
    read the same at guidance 1 and 3 (model card, "After stage 8"). The plan is made part of the guided
    model instead. Guidance samples from p(x | c)^w p(x)^(1 - w) (Ho & Salimans 2022, "Classifier-Free
    Diffusion Guidance"); with the density modelled as log-normal of the same spread with and without the
    prompt, centred on log d_c and log d_u, that product is again log-normal, centred on
    log d_u + w (log d_c - log d_u). The unconditional plan is the context's density (factor 1), so the
    guided plan is the context's density x factor^w: w = 0 ignores the prompt, 1 follows it as trained,
    and a prompt that agrees with the song (factor 1) is left alone at every w.

    factor: the prompt's density ratio (> 0; e.g. ``tempo_factor``); guidance: w >= 0. Returns a ratio > 0;
    1 for a factor that is not a positive number."""
    if not factor > 0 or math.isnan(factor) or math.isinf(factor):
        return 1.0
    return float(factor) ** max(float(guidance), 0.0)


def context_density(bar_of_row: np.ndarray, track_of_row: np.ndarray, track: int, start_bar: int, end_bar: int,
                    near: int = 8) -> float:
    """Mean notes per bar of ``track`` over the bars in which it plays within ``near`` bars of the region
    [start_bar, end_bar) (outside it); over the whole song outside the region when it is silent there;
    NaN for a part that plays nowhere else (a new part). Arrays are the SA encoding's per-row bar and
    track (-1 for chord rows)."""
    outside = (track_of_row == track) & ((bar_of_row < start_bar) | (bar_of_row >= end_bar))
    nearby = outside & (bar_of_row >= start_bar - near) & (bar_of_row < end_bar + near)
    for rows in (nearby, outside):
        if rows.any():
            counts = np.bincount(bar_of_row[rows])
            counts = counts[counts > 0]
            return float(counts.mean())
    return float("nan")


TEMPO_DENSITY_FILE = "tempo_density.json"


def write_tempo_density(model_dir: str | os.PathLike, store) -> dict[str, float]:  # noqa: ANN001 (a SongStore)
    """Write ``tempo_density.json`` into a model folder: the mean notes per beat of the non-melody parts of
    the training songs of each tempo class (evaluate.prompts.profile_store), which ``tempo_factor`` reads.
    Returns the table (classes without a song are left out)."""
    from engine.evaluate.prompts import profile_store

    profile = profile_store(store)
    table = {c: round(v, 4) for c, (v, n) in profile.by_tempo.items() if n > 0 and not math.isnan(v)}
    counts = {c: n for c, (_v, n) in profile.by_tempo.items()}
    path = Path(model_dir) / TEMPO_DENSITY_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"notes_per_beat": table, "parts": counts,
                               "source": "mean notes per beat of non-melody parts, training split"}, indent=2))
    os.replace(tmp, path)
    return table


def read_tempo_density(model_dir: str | os.PathLike) -> dict[str, float] | None:
    """The table ``write_tempo_density`` wrote next to a model, or None when there is none."""
    path = Path(model_dir) / TEMPO_DENSITY_FILE
    try:
        return {str(k): float(v) for k, v in json.loads(path.read_text())["notes_per_beat"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
