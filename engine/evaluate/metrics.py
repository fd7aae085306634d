"""Music metrics for an infilled region: pure numpy functions on note arrays, plus the extraction of a
region's notes from a Score.

Every metric compares the generated region with the ground-truth region, or measures the region on its
own (chord tones, instrument ranges), because a text metric on tokens says nothing about whether the
music fits. The distribution metrics follow mgeval (Yang & Lerch 2018), as the seed's paper used them:
a normalised 12-bin pitch-class histogram (PCH), a 12x12 pitch-class transition matrix (PCTM), and
note-length and inter-onset-interval histograms, compared by overlapping area (sum of bin-wise minima of
two normalised histograms: 1 = identical, 0 = disjoint) or L1 distance (0 = identical, 2 = disjoint).
Time is read on the song's own grid in 32nd notes (``engine.analysis.grid``), so performed files with
drifting tempo are measured in musical time, exactly as the model sees them.

Conventions: a metric that cannot be computed (an empty region, no chord under any note) is NaN, and
the aggregation (``engine.evaluate.report``) skips NaNs and reports how many values it averaged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.analysis.chord_vocab import chord_pitch_classes
from engine.analysis.grid import BeatGrid
from engine.analysis.ranges import USUAL_RANGE
from engine.evaluate.musician import (
    DRUM_PIECES,
    PIECE_LABELS,
    backbeat_share,
    context_range_share,
    kick_on_one,
    kit_adherence,
    leap_rate,
    line_overlap,
    line_tracks,
    mean_duration,
    notes_per_onset,
    piece_context_similarity,
    piece_similarity,
)
from engine.representation.encode import note_positions
from engine.score import ChordLabel, Score

# Histogram bins for durations and inter-onset intervals: 1..MAX_BIN 32nds; the last bin also holds
# everything longer (a whole note in 4/4 is 32; longer values are rare and would only spread the mass).
MAX_BIN = 32

# Usual sounding range of each instrument category: the one table in engine.analysis.ranges (sources there).
INSTRUMENT_RANGES = USUAL_RANGE

# Krumhansl-Kessler key profiles (C major / C minor), for the key estimate of the random baseline.
KRUMHANSL_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KRUMHANSL_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)  # natural minor


# -- notes of a region ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NoteArray:
    """Notes as parallel arrays. ``onset`` and ``duration`` are in 32nds on the song's grid."""

    onset: np.ndarray  # int64: onset position (rounded as the quantiser and the SA encoding round it)
    duration: np.ndarray  # int64: length in 32nds, at least 1
    pitch: np.ndarray  # int64 MIDI pitch
    track: np.ndarray  # int64 score track index
    start_tick: np.ndarray  # int64: note-on tick (for chord look-up)
    is_drum: np.ndarray  # bool: on a drum track (no pitch class)

    @property
    def n(self) -> int:
        return int(len(self.pitch))

    def subset(self, mask: np.ndarray) -> NoteArray:
        return NoteArray(*(np.asarray(a)[mask] for a in (self.onset, self.duration, self.pitch, self.track,
                                                          self.start_tick, self.is_drum)))

    @property
    def pitched(self) -> NoteArray:
        """Only the notes with a pitch class (drum hits are key numbers, not pitches)."""
        return self.subset(~self.is_drum)


def empty_notes() -> NoteArray:
    z = np.zeros(0, dtype=np.int64)
    return NoteArray(z, z, z, z, z, np.zeros(0, dtype=bool))


