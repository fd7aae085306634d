"""Chord detection: one chord label per beat, from the notes, on the song's own beat grid.

Chords are the backbone of the SA representation (every bar opens with a chord row) and files rarely
carry chord annotations, so they are recognised from the notes as the seed did (chorder-style): a
pitch-class profile per window (each note weighted by how long it sounds inside the window, the lowest
note once more because the bass defines the chord), scored against a template for each of the 12 roots
x ``QUALITIES``. Windows are beats of the ``BeatGrid`` rather than tick spans, so performed files with
drifting tempo are analysed in musical time. Each half bar is labelled either as one chord or as two
one-beat chords, whichever fits better; repeated labels are merged into spans.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from engine.analysis.categories import track_category
from engine.analysis.chord_vocab import QUALITIES, QUALITY_NAMES
from engine.analysis.grid import POSITIONS_PER_BEAT, BeatGrid, beat_grid, beat_pieces
from engine.score import ChordLabel, Score, Track

RESOLUTIONS = ("beat", "half_bar", "bar")
NO_CHORD: tuple[int | None, str] = (None, "")


@dataclass(frozen=True, slots=True)
class ChordDetectorConfig:
    """Knobs of the detector; the defaults are tuned on POP909 (bench/pop909_analysis.py)."""

    root_weight: float = 0.3  # extra template weight on the root: the root is the most sounded chord tone
    non_chord_penalty: float = 0.5  # per unit of profile mass outside the template
    missing_penalty: float = 0.15  # per template tone that (almost) does not sound
    missing_threshold: float = 0.05  # profile mass below which a template tone counts as missing
    extra_tone_cost: float = 0.1  # per template tone beyond three: a seventh must really sound
    bass_weight: float = 1.0  # the lowest note counts this much again
    bass_root_bonus: float = 0.1  # a chord whose root is in the bass (root position) is more likely
    min_content: float = 0.25  # N.C. when notes sound for less than this fraction of a window ...
    min_pitch_classes: int = 2  # ... or fewer pitch classes hold at least 10% of its profile
    split_margin: float = 0.1  # two one-beat chords must fit this much better than one two-beat chord
    min_note_positions: float = 1.0  # notes shorter than a 32nd are ornaments, not harmony
    melody_weight: float = 0.3  # weight of MELODY tracks' notes: a tune has many passing tones


DEFAULT_CONFIG = ChordDetectorConfig()


def _template_matrices(
    cfg: ChordDetectorConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """(weights 120x12, membership 120x12, per-template constant, labels) for root-major order."""
    labels = [(r, q) for r in range(12) for q in QUALITY_NAMES]
    weights = np.full((len(labels), 12), -cfg.non_chord_penalty)
    member = np.zeros((len(labels), 12))
    const = np.zeros(len(labels))
    for k, (r, q) in enumerate(labels):
        for i in QUALITIES[q]:
            weights[k, (r + i) % 12] = 1.0
            member[k, (r + i) % 12] = 1.0
        weights[k, r] += cfg.root_weight
        const[k] = -cfg.extra_tone_cost * max(0, len(QUALITIES[q]) - 3)
    return weights, member, const, labels


def _chord_tracks(score: Score) -> list[Track]:
    """Tracks that carry harmony: not drums, and not named as percussion."""
    return [
        t
        for t in score.tracks
        if not t.is_drum and "drum" not in t.name.lower() and "percussion" not in t.name.lower()
    ]


@dataclass(frozen=True, slots=True)
class BeatProfiles:
    """Per-beat raw material: pitch-class durations (in 32nds) and the lowest sounding note."""

    pcs: np.ndarray  # (n_beats, 12) float: time each pitch class sounds in the beat
    bass_pc: np.ndarray  # (n_beats,) int: pitch class of the lowest note, -1 when silent
    bass_pitch: np.ndarray  # (n_beats,) int: its MIDI pitch (128 when silent)
    bass_amount: np.ndarray  # (n_beats,) float: how long it sounds in the beat
    content: np.ndarray  # (n_beats,) float: time covered by at least one note, in 32nds


def beat_profiles(
    score: Score, grid: BeatGrid, n_beats: int, cfg: ChordDetectorConfig = DEFAULT_CONFIG
) -> BeatProfiles:
    """Pitch-class profiles of every beat window [8k, 8k+8) of the grid."""
    pcs = np.zeros((n_beats, 12))
    bass_pitch = np.full(n_beats, 128, dtype=np.int64)
    bass_amount = np.zeros(n_beats)
    content = np.zeros(n_beats)
    tracks = _chord_tracks(score)
    notes = [n for t in tracks for n in t.notes]
    note_weight = np.concatenate(
        [np.full(len(t.notes), cfg.melody_weight if track_category(t) == "MELODY" else 1.0) for t in tracks]
        or [np.zeros(0)]
    )
    if notes and n_beats > 0:
        starts = np.asarray(grid.tick_to_position(np.fromiter((n.start for n in notes), float, len(notes))))
        ends = np.asarray(grid.tick_to_position(np.fromiter((n.end for n in notes), float, len(notes))))
        pitch = np.fromiter((n.pitch for n in notes), np.int64, len(notes))
        keep = (
            (ends - starts >= cfg.min_note_positions) & (ends > 0) & (starts < n_beats * POSITIONS_PER_BEAT)
        )
        starts, ends, pitch, note_weight = starts[keep], ends[keep], pitch[keep], note_weight[keep]
        idx, beat, lo, hi = beat_pieces(starts, ends, n_beats)
        overlap = np.maximum(hi - lo, 0.0)
        p = pitch[idx]
        np.add.at(pcs, (beat, p % 12), overlap * note_weight[idx])
        audible = overlap >= min(cfg.min_note_positions, POSITIONS_PER_BEAT / 4)
        np.minimum.at(bass_pitch, beat[audible], p[audible])
        is_bass = audible & (p == bass_pitch[beat])
        np.add.at(bass_amount, beat[is_bass], overlap[is_bass])
        content = _covered_time(beat, lo, hi, overlap > 0, n_beats)
    bass_pc = np.where(bass_pitch < 128, bass_pitch % 12, -1)
    return BeatProfiles(pcs, bass_pc, bass_pitch, bass_amount, content)


def _covered_time(
    beat: np.ndarray, lo: np.ndarray, hi: np.ndarray, mask: np.ndarray, n_beats: int
) -> np.ndarray:
    """Length of the union of [lo, hi) intervals per beat (time with at least one note sounding)."""
    beat, lo, hi = beat[mask], lo[mask], hi[mask]
    order = np.lexsort((lo, beat))
    beat, lo, hi = beat[order], lo[order], hi[order]
    out = np.zeros(n_beats)
    if len(beat) == 0:
        return out
    # Running maximum of interval ends within each beat: an interval adds only what sticks out past it.
    new_beat = np.r_[True, beat[1:] != beat[:-1]]
    group = np.cumsum(new_beat) - 1
    offset = group * (POSITIONS_PER_BEAT * 4.0)  # shift beats apart so one running maximum serves all
    hi_shift = hi + offset
    prev_max = np.maximum.accumulate(np.r_[-np.inf, hi_shift[:-1]])
    prev_max = np.where(new_beat, -np.inf, prev_max)
    added = np.clip(hi_shift - np.maximum(lo + offset, prev_max), 0.0, None)
    np.add.at(out, beat, added)
    return out


@dataclass(frozen=True, slots=True)
class WindowChord:
    root: int | None
    quality: str
    score: float  # template fit (comparable between window sizes: profiles are normalised)


def _score_windows(
    pcs: np.ndarray,
    bass_pc: np.ndarray,
    bass_amount: np.ndarray,
    content: np.ndarray,
    length: np.ndarray,
    cfg: ChordDetectorConfig,
) -> list[WindowChord]:
    """Best template per window; N.C. where too little sounds."""
    weights, member, const, labels = _template_matrices(cfg)
    prof = pcs.copy()
    has_bass = bass_pc >= 0
    prof[np.nonzero(has_bass)[0], bass_pc[has_bass]] += cfg.bass_weight * bass_amount[has_bass]
    total = prof.sum(axis=1, keepdims=True)
    prof = np.divide(prof, total, out=np.zeros_like(prof), where=total > 0)
    scores = prof @ weights.T + const - cfg.missing_penalty * ((prof < cfg.missing_threshold) @ member.T)
    roots = np.asarray([r for r, _ in labels])
    scores += cfg.bass_root_bonus * (roots[None, :] == bass_pc[:, None])
    best = np.argmax(scores, axis=1)
    n_pcs = (prof >= 0.1).sum(axis=1)
    out = []
    for w in range(len(pcs)):
        if content[w] < cfg.min_content * length[w] or n_pcs[w] < cfg.min_pitch_classes:
            out.append(WindowChord(None, "", 0.0))
        else:
            r, q = labels[best[w]]
            out.append(WindowChord(r, q, float(scores[w, best[w]])))
    return out


def _beat_groups(grid: BeatGrid, n_beats: int, per_group: int | None) -> list[list[int]]:
    """Beats grouped inside each bar: pairs from the bar start (half bars), or whole bars (None)."""
    bars = np.asarray(grid.bar_of_position(np.arange(n_beats) * POSITIONS_PER_BEAT)).reshape(-1)
    groups: list[list[int]] = []
    k = 0
    while k < n_beats:
        bar_end = k
        while bar_end < n_beats and bars[bar_end] == bars[k]:
            bar_end += 1
        size = per_group or (bar_end - k)
        for g in range(k, bar_end, size):
            groups.append(list(range(g, min(g + size, bar_end))))
        k = bar_end
    return groups


def _group_sum(values: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    return np.stack([values[g].sum(axis=0) for g in groups]) if groups else values[:0]


def _group_windows(bp: BeatProfiles, groups: list[list[int]], cfg: ChordDetectorConfig) -> list[WindowChord]:
    """Chords of windows made of several beats (bass = the lowest note over the whole window)."""
    bass_pc = np.full(len(groups), -1, dtype=np.int64)
    bass_amount = np.zeros(len(groups))
    for gi, g in enumerate(groups):
        low = int(bp.bass_pitch[g].min())
        if low < 128:
            bass_pc[gi] = low % 12
            bass_amount[gi] = float(bp.bass_amount[g][bp.bass_pitch[g] == low].sum())
    lengths = np.asarray([len(g) * POSITIONS_PER_BEAT for g in groups], dtype=float)
    return _score_windows(
        _group_sum(bp.pcs, groups), bass_pc, bass_amount, _group_sum(bp.content, groups), lengths, cfg
    )


def _n_beats(grid: BeatGrid) -> int:
    return max(len(grid.beat_ticks) - 1, 0)


def chords_per_beat(
    score: Score,
    grid: BeatGrid | None = None,
    resolution: str = "beat",
    config: ChordDetectorConfig = DEFAULT_CONFIG,
) -> list[tuple[int | None, str]]:
    """(root, quality) for every beat of the grid; (None, '') = N.C.

    With ``resolution='beat'`` each half bar is one chord unless two one-beat chords fit clearly better
    (the seed's rule, plus a margin against flicker); 'half_bar' and 'bar' force one chord per window.
    """
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}, got {resolution!r}")
    grid = grid or beat_grid(score)
    n = _n_beats(grid)
    if n == 0:
        return []
    bp = beat_profiles(score, grid, n, config)
    groups = _beat_groups(grid, n, None if resolution == "bar" else 2)
    wide = _group_windows(bp, groups, config)
    out: list[tuple[int | None, str]] = [NO_CHORD] * n
    single = _group_windows(bp, [[k] for k in range(n)], config) if resolution == "beat" else []
    for g, chord in zip(groups, wide, strict=True):
        split = (
            resolution == "beat"
            and len(g) == 2
            and all(single[k].root is not None for k in g)
            and (single[g[0]].root, single[g[0]].quality) != (single[g[1]].root, single[g[1]].quality)
            and (single[g[0]].score + single[g[1]].score) / 2 > chord.score + config.split_margin
        )
        for k in g:
            out[k] = (single[k].root, single[k].quality) if split else (chord.root, chord.quality)
    return out


def detect_chords(
    score: Score,
    grid: BeatGrid | None = None,
    resolution: str = "beat",
    config: ChordDetectorConfig = DEFAULT_CONFIG,
) -> list[ChordLabel]:
    """Chord spans in ticks (root None = N.C.), repeats merged, covering the whole grid."""
    grid = grid or beat_grid(score)
    per_beat = chords_per_beat(score, grid, resolution, config)
    labels: list[ChordLabel] = []
    start = 0
    for k in range(1, len(per_beat) + 1):
        if k == len(per_beat) or per_beat[k] != per_beat[start]:
            root, quality = per_beat[start]
            t0 = int(grid.position_to_tick(start * POSITIONS_PER_BEAT))
            t1 = int(grid.position_to_tick(k * POSITIONS_PER_BEAT))
            labels.append(ChordLabel(max(t0, 0), max(t1, 1), root, quality if root is not None else ""))
            start = k
    return [c for c in labels if c.end > c.start]


def chord_at(chords: list[ChordLabel], tick: int) -> ChordLabel | None:
    """The chord sounding at ``tick`` (chords sorted by start), or None if no span contains it."""
    starts = [c.start for c in chords]
    i = bisect.bisect_right(starts, tick) - 1
    if i >= 0 and chords[i].start <= tick < chords[i].end:
        return chords[i]
    return None
