"""One model-sized piece of a song, ready for the model: the contract between representation and model.

The representation builds these (from a Score window plus a mask spec); the model and the diffusion code
consume them without knowing anything about MIDI. Arrays are numpy so data loading stays torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.representation.vocab import N_CATEGORIES, N_COLUMNS, TEMPO_NULL


@dataclass
class SAExample:
    tokens: np.ndarray  # int64 [R, 4] column-local ids; in generated cells the target (PAD rows = "no note")
    given: np.ndarray  # bool [R, 4]: True = condition (kept as is), False = to be generated
    track_id: np.ndarray  # int64 [R]: window-local track slot, 0 = chord/bar rows, 1.. = tracks
    bar_index: np.ndarray  # int64 [R]: bar number inside the window, from 0
    tempo: int = TEMPO_NULL  # index into vocab.TEMPO_TOKENS (TEMPO_NULL = unknown / dropped)
    instruments: np.ndarray | None = None  # bool [18] prompt: categories wanted (None = no prompt)

    def __post_init__(self) -> None:
        r = self.tokens.shape[0]
        if self.tokens.shape != (r, N_COLUMNS) or self.given.shape != (r, N_COLUMNS):
            raise ValueError(f"tokens/given must be [rows, {N_COLUMNS}], got {self.tokens.shape} and {self.given.shape}")
        if self.track_id.shape != (r,) or self.bar_index.shape != (r,):
            raise ValueError("track_id and bar_index need one entry per row")
        if self.instruments is not None and self.instruments.shape != (N_CATEGORIES,):
            raise ValueError(f"instruments must be a multi-hot of {N_CATEGORIES} categories")

    @property
    def n_rows(self) -> int:
        return int(self.tokens.shape[0])
