"""Memory-mappable shards of encoded songs, and a torch Dataset that draws random training masks from them.

Parsing MIDI and running melody/chord analysis costs far more than a training step, so the dataset
builder does it once and stores each song's ``SAEncoding`` arrays. A shard is a folder of ``.npy`` files,
each the concatenation of one array over the shard's songs, plus ``offsets`` telling where each song
starts, and a ``manifest.json`` with the per-song scalars (id, categories, tempo, bar range, tracks).
``np.load(mmap_mode="r")`` maps them, so DataLoader workers share the pages and a 100k-song dataset
costs no RAM up front. Nothing here is pickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.analysis.grid import BeatGrid
from engine.representation.encode import EncodeReport, SAEncoding
from engine.representation.example import SAExample
from engine.representation.vocab import N_CATEGORIES

SHARD_FORMAT = "popdiffuseq-shard"
SHARD_VERSION = 1
MANIFEST = "manifest.json"

# Per-row arrays: name -> on-disk dtype (all fit: ids < 2^15, tracks <= 2048, velocity <= 127).
ROW_ARRAYS: dict[str, str] = {
    "tokens": "int16",
    "track_of_row": "int16",
    "bar_of_row": "int32",
    "position_of_row": "int32",
    "velocity_of_row": "uint8",
}
# Per-song variable-length arrays stored with their own offsets.
RAGGED_ARRAYS: tuple[str, ...] = ("beat_ticks", "bar_starts")
REPORT_FIELDS: tuple[str, ...] = (
    "n_notes_in", "n_encoded", "n_bars", "n_bars_split", "n_chord_changes", "chord_source", "n_unknown_chords",
)  # fmt: skip


@dataclass
class SongRecord:
    """One encoded song as the builder hands it to the shard writer (arrays already in on-disk dtypes)."""

    song_id: str
    arrays: dict[str, np.ndarray]  # ROW_ARRAYS + RAGGED_ARRAYS + "instruments" (bool [18])
    meta: dict[str, object] = field(default_factory=dict)  # JSON-able: categories, tempo, bars, tracks...

    @property
    def n_rows(self) -> int:
        return int(self.arrays["tokens"].shape[0])


def record_from_encoding(song_id: str, enc: SAEncoding, meta: dict[str, object] | None = None) -> SongRecord:
    """Pack an encoding for storage; refuses values the compact dtypes cannot hold rather than wrapping."""
    arrays: dict[str, np.ndarray] = {}
    for name, dtype in ROW_ARRAYS.items():
        a = np.asarray(getattr(enc, name))
        info = np.iinfo(dtype)
        if a.size and (a.min() < info.min or a.max() > info.max):
            raise ValueError(f"{song_id}: {name} does not fit {dtype}")
        arrays[name] = a.astype(dtype)
    arrays["beat_ticks"] = np.asarray(enc.grid.beat_ticks, dtype=np.int64)
    arrays["bar_starts"] = np.asarray(enc.grid.bar_starts, dtype=np.int64)
    arrays["instruments"] = np.asarray(enc.instruments, dtype=bool).reshape(N_CATEGORIES)
    m = {
        "id": song_id,
        "categories": list(enc.categories),
        "tempo": int(enc.tempo),
        "first_bar": int(enc.first_bar),
        "end_bar": int(enc.end_bar),
        "n_rows": enc.n_rows,
        "report": {k: getattr(enc.report, k) for k in REPORT_FIELDS},
    }
    m.update(meta or {})
    return SongRecord(song_id, arrays, m)


def write_shard(folder: str | Path, records: list[SongRecord], extra: dict[str, object] | None = None) -> Path:
    """Write ``records`` as one shard folder (created); returns it."""
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    for name in ROW_ARRAYS:
        parts = [r.arrays[name] for r in records]
        empty = np.zeros((0, 4) if name == "tokens" else (0,), dtype=ROW_ARRAYS[name])
        np.save(d / f"{name}.npy", np.concatenate(parts) if parts else empty)
    np.save(d / "row_offsets.npy", np.cumsum([0] + [r.n_rows for r in records]).astype(np.int64))
    for name in RAGGED_ARRAYS:
        parts = [r.arrays[name] for r in records]
        np.save(d / f"{name}.npy", np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64))
        np.save(d / f"{name}_offsets.npy", np.cumsum([0] + [len(p) for p in parts]).astype(np.int64))
    inst = np.stack([r.arrays["instruments"] for r in records]) if records else np.zeros((0, N_CATEGORIES), bool)
    np.save(d / "instruments.npy", inst)
    manifest = {"format": SHARD_FORMAT, "version": SHARD_VERSION, "n_songs": len(records),
                "n_rows": int(sum(r.n_rows for r in records)), "songs": [r.meta for r in records], **(extra or {})}
    (d / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return d


class Shard:
    """A shard folder opened read-only with memory-mapped arrays."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        manifest = json.loads((self.folder / MANIFEST).read_text())
        if manifest.get("format") != SHARD_FORMAT or manifest.get("version") != SHARD_VERSION:
            raise ValueError(f"{self.folder} is not a version-{SHARD_VERSION} Pop-Diffuseq shard")
        self.songs: list[dict] = manifest["songs"]
        load = lambda name: np.load(self.folder / f"{name}.npy", mmap_mode="r")  # noqa: E731
        self.rows = {name: load(name) for name in ROW_ARRAYS}
        self.row_offsets = np.load(self.folder / "row_offsets.npy")
        self.ragged = {name: (load(name), np.load(self.folder / f"{name}_offsets.npy")) for name in RAGGED_ARRAYS}
        self.instruments = np.load(self.folder / "instruments.npy")

    def __len__(self) -> int:
        return len(self.songs)

    def encoding(self, i: int) -> SAEncoding:
        """Song ``i`` as an SAEncoding with int64 arrays, as ``encode`` returned it at build time.

        The report keeps only its counters (the list of dropped notes is not stored)."""
        lo, hi = int(self.row_offsets[i]), int(self.row_offsets[i + 1])
        rows = {name: np.asarray(a[lo:hi], dtype=np.int64) for name, a in self.rows.items()}
        ragged = {}
        for name, (data, off) in self.ragged.items():
            ragged[name] = np.asarray(data[int(off[i]) : int(off[i + 1])], dtype=np.int64)
        meta = self.songs[i]
        report = EncodeReport(**{k: v for k, v in meta.get("report", {}).items() if k in REPORT_FIELDS})
        return SAEncoding(
            tokens=rows["tokens"].reshape(-1, 4),
            track_of_row=rows["track_of_row"],
            bar_of_row=rows["bar_of_row"],
            position_of_row=rows["position_of_row"],
            velocity_of_row=rows["velocity_of_row"],
            categories=tuple(meta["categories"]),
            tempo=int(meta["tempo"]),
            instruments=np.asarray(self.instruments[i], dtype=bool).copy(),
            grid=BeatGrid(ragged["beat_ticks"], ragged["bar_starts"]),
            first_bar=int(meta["first_bar"]),
            end_bar=int(meta["end_bar"]),
            report=report,
        )


