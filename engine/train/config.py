"""TrainConfig: every knob of a training run in one JSON-able dataclass (``configs/train_*.json``).

The model's sizes stay in ``ModelConfig`` (a preset plus overrides); this file holds only how it is
trained, so a run folder's ``train_config.json`` reproduces the run and the checkpoint's ``config.json``
rebuilds the network.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from engine.model.config import DIFFUSION_KINDS, ModelConfig

PRESETS = ("tiny", "small", "base")
SCHEDULES = ("cosine", "linear", "constant")
AMP_MODES = ("auto", "bf16", "fp16", "off")


@dataclass(frozen=True)
class TrainConfig:
    model: str = "small"  # ModelConfig preset
    model_overrides: dict[str, object] = field(default_factory=dict)
    diffusion: str = "absorbing"
    max_rows: int = 256  # rows per example; also the model's max_rows
    batch_size: int = 16  # examples per micro-batch per process
    grad_accum: int = 1  # micro-batches per optimizer step (global batch = batch_size x grad_accum x world)
    steps: int = 10_000
    lr: float = 3e-4
    min_lr_ratio: float = 0.1  # the decay ends at lr x this
    warmup_steps: int = 500
    schedule: str = "cosine"
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    clip_grad: float = 1.0  # max global grad norm; 0 = off
    ema_decay: float = 0.999  # 0 = no EMA
    amp: str = "auto"  # auto: bf16 (or fp16) on CUDA, off on CPU
    seed: int = 0
    eval_every: int = 500
    checkpoint_every: int = 1000
    log_every: int = 10
    val_examples: int = 64  # fixed, seeded validation masks
    val_batch_size: int = 16
    num_workers: int = 0  # DataLoader worker processes
    deterministic: bool = True  # torch.use_deterministic_algorithms (warn-only)
    transpose: bool = False  # move each training example to a random key (validation examples stay put)
    # Share of training examples whose bars more than THIN_NEAR_BARS from the selection keep only the
    # selected tracks (and the chord rows), so one window reaches further back into the same parts
    # (masks.build_problem's thin_beyond). Validation examples are never thinned.
    thin_context: float = 0.0
    # Share of whole-part examples (the tracks, melody, accompaniment and drums strategies) whose selection
    # is a 1-8 bar span of the window instead of all of it, so the part is also heard before and after the
    # region, as in the editor and the evaluation's tasks (1 to training_masks.MAX_SPAN_BARS bars).
    part_spans: float = 0.0
    # Share of full ('all') selections that regenerate their bars' chord rows too (Selection.chords), so the
    # model can write the chords of a region (a band for a melody that has none to detect; reharmonise).
    chord_masks: float = 0.0
    # Share of examples that write a 1-16 bar span's chords from the melody alone, the song's harmony parts
    # left out (training_masks.harmonise_problem): the first stage of a band for a melody with no chords.
    harmonise: float = 0.0
    # Loss weight of chord rows' chord cells (absorbing diffusion only; 1 = every cell alike).
    chord_loss_weight: float = 1.0
    # Songs drawn with weight (songs of their tempo class) ** -tempo_balance, so rare tempo classes are
    # trained too (0 = every song once per epoch, as before; 1 = the classes equally often).
    tempo_balance: float = 0.0
    # Share of examples whose part-density condition is dropped (models with ``density_condition``;
    # engine.model.density), so sampling may leave it unknown. It is also dropped with the prompt.
    density_dropout: float = 0.3
    # Share of examples whose regenerated parts get up to 150 % extra empty slots instead of 50 %
    # (training_masks.LOOSE_EXTRA_SLOTS): the slot count then tells less of the density, and the density
    # condition more.
    loose_slots: float = 0.0
    # Share of full selections whose parts are thinned inside the region or around it
    # (training_masks.shift_density), so the truth's density differs from its context's and only the
    # density condition tells it: what makes the condition, and guidance on it, act.
    density_shift: float = 0.0
    # A checkpoint folder whose weights start the run (continued training with a new model option on);
    # "" = random initialisation. Resuming a run folder restores its own checkpoint instead.
    init_from: str = ""

    def __post_init__(self) -> None:
        if self.model not in PRESETS:
            raise ValueError(f"model must be one of {PRESETS}, got {self.model!r}")
        if self.diffusion not in DIFFUSION_KINDS:
            raise ValueError(f"diffusion must be one of {DIFFUSION_KINDS}, got {self.diffusion!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.amp not in AMP_MODES:
            raise ValueError(f"amp must be one of {AMP_MODES}, got {self.amp!r}")
        for name in ("batch_size", "grad_accum", "steps", "max_rows", "eval_every", "checkpoint_every", "log_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1")
        object.__setattr__(self, "betas", tuple(self.betas))

    def model_config(self) -> ModelConfig:
        overrides = {**self.model_overrides, "max_rows": self.max_rows, "diffusion": self.diffusion}
        return getattr(ModelConfig, self.model)(**overrides)

    # -- serialisation --------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown training config fields: {', '.join(unknown)}")
        return cls(**d)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def with_overrides(self, pairs: list[str]) -> TrainConfig:
        """Apply ``key=value`` strings (value parsed as JSON when it can be, e.g. lr=1e-4, amp=off)."""
        changes: dict[str, object] = {}
        for pair in pairs:
            key, sep, text = pair.partition("=")
            if not sep:
                raise ValueError(f"--set wants key=value, got {pair!r}")
            try:
                changes[key.strip()] = json.loads(text)
            except json.JSONDecodeError:
                changes[key.strip()] = text
        return TrainConfig.from_dict({**self.to_dict(), **changes}) if changes else self

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def updated(cfg: TrainConfig, **changes: object) -> TrainConfig:
    """A copy with ``changes`` (the CLI's explicit flags)."""
    return replace(cfg, **{k: v for k, v in changes.items() if v is not None})
