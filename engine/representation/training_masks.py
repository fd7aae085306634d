"""Random training masks: each example asks the model one of the questions an editor user can ask.

Every mask is a ``Selection`` built with ``masks.build_problem``, the editor's own builder, so the
training distribution covers exactly what the editor can produce. Regenerated (bar, track) cells get
slot rows holding the real notes followed by a random 0-50% of extra PAD rows (at least a random
0-4 rows), so the model learns to leave unused slots empty rather than to count notes from the slot
number.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from engine.errors import RepresentationError
from engine.representation.encode import SAEncoding
from engine.representation.example import SAExample
from engine.representation.masks import (
    MIN_SLOTS,
    THIN_NEAR_BARS,
    InfillProblem,
    Selection,
    build_problem,
    locked_rows,
    segments,
)
from engine.representation.vocab import CHANGE, CHORD_ROW, FIRST_PITCH, NO_CHORD, PITCH_MIN
from engine.representation.windows import windows

STRATEGIES: tuple[str, ...] = ("tracks", "span", "attribute", "accompaniment", "melody", "drums")
DEFAULT_WEIGHTS: tuple[float, ...] = (0.2, 0.3, 0.15, 0.15, 0.1, 0.1)
MAX_SPAN_BARS = 8
LOCK_PROBABILITY = 0.1  # share of 'all' examples in which some notes of the region are locked
MAX_EXTRA_SLOTS = 0.5
# With ``loose_slots``: up to this many extra slots per note instead, so the slot count says less of how
# many notes a part plays and a density condition (engine.model.density) has something to tell.
LOOSE_EXTRA_SLOTS = 1.5
# With ``density_shift``: a thinned part keeps at least this share of its notes (else the thinning is skipped).
MIN_KEPT_SHARE = 0.3


def keep_rows(encoding: SAEncoding, keep: np.ndarray) -> SAEncoding:
    """``encoding`` with only the rows marked in ``keep`` (bool [R]); every per-row array follows."""
    return replace(
        encoding, tokens=encoding.tokens[keep], track_of_row=encoding.track_of_row[keep],
        bar_of_row=encoding.bar_of_row[keep], position_of_row=encoding.position_of_row[keep],
        velocity_of_row=encoding.velocity_of_row[keep],
    )  # fmt: skip


def metrical_depth(offset: np.ndarray) -> np.ndarray:
    """int [N]: how fine a grid an onset needs, from its offset in 32nds from the bar start: 0 on the bar
    start, then 1 for a position on a half-note grid (16 32nds), 2 on quarters, 3 on eighths, 4 on 16ths,
    5 on 32nds (positions of an even bar grid; the depth of an offset is 5 minus its trailing zero bits,
    capped). Standard metrical hierarchy (Lerdahl & Jackendoff 1983): the deeper, the weaker the onset."""
    off = np.asarray(offset, dtype=np.int64)
    depth = np.full(off.shape, 5, dtype=np.int64)
    for level, step in enumerate((32, 16, 8, 4, 2)):  # a whole note, half, quarter, eighth, 16th in 32nds
        depth = np.where((off % step == 0) & (depth == 5), level, depth)
    return np.where(off == 0, 0, np.maximum(depth, 1))


def thin_rows(encoding: SAEncoding, rows: np.ndarray, share: float = 0.4) -> np.ndarray:
    """bool [R]: the rows of ``encoding`` to drop so that the note rows marked in ``rows`` lose their
    metrically weakest onsets: per track, every note on the deepest metrical level it uses
    (``metrical_depth``), then the next level up, until at least ``share`` of its marked notes are gone.
    One level halves a regular pattern (16ths become eighths, eighths quarters) and downbeats stay, as an
    arranger simplifying a part would. A level whose loss would keep fewer than MIN_KEPT_SHARE of the
    track's marked notes (or none) is not dropped, so a part of downbeats only is left as it is."""
    drop = np.zeros(encoding.n_rows, dtype=bool)
    bar_start = np.asarray(encoding.grid.bar_starts)[encoding.bar_of_row.clip(0)]
    depth = metrical_depth(encoding.position_of_row - bar_start)
    for track in np.unique(encoding.track_of_row[rows]).tolist():
        mine = rows & (encoding.track_of_row == track)
        total = int(mine.sum())
        gone = np.zeros_like(mine)
        for level in sorted(set(depth[mine].tolist()), reverse=True):
            if level == 0 or gone.sum() >= share * total:
                break
            more = gone | (mine & (depth == level))
            if total - int(more.sum()) < max(1, MIN_KEPT_SHARE * total):
                break
            gone = more
        drop |= gone
    return drop