def dataset_index(root: str | Path) -> dict:
    """The builder's ``dataset.json`` (splits -> shard folders, counts, build settings)."""
    path = Path(root) / "dataset.json"
    if not path.is_file():
        raise FileNotFoundError(f"{root} is not a built dataset (no dataset.json); run 'popdiffuseq dataset build'")
    return json.loads(path.read_text())


class SongStore:
    """All songs of one split of a built dataset, indexed 0..n-1 across its shards."""

    def __init__(self, root: str | Path, split: str = "train") -> None:
        self.root = Path(root)
        index = dataset_index(root)
        self.shards = [Shard(self.root / rel) for rel in index["shards"].get(split, [])]
        self._starts = np.cumsum([0] + [len(s) for s in self.shards]).astype(np.int64)

    def __len__(self) -> int:
        return int(self._starts[-1])

    def locate(self, i: int) -> tuple[Shard, int]:
        if not 0 <= i < len(self):
            raise IndexError(f"song {i} of {len(self)}")
        k = int(np.searchsorted(self._starts, i, side="right") - 1)
        return self.shards[k], i - int(self._starts[k])

    def encoding(self, i: int) -> SAEncoding:
        shard, j = self.locate(i)
        return shard.encoding(j)

    def meta(self, i: int) -> dict:
        shard, j = self.locate(i)
        return shard.songs[j]


