"""ModelConfig: the one source of sizes for the network and the diffusion process.

Everything that shapes a tensor or a parameter lives here, so a checkpoint's ``config.json`` rebuilds
exactly the network that wrote it. Presets: ``tiny`` for tests, ``small`` for CPU inference (the
default model of the editor), ``base`` for GPU training at the seed's BERT-base sizes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

DIFFUSION_KINDS = ("absorbing", "embedding")
COMBINE_MODES = ("concat", "sum")


@dataclass(frozen=True)
class ModelConfig:
    # Transformer body (one BERT layer per n_layers; heads split in three long-axis groups).
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    n_full_heads: int = 2  # attend over every valid row
    n_track_heads: int = 1  # attend only within the row's track (track_id)
    n_bar_heads: int = 1  # attend only within the row's bar and its neighbours
    ffn: int = 1024
    dropout: float = 0.1
    # Cells: each of the 4 columns is a vector of cell_embed_dim; rows combine them by "concat" or "sum".
    cell_embed_dim: int = 64
    combine: str = "concat"
    # Pitch-class features at the input and a pitch-class term in the pitch head (pitch_classes.py). Off by
    # default so configs written before it existed rebuild the same network.
    pitch_classes: bool = False
    # Each row also gets the pitch classes of the chord sounding at its onset (pitch_classes.sounding_chord).
    chord_context: bool = False
    # Each row also gets the onsets of its track in the bars around it, and the onset head may copy them
    # (rhythm.neighbour_onsets). Zero-initialised, so a model trained without it can go on training with it.
    rhythm_context: bool = False
    # Each row also gets the same-rank row of its track 1, 2 and 4 bars away (aligned.aligned_rows), and the
    # onset, pitch and duration heads may copy it. Zero-initialised like rhythm_context.
    copy_context: bool = False
    # Each row of a part being generated also gets that part's notes per bar (density.py): the truth in
    # training, dropped at random; at sampling the part's own density around the region scaled by the
    # prompts (tempo class, density). Zero-initialised like copy_context.
    density_condition: bool = False
    max_rows: int = 256
    max_bars: int = 64
    # Diffusion process ("absorbing" = masked discrete diffusion, "embedding" = DiffuSeq-style Gaussian).
    diffusion: str = "absorbing"
    T: int = 2000  # discrete steps of the embedding diffusion's VP schedule
    schedule: str = "sqrt"
    cond_dropout: float = 0.1  # probability of dropping the prompt in training (classifier-free guidance)

    def __post_init__(self) -> None:
        if self.n_full_heads + self.n_track_heads + self.n_bar_heads != self.n_heads:
            raise ValueError("n_full_heads + n_track_heads + n_bar_heads must equal n_heads")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of n_heads {self.n_heads}")
        if self.combine not in COMBINE_MODES:
            raise ValueError(f"combine must be one of {COMBINE_MODES}, got {self.combine!r}")
        if self.diffusion not in DIFFUSION_KINDS:
            raise ValueError(f"diffusion must be one of {DIFFUSION_KINDS}, got {self.diffusion!r}")
        if self.schedule != "sqrt":
            raise ValueError(f"only the 'sqrt' schedule is implemented, got {self.schedule!r}")

    # -- presets ------------------------------------------------------------------------------------------
    @classmethod
    def tiny(cls, **overrides: object) -> ModelConfig:
        """For tests: trains in seconds on one CPU core."""
        sizes = dict(d_model=64, n_layers=2, n_heads=4, n_full_heads=2, n_track_heads=1, n_bar_heads=1,
                     ffn=256, dropout=0.0, cell_embed_dim=16)
        return cls(**{**sizes, **overrides})  # type: ignore[arg-type]

    @classmethod
    def small(cls, **overrides: object) -> ModelConfig:
        """The CPU default (~3.5M parameters)."""
        return cls(**overrides)  # type: ignore[arg-type]

    @classmethod
    def base(cls, **overrides: object) -> ModelConfig:
        """BERT-base sizes as in the seed (12 x 768, 6 full + 3 track + 3 bar heads) for GPU training."""
        sizes = dict(d_model=768, n_layers=12, n_heads=12, n_full_heads=6, n_track_heads=3, n_bar_heads=3,
                     ffn=3072, cell_embed_dim=128)
        return cls(**{**sizes, **overrides})  # type: ignore[arg-type]

    # -- serialisation ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> ModelConfig:
        """Rebuild from a dict; unknown keys are an error (they mean another engine version wrote it)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model config fields: {', '.join(unknown)}")
        return cls(**d)  # type: ignore[arg-type]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        return cls.from_dict(json.loads(text))