def score_notes(score: Score, grid: BeatGrid, tracks: tuple[int, ...] | None = None) -> NoteArray:
    """All notes of ``tracks`` (default: every track) on ``grid``, sorted by (track, onset, pitch)."""
    chosen = range(len(score.tracks)) if tracks is None else [t for t in tracks if 0 <= t < len(score.tracks)]
    parts = []
    for t in chosen:
        tr = score.tracks[t]
        if not tr.notes:
            continue
        starts = np.fromiter((n.start for n in tr.notes), dtype=np.int64, count=len(tr.notes))
        ends = np.fromiter((n.end for n in tr.notes), dtype=np.int64, count=len(tr.notes))
        pitch = np.fromiter((n.pitch for n in tr.notes), dtype=np.int64, count=len(tr.notes))
        onset = note_positions(grid, starts)
        end_pos = np.asarray(grid.tick_to_position(ends.astype(np.float64)), dtype=np.float64).reshape(-1)
        duration = np.maximum(np.rint(end_pos - onset).astype(np.int64), 1)
        parts.append((onset, duration, pitch, np.full(len(starts), t, dtype=np.int64), starts,
                      np.full(len(starts), tr.is_drum, dtype=bool)))
    if not parts:
        return empty_notes()
    arrays = [np.concatenate([p[k] for p in parts]) for k in range(6)]
    order = np.lexsort((arrays[2], arrays[0], arrays[3]))
    return NoteArray(*(a[order] for a in arrays))


def in_bars(notes: NoteArray, grid: BeatGrid, start_bar: int, end_bar: int) -> np.ndarray:
    """bool per note: its onset lies in grid bars [start_bar, end_bar) (the rule ``apply_infill`` uses)."""
    lo, hi = int(grid.bar_starts[start_bar]), int(grid.bar_starts[min(end_bar, grid.n_bars)])
    return (notes.onset >= lo) & (notes.onset < hi)


def region_notes(score: Score, grid: BeatGrid, tracks: tuple[int, ...], start_bar: int, end_bar: int) -> NoteArray:
    """The notes of ``tracks`` whose onsets fall in bars [start_bar, end_bar): what an infill regenerates."""
    notes = score_notes(score, grid, tracks)
    return notes.subset(in_bars(notes, grid, start_bar, end_bar))