def tempo_weights(tempo_class: list[int], balance: float) -> np.ndarray:
    """Sampling probability per song so tempo classes are seen more evenly: weight = (songs of its class)
    ** -balance (0 = as the data comes, 1 = every class equally often). POP909 is mostly andante and
    moderato; without this the tempo prompt of a rare class is barely trained (issue 17)."""
    classes = np.asarray(tempo_class, dtype=np.int64)
    counts = np.bincount(classes)
    w = counts[classes].astype(np.float64) ** -float(balance)
    return w / w.sum()


def crop_bars(example: SAExample, max_bars: int) -> SAExample:
    """Drop rows whose window-local bar index the model cannot embed (sparse songs: many bars, few rows)."""
    keep = example.bar_index < max_bars
    if keep.all():
        return example
    return SAExample(example.tokens[keep], example.given[keep], example.track_id[keep], example.bar_index[keep],
                     example.tempo, example.instruments)


class TrainingExamples:
    """Map-style dataset: global example number k -> one random training mask (a torch ``Dataset``).

    Example k is a pure function of (seed, k): its song comes from a seeded permutation of the songs for
    epoch k // n_songs and its mask from ``np.random.default_rng([seed, k])``. So resuming only needs the
    position k, every rank can take its own disjoint k's (DistributedSampler-like), and the result does
    not depend on DataLoader worker count. Indices past ``len`` continue into later epochs.
    """

    def __init__(self, store: SongStore, seed: int, max_rows: int, max_bars: int = 64,
                 weights: tuple[float, ...] | None = None, transpose: bool = False, thin_context: float = 0.0,
                 part_spans: float = 0.0, chord_masks: float = 0.0, tempo_balance: float = 0.0,
                 harmonise: float = 0.0, loose_slots: float = 0.0, density_shift: float = 0.0) -> None:
        if len(store) == 0:
            raise ValueError(f"{store.root} has no songs in this split")
        self.store, self.seed, self.max_rows, self.max_bars, self.weights = store, seed, max_rows, max_bars, weights
        self.transpose = transpose  # a random key (-5..+6 semitones) per example; see representation/transpose.py
        self.thin_context = thin_context  # share of examples with thinned far context (training_masks)
        self.part_spans = part_spans  # share of whole-part selections cut to a span (training_masks)
        self.chord_masks = chord_masks  # share of full selections that regenerate their chords too
        self.harmonise = harmonise  # share of examples that write a span's chords from the melody alone
        self.loose_slots = loose_slots  # share of examples with up to 150 % extra empty slots (training_masks)
        self.density_shift = density_shift  # share of full selections whose part density is shifted (training_masks)
        self._perm: tuple[int, np.ndarray] | None = None
        self._weights = tempo_weights([int(store.meta(i).get("tempo", 0)) for i in range(len(store))], tempo_balance) \
            if tempo_balance > 0 else None

    def __len__(self) -> int:
        return len(self.store)

    def song_of(self, k: int) -> int:
        n = len(self.store)
        if self._weights is not None:  # tempo-balanced: each draw independent, weighted by tempo class
            return int(np.random.default_rng([self.seed, 7919, int(k)]).choice(n, p=self._weights))
        epoch = k // n
        if self._perm is None or self._perm[0] != epoch:
            self._perm = (epoch, np.random.default_rng([self.seed, 7919, epoch]).permutation(n))
        return int(self._perm[1][k % n])

    def __getitem__(self, k: int) -> SAExample:
        from engine.representation.training_masks import DEFAULT_WEIGHTS, random_training_mask

        enc = self.store.encoding(self.song_of(int(k)))
        rng = np.random.default_rng([self.seed, int(k)])
        ex = random_training_mask(enc, rng, self.max_rows, self.weights or DEFAULT_WEIGHTS, self.thin_context,
                                  self.part_spans, self.chord_masks, self.harmonise, self.loose_slots,
                                  self.density_shift)
        if self.transpose:
            from engine.representation.transpose import transpose_example

            shift = int(np.random.default_rng([self.seed, int(k), 12]).integers(-5, 7))
            ex = transpose_example(ex, shift)
        return crop_bars(ex, self.max_bars)