def shift_density(encoding: SAEncoding, sel: Selection, rng: np.random.Generator) -> SAEncoding:
    """The song with the density of ``sel``'s parts changed on one side of the region, so the part to
    generate plays sparser or busier than its own context: with equal chance its notes inside the region
    are thinned (``thin_rows``; the truth gets sparser than the bars around it) or its notes outside the
    region are (the truth is busier than its context). Trained with the part density condition
    (``engine.model.density``), this is what teaches the network to follow the condition where the
    context says otherwise; without it, the context told the density and the condition was ignored."""
    part = np.isin(encoding.track_of_row, sel.tracks or ()) & (encoding.track_of_row >= 0)
    inside = (encoding.bar_of_row >= sel.start_bar) & (encoding.bar_of_row < sel.end_bar)
    rows = part & (inside if rng.random() < 0.5 else ~inside)
    drop = thin_rows(encoding, rows, float(rng.uniform(0.3, 0.6)))
    return keep_rows(encoding, ~drop) if drop.any() else encoding


def _subset(rng: np.random.Generator, items: list[int]) -> tuple[int, ...]:
    k = int(rng.integers(1, len(items) + 1))
    return tuple(sorted(int(x) for x in rng.choice(items, size=k, replace=False)))


def _part_span(rng: np.random.Generator, start: int, end: int, part_spans: float) -> tuple[int, int]:
    """[start, end), or with probability ``part_spans`` a random 1-8 bar span of it (no draw when 0, so runs
    without the option see the examples they saw before)."""
    if part_spans <= 0 or end - start < 2 or rng.random() >= part_spans:
        return start, end
    n = int(rng.integers(1, min(MAX_SPAN_BARS, end - start - 1) + 1))
    s = int(rng.integers(start, end - n + 1))
    return s, s + n


def _draw_selection(encoding: SAEncoding, rng: np.random.Generator, start: int, end: int, weights: tuple[float, ...],
                    part_spans: float = 0.0) -> Selection:
    """A selection inside grid bars [start, end) following one randomly drawn strategy. The whole-part
    strategies take the whole window, or with probability ``part_spans`` a shorter span of it: the editor's
    and the evaluation's regions sit inside a song whose part is heard before and after them."""
    rows = (encoding.bar_of_row >= start) & (encoding.bar_of_row < end) & (encoding.track_of_row >= 0)
    present = sorted({int(t) for t in encoding.track_of_row[rows].tolist()}) or list(range(encoding.n_tracks))
    p = np.asarray(weights, dtype=np.float64)
    strategy = STRATEGIES[int(rng.choice(len(STRATEGIES), p=p / p.sum()))]
    by_cat = {
        "melody": [t for t in present if encoding.categories[t] == "MELODY"],
        "drums": [t for t in present if encoding.categories[t] == "DRUMS"],
        "accompaniment": [t for t in present if encoding.categories[t] != "MELODY"],
    }
    if strategy in by_cat:
        if by_cat[strategy] and (strategy != "accompaniment" or len(by_cat[strategy]) < len(present)):
            return Selection(*_part_span(rng, start, end, part_spans), tuple(by_cat[strategy]))
        strategy = "span"
    if strategy == "tracks":
        return Selection(*_part_span(rng, start, end, part_spans), _subset(rng, present))
    n = int(rng.integers(1, min(MAX_SPAN_BARS, end - start) + 1))
    s = int(rng.integers(start, end - n + 1))
    attributes = "all" if strategy == "span" else ("pitch", "rhythm")[int(rng.integers(2))]
    return Selection(s, s + n, _subset(rng, present), attributes)