# -- pitch ------------------------------------------------------------------------------------------------
def pitch_class_histogram(pitch: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Normalised 12-bin pitch-class histogram (mgeval 'total_pitch_class_histogram'); all zeros if empty."""
    pitch = np.asarray(pitch, dtype=np.int64)
    h = np.bincount(pitch % 12, weights=weights, minlength=12).astype(np.float64)[:12]
    total = h.sum()
    return h / total if total > 0 else h


def pitch_class_transition_counts(pitch: np.ndarray, onset: np.ndarray, track: np.ndarray) -> np.ndarray:
    """12x12 counts of pitch-class transitions [from, to] between consecutive notes of the same track.

    Notes are taken in (onset, pitch) order, so a chord reads as an arpeggio from its lowest note; a
    transition never crosses tracks. (mgeval builds the same matrix with pretty_midi, where a transition
    is a note followed by one starting within 0.05 s of its end; on a grid, "the next note" is the
    tempo-free equivalent.)"""
    pitch, onset, track = (np.asarray(a, dtype=np.int64) for a in (pitch, onset, track))
    m = np.zeros((12, 12), dtype=np.float64)
    if len(pitch) < 2:
        return m
    order = np.lexsort((pitch, onset, track))
    p, t = pitch[order] % 12, track[order]
    same = t[1:] == t[:-1]
    np.add.at(m, (p[:-1][same], p[1:][same]), 1.0)
    return m


def pitch_class_transition_matrix(pitch: np.ndarray, onset: np.ndarray, track: np.ndarray) -> np.ndarray:
    """The PCTM normalised to sum 1 (all zeros when there is no transition)."""
    m = pitch_class_transition_counts(pitch, onset, track)
    total = m.sum()
    return m / total if total > 0 else m


# -- time -------------------------------------------------------------------------------------------------
def _binned(values: np.ndarray, max_bin: int = MAX_BIN) -> np.ndarray:
    """Normalised histogram of positive integer values over bins 1..max_bin (the last bin holds >= max_bin)."""
    v = np.clip(np.asarray(values, dtype=np.int64), 1, max_bin)
    h = np.bincount(v - 1, minlength=max_bin).astype(np.float64)
    total = h.sum()
    return h / total if total > 0 else h


def duration_histogram(duration: np.ndarray, max_bin: int = MAX_BIN) -> np.ndarray:
    """Normalised note-length histogram in 32nds (mgeval 'note_length_hist', on the song's grid)."""
    return _binned(duration, max_bin)


def inter_onset_intervals(onset: np.ndarray, track: np.ndarray) -> np.ndarray:
    """Gaps in 32nds between consecutive distinct onsets of each track (a chord is one onset)."""
    onset, track = np.asarray(onset, dtype=np.int64), np.asarray(track, dtype=np.int64)
    if len(onset) < 2:
        return np.zeros(0, dtype=np.int64)
    pairs = np.unique(np.stack([track, onset], axis=1), axis=0)  # sorted by track, then onset
    same = pairs[1:, 0] == pairs[:-1, 0]
    return (pairs[1:, 1] - pairs[:-1, 1])[same]


def ioi_histogram(onset: np.ndarray, track: np.ndarray, max_bin: int = MAX_BIN) -> np.ndarray:
    """Normalised inter-onset-interval histogram in 32nds (mgeval 'avg_IOI' as a distribution)."""
    return _binned(inter_onset_intervals(onset, track), max_bin)


# -- comparing distributions ------------------------------------------------------------------------------
def overlap_area(p: np.ndarray, q: np.ndarray) -> float:
    """Overlapping area of two normalised histograms, sum(min(p, q)): 1 identical, 0 disjoint; NaN if
    either is empty (an empty region has no distribution to compare)."""
    p, q = np.asarray(p, dtype=np.float64).ravel(), np.asarray(q, dtype=np.float64).ravel()
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    return float(np.minimum(p / p.sum(), q / q.sum()).sum())


def l1_distance(p: np.ndarray, q: np.ndarray) -> float:
    """L1 distance of two normalised distributions (histograms or matrices): 0 identical, 2 disjoint; NaN
    if either is empty. Equals 2 x (1 - overlap_area)."""
    p, q = np.asarray(p, dtype=np.float64).ravel(), np.asarray(q, dtype=np.float64).ravel()
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    return float(np.abs(p / p.sum() - q / q.sum()).sum())


# -- density ----------------------------------------------------------------------------------------------
def density_error(n_generated: int, n_truth: int) -> float:
    """|notes per bar generated - ground truth| / ground truth; the bar count cancels, so note counts
    over the same bars suffice. NaN when the ground truth is silent (no scale to be relative to)."""
    if n_truth <= 0:
        return float("nan")
    return abs(float(n_generated) - float(n_truth)) / float(n_truth)


# -- harmony ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChordTable:
    """Chord spans as arrays for vectorised look-up; ``tones`` is a bool [K, 12] pitch-class mask."""

    start: np.ndarray  # int64 ticks, sorted
    end: np.ndarray  # int64 ticks
    tones: np.ndarray  # bool [K, 12]; all False for N.C.


def chord_table(chords: list[ChordLabel]) -> ChordTable:
    cs = sorted(chords, key=lambda c: c.start)
    tones = np.zeros((len(cs), 12), dtype=bool)
    for i, c in enumerate(cs):
        if c.root is not None:
            tones[i, list(chord_pitch_classes(c.root, c.quality))] = True
    return ChordTable(np.asarray([c.start for c in cs], dtype=np.int64), np.asarray([c.end for c in cs], dtype=np.int64), tones)


def chord_tone_ratio(pitch: np.ndarray, start_tick: np.ndarray, duration: np.ndarray, chords: ChordTable) -> float:
    """Duration-weighted share of notes whose pitch class belongs to the chord sounding at their onset.

    Notes under no chord (or N.C.) are left out: there is nothing to fit. NaN when no note is left. Pass
    pitched notes only (drum key numbers are not pitches)."""
    pitch, start, w = (np.asarray(a) for a in (pitch, start_tick, duration))
    if len(pitch) == 0 or len(chords.start) == 0:
        return float("nan")
    k = np.searchsorted(chords.start, start, side="right") - 1
    ok = k >= 0
    kk = np.clip(k, 0, None)
    ok &= start < chords.end[kk]
    ok &= chords.tones[kk].any(axis=1)
    if not ok.any():
        return float("nan")
    hit = chords.tones[kk[ok], np.asarray(pitch[ok], dtype=np.int64) % 12]
    weights = np.asarray(w[ok], dtype=np.float64)
    return float((weights * hit).sum() / weights.sum()) if weights.sum() > 0 else float("nan")


# -- rhythm -----------------------------------------------------------------------------------------------
def onset_grid(onset: np.ndarray, track: np.ndarray, grid: BeatGrid, tracks: tuple[int, ...], start_bar: int,
               end_bar: int, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Binary onset vectors per (track, bar): bool [len(tracks), n_bars, Q] with Q = the longest bar in
    cells of ``step`` 32nds, and the number of valid cells of each bar [n_bars]."""
    starts = grid.bar_starts[start_bar : end_bar + 1].astype(np.int64)
    lengths = -(-np.diff(starts) // step)
    q = int(lengths.max()) if len(lengths) else 0
    out = np.zeros((len(tracks), len(lengths), q), dtype=bool)
    onset, track = np.asarray(onset, dtype=np.int64), np.asarray(track, dtype=np.int64)
    for i, t in enumerate(tracks):
        o = onset[(track == t) & (onset >= starts[0]) & (onset < starts[-1])]
        b = np.searchsorted(starts, o, side="right") - 1
        out[i, b, (o - starts[b]) // step] = True
    return out, lengths


def groove_similarity(a: np.ndarray, b: np.ndarray, lengths: np.ndarray) -> float:
    """Grooving pattern similarity (Wu & Yang, "The Jazz Transformer", 2020): for two bars' binary onset
    vectors g, h of Q cells, GS = 1 - (1/Q) * sum(g XOR h). Here each bar of the generated region is
    paired with the same bar of the same track in the ground truth ([tracks, bars, Q] arrays from
    ``onset_grid``, Q = the bar's length in 32nds), and GS is averaged over all (track, bar) pairs, silent
    bars included (a rest that is kept is a correct rhythm). 1 = the same onsets everywhere."""
    if a.shape != b.shape or a.size == 0:
        return float("nan")
    xor = np.logical_xor(a, b).sum(axis=2).astype(np.float64)  # [tracks, bars]
    return float(np.mean(1.0 - xor / np.maximum(lengths[None, :], 1)))


# -- instruments ------------------------------------------------------------------------------------------
def range_adherence(pitch: np.ndarray, categories: list[str] | tuple[str, ...] | np.ndarray) -> float:
    """Share of notes inside the typical range of their instrument category (``INSTRUMENT_RANGES``);
    NaN for no notes. ``categories`` gives each note's category."""
    pitch = np.asarray(pitch, dtype=np.int64)
    if len(pitch) == 0:
        return float("nan")
    lo = np.asarray([INSTRUMENT_RANGES.get(str(c), (0, 127))[0] for c in categories], dtype=np.int64)
    hi = np.asarray([INSTRUMENT_RANGES.get(str(c), (0, 127))[1] for c in categories], dtype=np.int64)
    return float(np.mean((pitch >= lo) & (pitch <= hi)))


# -- key --------------------------------------------------------------------------------------------------
def estimate_key(histogram: np.ndarray) -> tuple[int, str]:
    """(tonic pitch class, 'major' | 'minor') by the Krumhansl-Schmuckler correlation; C major if silent."""
    h = np.asarray(histogram, dtype=np.float64)
    if h.sum() <= 0 or np.allclose(h, h[0]):
        return 0, "major"
    best, key = -np.inf, (0, "major")
    for mode, profile in (("major", KRUMHANSL_MAJOR), ("minor", KRUMHANSL_MINOR)):
        for tonic in range(12):
            r = float(np.corrcoef(h, np.roll(profile, tonic))[0, 1])
            if r > best:
                best, key = r, (tonic, mode)
    return key


def scale_pitch_classes(tonic: int, mode: str) -> tuple[int, ...]:
    steps = MAJOR_SCALE if mode == "major" else MINOR_SCALE
    return tuple(sorted((tonic + s) % 12 for s in steps))


# -- one region, all metrics ------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricSpec:
    """How to read a metric: ``better`` is 'higher', 'lower' or 'truth' (closest to the ground truth's own
    value); ``versus_truth`` metrics compare with the ground-truth region (so they are trivial for it)."""

    name: str
    label: str
    better: str
    versus_truth: bool
    group: str = "distribution"  # "distribution" (mgeval-style metrics) or "musician" (``musician`` checks)


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("pch_overlap", "pitch-class histogram overlap", "higher", True),
    MetricSpec("pch_l1", "pitch-class histogram L1", "lower", True),
    MetricSpec("pctm_l1", "PCTM L1", "lower", True),
    MetricSpec("duration_overlap", "duration histogram overlap", "higher", True),
    MetricSpec("ioi_overlap", "IOI histogram overlap", "higher", True),
    MetricSpec("density_error", "note density error", "lower", True),
    MetricSpec("groove_similarity", "groove similarity", "higher", True),
    MetricSpec("chord_tone_ratio", "chord-tone ratio", "truth", False),
    MetricSpec("range_adherence", "instrument-range adherence", "higher", False),
    MetricSpec("context_pch_overlap", "PCH overlap with context", "truth", False),
    MetricSpec("notes_per_bar", "notes per bar", "truth", False),
    # checks a musician would make (engine/evaluate/musician.py)
    MetricSpec("drum_pattern_similarity", "drums: per-piece pattern similarity with the truth (mean)", "higher", True, "musician"),
    *(MetricSpec(f"drum_{p}_similarity", f"drums: {PIECE_LABELS[p]} pattern similarity with the truth", "higher", True, "musician")
      for p in DRUM_PIECES),
    MetricSpec("drum_context_similarity", "drums: per-piece pattern similarity with the context (mean)", "truth", False, "musician"),
    *(MetricSpec(f"drum_{p}_context", f"drums: {PIECE_LABELS[p]} pattern similarity with the context", "truth", False, "musician")
      for p in DRUM_PIECES),
    MetricSpec("kit_adherence", "drums: notes on the context's kit", "higher", False, "musician"),
    MetricSpec("kick_on_one", "drums: bars with a kick on beat 1", "truth", False, "musician"),
    MetricSpec("backbeat", "drums: bars with snare/clap on 2 and 4 (context has it)", "truth", False, "musician"),
    MetricSpec("context_range", "register: notes within the part's context range ±2", "higher", False, "musician"),
    MetricSpec("leap_rate", "register: moves over an octave (outer voices)", "truth", False, "musician"),
    MetricSpec("line_overlap", "line: overlapping notes in parts whose context is a line", "lower", False, "musician"),
    MetricSpec("notes_per_onset", "texture: notes per onset", "truth", False, "musician"),
    MetricSpec("mean_duration", "texture: mean note length (32nds)", "truth", False, "musician"),
)
METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in METRICS)
CONTEXT_BARS = 8  # bars each side of the region that count as its context


@dataclass(frozen=True)
class Region:
    """Where an infill happened: grid bars [start_bar, end_bar) x ``tracks`` of a song."""

    grid: BeatGrid
    tracks: tuple[int, ...]
    start_bar: int
    end_bar: int
    categories: tuple[str, ...]  # per score track
    chords: ChordTable

    @property
    def n_bars(self) -> int:
        return self.end_bar - self.start_bar


def context_notes(score: Score, region: Region, bars: int = CONTEXT_BARS) -> NoteArray:
    """Notes of every track within ``bars`` bars of the region, minus the region itself: what a listener
    hears around it (identical in a generated score and its ground truth)."""
    notes = score_notes(score, region.grid)
    near = in_bars(notes, region.grid, max(region.start_bar - bars, 0), min(region.end_bar + bars, region.grid.n_bars))
    inside = in_bars(notes, region.grid, region.start_bar, region.end_bar) & np.isin(notes.track, region.tracks)
    return notes.subset(near & ~inside)


@dataclass(frozen=True)
class RegionCounts:
    """Unnormalised distributions of one region, summed over songs for the plots."""

    pch: np.ndarray  # [12]
    pctm: np.ndarray  # [12, 12]
    duration: np.ndarray  # [MAX_BIN]
    ioi: np.ndarray  # [MAX_BIN]

    @staticmethod
    def of(notes: NoteArray, tonic: int = 0) -> RegionCounts:
        """Counts of ``notes``; pitch classes are taken relative to ``tonic``, so that songs in different
        keys can be pooled (pooled absolute pitch classes would only show a flat histogram)."""
        p = notes.pitched
        p = NoteArray(p.onset, p.duration, p.pitch - int(tonic), p.track, p.start_tick, p.is_drum)
        pch = np.bincount(p.pitch % 12, minlength=12).astype(np.float64)
        dur = np.bincount(np.clip(notes.duration, 1, MAX_BIN) - 1, minlength=MAX_BIN).astype(np.float64)
        ioi = np.bincount(np.clip(inter_onset_intervals(notes.onset, notes.track), 1, MAX_BIN) - 1,
                          minlength=MAX_BIN).astype(np.float64)
        return RegionCounts(pch, pitch_class_transition_counts(p.pitch, p.onset, p.track), dur, ioi)

    def __add__(self, other: RegionCounts) -> RegionCounts:
        return RegionCounts(self.pch + other.pch, self.pctm + other.pctm, self.duration + other.duration, self.ioi + other.ioi)

    @staticmethod
    def zeros() -> RegionCounts:
        return RegionCounts(np.zeros(12), np.zeros((12, 12)), np.zeros(MAX_BIN), np.zeros(MAX_BIN))


def _nanmean(values: list[float]) -> float:
    v = [x for x in values if not np.isnan(x)]
    return float(np.mean(v)) if v else float("nan")


def _has_drums(region: Region) -> bool:
    return any(region.categories[t] == "DRUMS" for t in region.tracks if 0 <= t < len(region.categories))


def _context_stretches(region: Region, bars: int = CONTEXT_BARS) -> list[np.ndarray]:
    """Bar starts (plus the end) of the context bars before and after the region, each a stretch."""
    starts = region.grid.bar_starts
    lo, hi = max(region.start_bar - bars, 0), min(region.end_bar + bars, region.grid.n_bars)
    return [starts[a : b + 1] for a, b in ((lo, region.start_bar), (region.end_bar, hi)) if b > a]


def musician_intrinsic(notes: NoteArray, context: NoteArray, region: Region) -> dict[str, float]:
    """The checks of ``musician`` a region has on its own, against the regenerated parts' own context
    (the same tracks, within CONTEXT_BARS bars outside the region). Drum checks are NaN for a region
    without a drum track."""
    own = context.subset(np.isin(context.track, region.tracks))
    bar_starts = region.grid.bar_starts[region.start_bar : region.end_bar + 1]
    out = {m.name: float("nan") for m in METRICS if m.group == "musician" and not m.versus_truth}
    if _has_drums(region):
        d, cd = notes.subset(notes.is_drum), own.subset(own.is_drum)
        stretches = _context_stretches(region)
        ctx_bars = [(int(s[i]), int(s[i + 1])) for s in stretches for i in range(len(s) - 1)]
        per_piece = piece_context_similarity(d.onset, d.pitch, cd.onset, cd.pitch, bar_starts, ctx_bars)
        out.update({f"drum_{p}_context": v for p, v in per_piece.items()})
        out["drum_context_similarity"] = _nanmean(list(per_piece.values()))
        out["kit_adherence"] = kit_adherence(d.pitch, d.track, cd.pitch, cd.track)
        out["kick_on_one"] = float(kick_on_one(d.onset, d.pitch, bar_starts).mean())
        out["backbeat"] = backbeat_share(d.onset, d.pitch, bar_starts, cd.onset, cd.pitch, stretches)
    p, cp = notes.pitched, own.pitched
    out["context_range"] = context_range_share(p.pitch, p.track, cp.pitch, cp.track)
    out["leap_rate"] = leap_rate(p.pitch, p.onset, p.track)
    out["line_overlap"] = line_overlap(p.onset, p.duration, p.track, line_tracks(cp.onset, cp.duration, cp.track))
    out["notes_per_onset"] = notes_per_onset(p.onset, p.track)
    out["mean_duration"] = mean_duration(p.duration)
    return out


def musician_versus_truth(gen: NoteArray, truth: NoteArray, region: Region) -> dict[str, float]:
    """Per drum piece, the generated drums' pattern similarity with the truth's, and its mean over the
    pieces either plays; NaN without a drum track."""
    out = {m.name: float("nan") for m in METRICS if m.group == "musician" and m.versus_truth}
    if _has_drums(region):
        gd, td = gen.subset(gen.is_drum), truth.subset(truth.is_drum)
        bar_starts = region.grid.bar_starts[region.start_bar : region.end_bar + 1]
        per_piece = piece_similarity(gd.onset, gd.pitch, td.onset, td.pitch, bar_starts)
        out.update({f"drum_{p}_similarity": v for p, v in per_piece.items()})
        out["drum_pattern_similarity"] = _nanmean(list(per_piece.values()))
    return out


def intrinsic_metrics(notes: NoteArray, context: NoteArray, region: Region) -> dict[str, float]:
    """The metrics a region has on its own (the ground truth's values are the reference)."""
    p = notes.pitched
    return {
        "chord_tone_ratio": chord_tone_ratio(p.pitch, p.start_tick, p.duration, region.chords),
        "range_adherence": range_adherence(notes.pitch, [region.categories[t] for t in notes.track.tolist()]),
        "context_pch_overlap": overlap_area(pitch_class_histogram(p.pitch), pitch_class_histogram(context.pitched.pitch)),
        "notes_per_bar": notes.n / max(region.n_bars * len(region.tracks), 1),
        **musician_intrinsic(notes, context, region),
    }


def compare_notes(gen: NoteArray, truth: NoteArray, region: Region) -> dict[str, float]:
    """The versus-truth metrics of a generated region against the ground-truth region."""
    gp, tp = gen.pitched, truth.pitched
    g_grid, _ = onset_grid(gen.onset, gen.track, region.grid, region.tracks, region.start_bar, region.end_bar)
    t_grid, lengths = onset_grid(truth.onset, truth.track, region.grid, region.tracks, region.start_bar, region.end_bar)
    g_pch, t_pch = pitch_class_histogram(gp.pitch), pitch_class_histogram(tp.pitch)
    return {
        "pch_overlap": overlap_area(g_pch, t_pch),
        "pch_l1": l1_distance(g_pch, t_pch),
        "pctm_l1": l1_distance(pitch_class_transition_matrix(gp.pitch, gp.onset, gp.track),
                               pitch_class_transition_matrix(tp.pitch, tp.onset, tp.track)),
        "duration_overlap": overlap_area(duration_histogram(gen.duration), duration_histogram(truth.duration)),
        "ioi_overlap": overlap_area(ioi_histogram(gen.onset, gen.track), ioi_histogram(truth.onset, truth.track)),
        "density_error": density_error(gen.n, truth.n),
        "groove_similarity": groove_similarity(g_grid, t_grid, lengths),
        **musician_versus_truth(gen, truth, region),
    }


def region_metrics(generated: Score, truth: Score, region: Region) -> dict[str, float]:
    """Every metric of ``METRICS`` for the region of ``generated`` (ground truth: the same region of
    ``truth``). Context metrics read the generated score's surroundings, which an infill leaves alone."""
    gen = region_notes(generated, region.grid, region.tracks, region.start_bar, region.end_bar)
    tru = region_notes(truth, region.grid, region.tracks, region.start_bar, region.end_bar)
    return {**compare_notes(gen, tru, region), **intrinsic_metrics(gen, context_notes(generated, region), region)}
