"""SABatch: SAExamples padded into tensors, and sampled tokens split back into per-example arrays.

Training and sampling use the same collation, so the model sees the same layout in both. Padded rows are
PAD tokens, marked given (never generated) and not valid (never attended to by valid rows).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import torch

from engine.representation.example import SAExample
from engine.representation.vocab import MASK, N_CATEGORIES, N_COLUMNS, PAD, TEMPO_NULL


@dataclass
class SABatch:
    tokens: torch.Tensor  # long [B, R, 4]: conditions in given cells, targets (training) elsewhere
    given: torch.Tensor  # bool [B, R, 4]
    track_id: torch.Tensor  # long [B, R]
    bar_index: torch.Tensor  # long [B, R]
    valid: torch.Tensor  # bool [B, R]: False on padding rows
    tempo: torch.Tensor  # long [B]
    instruments: torch.Tensor  # float [B, 18] multi-hot; a zero row = no prompt
    # bool [B, R, V_pitch]: pitch-column classes each row may hold at sampling (part_limits: a part's
    # register, a drum kit); None = no limit beyond the row grammar. Never used in training.
    pitch_allowed: torch.Tensor | None = None
    # long [B, R, 4]: rows sampling may start from (repeats.seed_rows: the part's repeat), MASK where there
    # is none; the sampler keeps a random share of them (novelty). None = start from all MASK. Never
    # used in training.
    seed: torch.Tensor | None = None
    # long [B, R]: each row's part density bucket (engine.model.density) at sampling, 0 = unknown; None =
    # unknown everywhere. Training computes it from the targets (AbsorbingDiffusion.loss).
    density: torch.Tensor | None = None
    # float [B, R, 12]: the pitch-class distribution a regenerated melody's region is fitted to at sampling
    # (representation.melody_scale: the part's own around the region), zeros = none; None = none anywhere.
    # Never used in training.
    pitch_target: torch.Tensor | None = None
    # float [B, R, 144]: a regenerated melody's pitch-class moves around the region, [from, to] flattened
    # (representation.melody_scale.move_targets), zeros = none; None = none anywhere. Never used in training.
    pitch_moves: torch.Tensor | None = None
    # bool [B, R]: rows that must be notes (PAD ruled out) at sampling: a repeat's note the sampler
    # rewrites (reveal_seeds). None = none. Never used in training.
    must_play: torch.Tensor | None = None

    @property
    def generate(self) -> torch.Tensor:
        """bool [B, R, 4]: the cells the diffusion must produce."""
        return self.valid[..., None] & ~self.given

    @property
    def size(self) -> int:
        return int(self.tokens.shape[0])

    def to(self, device: torch.device | str) -> SABatch:
        return SABatch(**{f.name: None if getattr(self, f.name) is None else getattr(self, f.name).to(device)
                          for f in fields(self)})

    def repeat(self, n: int) -> SABatch:
        """Each example n times in a row (variations of one request), [a, a, b, b] for n = 2."""
        return SABatch(**{f.name: None if getattr(self, f.name) is None else getattr(self, f.name).repeat_interleave(n, dim=0)
                          for f in fields(self)})

    def without_prompt(self) -> SABatch:
        """The unconditional twin used by classifier-free guidance: tempo NULL, no instruments, densities
        unknown."""
        return replace(self, tempo=torch.full_like(self.tempo, TEMPO_NULL), instruments=torch.zeros_like(self.instruments),
                       density=None if self.density is None else torch.zeros_like(self.density))


def collate(examples: list[SAExample], max_rows: int) -> SABatch:
    """Pad the examples' rows to the longest one; refuse an example longer than the model's max_rows."""
    if not examples:
        raise ValueError("cannot collate an empty list of examples")
    R = max(ex.n_rows for ex in examples)
    if R > max_rows:
        raise ValueError(f"an example has {R} rows; the model takes at most {max_rows}")
    B = len(examples)
    tokens = np.full((B, R, N_COLUMNS), PAD, dtype=np.int64)
    given = np.ones((B, R, N_COLUMNS), dtype=bool)
    track = np.zeros((B, R), dtype=np.int64)
    bar = np.zeros((B, R), dtype=np.int64)
    valid = np.zeros((B, R), dtype=bool)
    instruments = np.zeros((B, N_CATEGORIES), dtype=np.float32)
    for i, ex in enumerate(examples):
        n = ex.n_rows
        tokens[i, :n], given[i, :n], track[i, :n], bar[i, :n], valid[i, :n] = (
            ex.tokens, ex.given, ex.track_id, ex.bar_index, True)
        if ex.instruments is not None:
            instruments[i] = ex.instruments
    return SABatch(
        tokens=torch.from_numpy(tokens),
        given=torch.from_numpy(given),
        track_id=torch.from_numpy(track),
        bar_index=torch.from_numpy(bar),
        valid=torch.from_numpy(valid),
        tempo=torch.tensor([ex.tempo for ex in examples], dtype=torch.long),
        instruments=torch.from_numpy(instruments),
    )


def known_cells(batch: SABatch) -> torch.Tensor:
    """Token ids [B, R, 4] of the given cells, MASK in the generated ones: what a model fed cell vectors
    (embedding diffusion) may know of the table as ids."""
    return batch.tokens.masked_fill(batch.generate, MASK)


def split_tokens(tokens: torch.Tensor, batch: SABatch) -> list[np.ndarray]:
    """Sampled tokens [B, R, 4] -> one int64 [n_rows, 4] array per example (padding rows dropped)."""
    rows = batch.valid.sum(dim=1).tolist()
    return [tokens[i, :n].cpu().numpy().astype(np.int64) for i, n in enumerate(rows)]


def _per_row(batch: SABatch, arrays: list[np.ndarray | None], width: int, fill: int | bool, dtype: type) -> torch.Tensor | None:
    """[B, R, width] on the batch's device: ``arrays[i]`` ([R_i, width] or None) in example i's rows,
    ``fill`` elsewhere; None when every array is None."""
    if all(a is None for a in arrays):
        return None
    B, R = batch.tokens.shape[:2]
    out = np.full((B, R, width), fill, dtype=dtype)
    for i, a in enumerate(arrays):
        if a is not None:
            out[i, : len(a)] = a
    return torch.from_numpy(out).to(batch.tokens.device)


def with_pitch_limits(batch: SABatch, allowed: list[np.ndarray | None]) -> SABatch:
    """``batch`` with per-row pitch limits: ``allowed[i]`` is bool [R_i, V_pitch] for example i (its rows as
    collated) or None for no limit. Padding rows allow everything."""
    from engine.representation.vocab import COL_PITCH, COLUMN_SIZES

    return replace(batch, pitch_allowed=_per_row(batch, allowed, COLUMN_SIZES[COL_PITCH], True, bool))


def with_pitch_targets(batch: SABatch, targets: list[np.ndarray | None]) -> SABatch:
    """``batch`` with per-row pitch-class targets: ``targets[i]`` is float [R_i, 12] for example i
    (representation.melody_scale.scale_targets) or None for none. Padding rows get zeros (no target)."""
    return replace(batch, pitch_target=_per_row(batch, targets, 12, 0.0, np.float32))


def with_pitch_moves(batch: SABatch, moves: list[np.ndarray | None]) -> SABatch:
    """``batch`` with per-row pitch-class moves: ``moves[i]`` is float [R_i, 144] for example i
    (representation.melody_scale.move_targets) or None for none. Padding rows get zeros (none)."""
    return replace(batch, pitch_moves=_per_row(batch, moves, 144, 0.0, np.float32))


def with_seeds(batch: SABatch, seeds: list[np.ndarray | None]) -> SABatch:
    """``batch`` with seed rows: ``seeds[i]`` is int64 [R_i, 4] for example i (repeats.seed_rows, MASK where
    there is no seed) or None. Padding rows get MASK."""
    return replace(batch, seed=_per_row(batch, seeds, N_COLUMNS, MASK, np.int64))


def with_density(batch: SABatch, density: list[np.ndarray | None]) -> SABatch:
    """``batch`` with per-row density buckets: ``density[i]`` is int64 [R_i] for example i (its rows as
    collated) or None. Padding rows get 0 (unknown)."""
    arrays = [None if d is None else np.asarray(d, dtype=np.int64)[:, None] for d in density]
    out = _per_row(batch, arrays, 1, 0, np.int64)
    return replace(batch, density=None if out is None else out[..., 0])