def _lock_some(encoding: SAEncoding, rng: np.random.Generator, sel: Selection) -> Selection:
    """The same selection with 10-30% of its notes locked (the editor's lock tool)."""
    region = (
        (encoding.bar_of_row >= sel.start_bar) & (encoding.bar_of_row < sel.end_bar)
        & np.isin(encoding.track_of_row, sel.tracks or ())
    )  # fmt: skip
    idx = np.flatnonzero(region)
    if not len(idx):
        return sel
    chosen = rng.choice(idx, size=max(1, int(len(idx) * rng.uniform(0.1, 0.3))), replace=False)
    ticks = np.asarray(encoding.grid.position_to_tick(encoding.position_of_row[chosen])).reshape(-1)
    pitches = encoding.tokens[chosen, 2] - FIRST_PITCH + PITCH_MIN
    locked = frozenset((int(encoding.track_of_row[i]), int(t), int(p)) for i, t, p in zip(chosen, ticks, pitches, strict=True))
    return Selection(sel.start_bar, sel.end_bar, sel.tracks, sel.attributes, sel.new_tracks, locked)


def random_training_problem(
    encoding: SAEncoding,
    rng: np.random.Generator,
    max_rows: int = 256,
    weights: tuple[float, ...] = DEFAULT_WEIGHTS,
    thin_context: float = 0.0,
    part_spans: float = 0.0,
    chord_masks: float = 0.0,
    harmonise: float = 0.0,
    loose_slots: float = 0.0,
    density_shift: float = 0.0,
) -> InfillProblem:
    """A random window of the song with a random selection in it, slots filled with the real notes + PAD.
    With probability ``thin_context`` the bars beyond THIN_NEAR_BARS of the selection keep only the
    selected tracks (``build_problem``'s thin_beyond): the editor's long-context layout. ``part_spans``: see
    ``_draw_selection``. With probability ``chord_masks`` a full ('all') selection regenerates its bars' chords
    too (``Selection.chords``): the model learns to write chords from the melody and the chords around.
    With probability ``harmonise`` the example is ``harmonise_problem`` instead. With probability
    ``loose_slots`` the extra empty slots per (bar, track) go up to LOOSE_EXTRA_SLOTS of its notes. With
    probability ``density_shift`` a full selection without locked notes has its parts' density changed on
    one side of the region (``shift_density``)."""
    # drawn only when asked, so that runs without it see exactly the examples they saw before
    if harmonise > 0 and rng.random() < harmonise:
        problem = harmonise_problem(encoding, rng, max_rows)
        if problem is not None:
            return problem
    wins = windows(encoding, max_rows)
    win = wins[int(rng.integers(len(wins)))]
    sel = _draw_selection(encoding, rng, win.start_bar, win.end_bar, weights, part_spans)
    if sel.attributes == "all" and rng.random() < LOCK_PROBABILITY:
        sel = _lock_some(encoding, rng, sel)
    # drawn only when asked, so that runs without chord masks see exactly the examples they saw before
    if chord_masks > 0 and sel.attributes == "all" and rng.random() < chord_masks:
        sel = replace(sel, chords=True)
    # drawn only when asked, so that runs without it see exactly the examples they saw before
    if density_shift > 0 and sel.attributes == "all" and sel.tracks and not sel.locked_notes and rng.random() < density_shift:
        encoding = shift_density(encoding, sel, rng)
    _, seg_of_row = segments(encoding)
    free = (encoding.track_of_row >= 0) & ~locked_rows(encoding, sel)
    pairs, real = np.unique(np.stack([seg_of_row[free], encoding.track_of_row[free]], 1), axis=0, return_counts=True)
    n_real = {(int(k), int(t)): int(c) for (k, t), c in zip(pairs, real, strict=True)}
    floor = int(rng.integers(0, MIN_SLOTS + 1))
    # drawn only when asked, so that runs without it see exactly the examples they saw before
    extra = LOOSE_EXTRA_SLOTS if loose_slots > 0 and rng.random() < loose_slots else MAX_EXTRA_SLOTS
    memo: dict[tuple[int, int], int] = {}

    def slot_count(seg: int, track: int) -> int:
        if (seg, track) not in memo:
            n = n_real.get((seg, track), 0)
            memo[(seg, track)] = max(floor, n + math.ceil(n * rng.uniform(0.0, extra)))
        return memo[(seg, track)]

    # drawn only when asked, so that runs without thinning see exactly the examples they saw before
    thin = THIN_NEAR_BARS if thin_context > 0 and rng.random() < thin_context else None
    while True:
        try:
            return build_problem(encoding, sel, slot_count, max_rows, targets=True, thin_beyond=thin)
        except RepresentationError:  # too many rows with the slots: shorten the span and try again
            n = sel.end_bar - sel.start_bar
            sel = replace(sel, end_bar=sel.start_bar + max(1, n * 3 // 4))


def melody_only(encoding: SAEncoding) -> SAEncoding:
    """``encoding`` without the rows of its harmony parts: only chord and bar rows, the melody and the
    drums (``chord_source.NOT_HARMONY``) stay. Track numbers, categories and the instrument prompt are
    kept, so the prompt still names the band to come."""
    from engine.representation.chord_source import NOT_HARMONY

    harmony = np.asarray([c not in NOT_HARMONY for c in encoding.categories] + [False], dtype=bool)
    return keep_rows(encoding, ~harmony[encoding.track_of_row])  # track -1 (chord, bar rows) indexes the appended False


def without_chords_outside(encoding: SAEncoding, start_bar: int, end_bar: int) -> SAEncoding:
    """``encoding`` as ``encode`` makes it from a song without chords, outside grid bars [start_bar,
    end_bar): bar rows say no chord and the chord-change rows are gone. A melody a songwriter brings has no
    chords around the region either (``infill`` then does not run the detector on the melody)."""
    chord = (encoding.track_of_row < 0) & (encoding.tokens[:, 0] == CHORD_ROW)
    outside = chord & ((encoding.bar_of_row < start_bar) | (encoding.bar_of_row >= end_bar))
    keep = ~(outside & (encoding.tokens[:, 3] == CHANGE))
    tokens = encoding.tokens.copy()
    tokens[outside, 2] = NO_CHORD
    return keep_rows(replace(encoding, tokens=tokens), keep)


def harmonise_problem(encoding: SAEncoding, rng: np.random.Generator, max_rows: int = 256) -> InfillProblem | None:
    """The chords of a 1-16 bar span written from the melody alone: the song without its harmony parts
    (``melody_only``), the span's chord rows masked, nothing else. This is the first stage of a band for a
    melody with no chords (``infill``: chords first, then the parts), which the full-selection chord masks
    do not teach: there the accompaniment's slots are in the window and partly revealed by the noise, so
    the chords can be read off them. In half of the examples the chords around the span are kept (a song
    with some chords entered), in the other half they are gone (``without_chords_outside``: a bare
    melody). None when the song has no melody."""
    if "MELODY" not in encoding.categories:
        return None
    reduced = melody_only(encoding)
    wins = windows(reduced, max_rows)
    win = wins[int(rng.integers(len(wins)))]
    n = int(rng.integers(1, min(2 * MAX_SPAN_BARS, win.end_bar - win.start_bar) + 1))
    s = int(rng.integers(win.start_bar, win.end_bar - n + 1))
    if rng.random() < 0.5:
        reduced = without_chords_outside(reduced, s, s + n)
    try:
        return build_problem(reduced, Selection(s, s + n, (), "all", chords=True), lambda seg, t: 0, max_rows,
                             targets=True)
    except RepresentationError:
        return None


def random_training_mask(
    encoding: SAEncoding,
    rng: np.random.Generator,
    max_rows: int = 256,
    weights: tuple[float, ...] = DEFAULT_WEIGHTS,
    thin_context: float = 0.0,
    part_spans: float = 0.0,
    chord_masks: float = 0.0,
    harmonise: float = 0.0,
    loose_slots: float = 0.0,
    density_shift: float = 0.0,
) -> SAExample:
    """One training example (deterministic for a given ``rng`` state). Strategies, drawn by ``weights``:
    whole tracks over the window, a 1-8 bar span x tracks, pitch-only or rhythm-only over a span,
    accompaniment given melody, melody given accompaniment, drums given the rest."""
    return random_training_problem(encoding, rng, max_rows, weights, thin_context, part_spans, chord_masks,
                                   harmonise, loose_slots, density_shift).example
