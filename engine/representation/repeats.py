"""Where a regenerated part repeats itself, and the rows its sampling can start from ("novelty").

Pop parts repeat: a drum groove bar after bar, a bass or piano pattern every bar or two, a verse melody
four or eight bars later over the same chords. Generated from masks alone, the default model kept less of
a part's rhythm than copying the bars before the region (duration and onset-interval overlap 0.78 / 0.72
against 0.89 / 0.85 on 30 POP909 test songs; model card), and a regenerated groove could lose its second
snare. So a region can start from the part's own repeat: for each regenerated bar, the bar of the same
track that the part most likely plays again there is copied into the bar's note slots (``seed_rows``), and
the absorbing sampler keeps a random share (1 - novelty) of those rows and generates the rest on them
(``AbsorbingDiffusion.sample``). It is SDEdit (Meng et al., 2022, "SDEdit: guided image synthesis and
editing with stochastic differential equations") in discrete form: start part of the way along the reverse
process from a guess instead of from noise. For absorbing diffusion, part of the way means some cells
already revealed, which are states the model is trained on (a random share of a region's true rows shown).

Which bar a part repeats (``source_bars``): among the bars outside the region at a lag of 1 to MAX_LAG
bars, before or after it, each candidate scores the sum of (a) the part's self-similarity at that lag and
on that side within CONTEXT_BARS of the region (it repeats at the lag it repeats at nearby), (b) the
candidate's similarity to the bars just before and after the region, the larger (an intro's groove is not
the one the region sits in; at half weight, ADJACENT), (c) for pitched parts, the share of beats whose chord is the target bar's chord moved
by one interval, the same for the whole bar (the same harmony, or the same progression on another root:
the part's notes are then moved by that interval, as a bass or piano pattern moves to the next chord; a
melody is never moved, it repeats at its pitch), and (d) the similarity of the parts that stay, in the
candidate bar and in the target bar, for pitched parts (a verse's melody comes back over the verse's
accompaniment; a drum groove follows its own bars: with (d) the sources chosen for drums matched their
truth 0.911 on the valid split's accompaniment regions, without it 0.928, and the test split's drum
checks fell). The
region then takes one place for all its bars (``phrase_sources``): the lag and side with the highest
total, as a phrase repeats a phrase, except a bar that has a much better bar over its own chord; a bar
where the part rests there rests in the region too.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np

from engine.analysis.chord_vocab import QUALITY_NAMES, chord_pitch_classes
from engine.representation.encode import SAEncoding
from engine.representation.masks import InfillProblem, Selection, locked_rows
from engine.representation.vocab import (
    CHORD_ROW,
    COL_DURATION,
    COL_INSTRUMENT,
    COL_ONSET,
    COL_PITCH,
    COLUMN_SIZES,
    FIRST_CHORD,
    FIRST_PITCH,
    FIRST_POS,
    MASK,
    MAX_BAR_LENGTH,
    NO_CHORD,
    PAD,
    PITCH_MAX,
    PITCH_MIN,
    token_chord,
)

# Every lag up to MAX_LAG bars: grooves repeat every bar or two, phrases every 4 or 8, and a verse or chorus
# comes back 16 to 64 bars later, after the sections between (a pickup bar or an interlude shifts it off
# any multiple of 4). With lags 1, 2, 4, 8, 12 and 16 only, the source chosen for an 8-bar region's
# melody matched its truth bar for bar (onsets and pitches) 0.34 on 40 valid-split songs; with every lag
# to 64 and the kept parts compared (source_bars, (d)) 0.62, accompaniment 0.57 -> 0.70.
MAX_LAG = 64
LAGS: tuple[int, ...] = tuple(range(1, MAX_LAG + 1))
MIN_PAIRS = 4  # bar pairs a lag's self-similarity is averaged over at least (self_similarity)
BEAT = 8  # 32nds: chords are compared at every quarter note
NEAR = 1e-3  # score penalty per bar of lag: the nearest of equally good bars
MOVED = 0.05  # score penalty for a source whose chords match only moved to another root
OVERRIDE = 0.5  # a bar leaves the region's phrase for a candidate scoring this much higher (phrase_sources)
CONTEXT_BARS = 8  # bars each side of the region whose repeats are counted (as part_limits and evaluate)
DENSITY_COST = 0.5  # per bar and per doubling: a phrase busier or sparser than the bars next to the region
# Weight of (b), a candidate's likeness to the bars next to the region, against (a), (c) and (d) at 1: at
# 1 it chose bars like the region's edges for every bar of a phrase. Mean truth similarity (Dice of onset
# and pitch per bar) of the sources chosen for the melody, drums, accompaniment and whole-track regions
# of 150 POP909 + band train-split songs, at weight 1 / 0.5 / 0: 0.691 / 0.701 / 0.700 (melodies 0.692 /
# 0.716 / 0.717, drums 0.901 / 0.902 / 0.900); the whole valid split 0.675 / 0.687 / 0.687 (drums 0.905 /
# 0.903 / 0.897).
ADJACENT = 0.5


def bar_pattern(encoding: SAEncoding, track: int, bar: int) -> frozenset[tuple[int, int]]:
    """The (onset token, pitch token) pairs ``track`` plays in grid ``bar``: its rhythm and notes there."""
    rows = encoding.bar_rows(bar)
    t = encoding.tokens[rows]
    own = encoding.track_of_row[rows] == track
    return frozenset(zip(t[own, COL_ONSET].tolist(), t[own, COL_PITCH].tolist(), strict=True))


def pattern_similarity(a: frozenset, b: frozenset) -> float:
    """Dice coefficient 2|a ∩ b| / (|a| + |b|) of two bar patterns; 1 for two empty bars."""
    if not a and not b:
        return 1.0
    return 2.0 * len(a & b) / (len(a) + len(b))


def bar_chords(encoding: SAEncoding, bar: int) -> np.ndarray:
    """int64 [beats]: the chord token sounding at each quarter-note position of grid ``bar`` (chord rows)."""
    rows = encoding.bar_rows(bar)
    t = encoding.tokens[rows]
    chord = t[:, COL_INSTRUMENT] == CHORD_ROW
    pos = t[chord, COL_ONSET] - FIRST_POS
    tok = t[chord, COL_PITCH]
    order = np.argsort(pos, kind="stable")
    pos, tok = pos[order], tok[order]
    beats = np.arange(0, encoding.grid.bar_length(bar), BEAT)
    if len(pos) == 0:
        return np.full(len(beats), -1, dtype=np.int64)
    idx = np.clip(np.searchsorted(pos, beats, side="right") - 1, 0, None)
    return tok[idx].astype(np.int64)


def moved_chords(tokens: np.ndarray, interval: int | np.ndarray) -> np.ndarray:
    """Chord tokens with their roots moved up ``interval`` semitones (N.C. and non-chord tokens stay);
    ``interval`` may be an array that broadcasts against ``tokens``."""
    q = len(QUALITY_NAMES)
    is_chord = (tokens >= FIRST_CHORD) & (tokens < NO_CHORD)
    root, quality = np.divmod(tokens - FIRST_CHORD, q)
    return np.where(is_chord, FIRST_CHORD + ((root + interval) % 12) * q + quality, tokens)


def chord_match(source: np.ndarray, target: np.ndarray) -> tuple[float, int]:
    """(share of beats, interval): the interval 0-11 that moves ``source``'s chords onto ``target``'s at the
    most beats (0 on a tie), and that share. Two bars without a chord match at interval 0."""
    if len(target) == 0 or len(source) != len(target):
        return 0.0, 0
    moved = moved_chords(np.asarray(source)[None, :], np.arange(12)[:, None])  # [12, beats], one row per interval
    shares = (moved == np.asarray(target)[None, :]).mean(axis=1)
    best = int(np.argmax(shares))  # the first maximum: interval 0 when it is as good
    return float(shares[best]), best


def _is_pitch(tokens: np.ndarray) -> np.ndarray:
    """bool, elementwise: the pitch-column tokens that are note pitches (not PAD, MASK or a chord)."""
    return (tokens >= FIRST_PITCH) & (tokens < FIRST_CHORD)


@cache
def _chord_tones() -> np.ndarray:
    """bool [V_pitch, 12]: the tones of each chord token (``vocab.token_chord``); no tone for N.C. and for
    every token that is not a chord."""
    table = np.zeros((COLUMN_SIZES[COL_PITCH], 12), dtype=bool)
    for tok in range(len(table)):
        chord = token_chord(tok)
        if chord is not None and chord[0] is not None:
            table[tok, sorted(chord_pitch_classes(*chord))] = True
    return table


def chord_fit(onset: np.ndarray, pitch: np.ndarray, source_chords: np.ndarray, target_chords: np.ndarray) -> np.ndarray:
    """bool [n]: which seeded notes (onset and pitch tokens, pitch MASK for none) still fit where they land.

    A note fits when the target bar has the source's chord (after the move) at the note's beat, so a passing
    tone stays a passing tone; or when its pitch class is a tone of the target's chord; or when the target
    has no chord there. Otherwise the note keeps its rhythm and its pitch is generated: a copied bar over
    other chords cost the chord-tone ratio 0.834 -> 0.712 at novelty 0.3 (valid split, model card).
    ``source_chords``/``target_chords``: chord tokens per quarter (``bar_chords``), the source's moved."""
    onset, pitch = np.asarray(onset, dtype=np.int64), np.asarray(pitch, dtype=np.int64)
    if len(target_chords) == 0:
        return np.ones(len(onset), dtype=bool)
    beat = np.clip((onset - FIRST_POS) // BEAT, 0, len(target_chords) - 1)
    target = target_chords[beat]
    same = np.zeros(len(onset), dtype=bool)
    if len(source_chords) == len(target_chords):
        same = source_chords[beat] == target
    tones = _chord_tones()[np.clip(target, 0, None)]  # [n, 12]; bar_chords gives -1 for a bar without chords
    is_chord = tones.any(axis=1)
    tone = tones[np.arange(len(pitch)), (pitch - FIRST_PITCH + PITCH_MIN) % 12]
    return ~_is_pitch(pitch) | ~is_chord | same | tone


def self_similarity(near: dict[int, frozenset], patterns: dict[int, frozenset], offset: int) -> float:
    """How well a part repeats ``offset`` bars away (negative: earlier) around the region: the mean pattern
    similarity of each bar of ``near`` with the bar ``offset`` from it, over the pairs where either plays,
    counted over at least MIN_PAIRS pairs (missing pairs count 0), so that a long lag compared on one
    or two bars near the song's ends does not outscore a lag seen repeating on a whole phrase."""
    sims = [pattern_similarity(p, patterns[b + offset]) for b, p in near.items()
            if b + offset in patterns and (p or patterns[b + offset])]
    return float(np.sum(sims)) / max(len(sims), MIN_PAIRS) if sims else 0.0


def source_bars(encoding: SAEncoding, track: int, start_bar: int, end_bar: int, pitched: bool = True,
                chords_known: bool = True, moves: bool = True, lags: tuple[int, ...] = LAGS,
                kept: tuple[int, ...] = ()) -> dict[int, tuple[int, int]]:
    """For each grid bar of [``start_bar``, ``end_bar``): (source bar, interval) — the bar outside it that
    ``track`` most likely repeats there and the semitones (0-11) its notes move by (module docstring), if
    any. Only bars of the encoded range, of the target's length and one SA bar long (at most
    MAX_BAR_LENGTH 32nds) are sources; a bar where the part rests is one (the region rests there too:
    without rests, regenerated melodies played 6.7 notes a bar where the truth has 5.8), but a part that
    rests in every source bar chosen has none. ``pitched``: compare
    chords (False for drums); ``chords_known``: the region's chords are given (False when they are being
    regenerated too, then chords are not compared); ``moves``: a source may be moved onto the target's
    chords (False for a melody, which repeats at its pitch: moved, its notes leave the key)."""
    grid = encoding.grid
    outside = [b for b in range(encoding.first_bar, encoding.end_bar) if not start_bar <= b < end_bar]
    patterns = {b: bar_pattern(encoding, track, b) for b in outside}
    near = {b: p for b, p in patterns.items() if start_bar - CONTEXT_BARS <= b < end_bar + CONTEXT_BARS}
    rep = {(lag, side): self_similarity(near, patterns, side * lag) for lag in lags for side in (-1, 1)}
    # the bars just before and after the region; a candidate that is one of them is compared with the
    # other only: its likeness to itself (1) made a song's last bar, next to a region before it, the source
    # of the region's first bar (a fresh-user run: the demo melody's bar 9 always held the song's final note)
    adjacent = [(b, patterns[b]) for b in (start_bar - 1, end_bar) if b in patterns and patterns[b]]
    chords: dict[int, np.ndarray] = {}  # per bar, read once

    def chords_of(bar: int) -> np.ndarray:
        if bar not in chords:
            chords[bar] = bar_chords(encoding, bar)
        return chords[bar]
    kept_set = frozenset(kept)
    kept_patterns: dict[int, dict[int, frozenset]] = {}  # per bar: kept track -> its pattern there
    near_adjacent: dict[int, float] = {}  # per candidate bar: its likeness to the bars next to the region
    matches: dict[tuple[bytes, bytes], tuple[float, int]] = {}

    def kept_in(bar: int) -> dict[int, frozenset]:
        if bar not in kept_patterns:
            rows = encoding.bar_rows(bar)
            t, tracks = encoding.tokens[rows], encoding.track_of_row[rows].tolist()
            by_track: dict[int, set] = {}
            for k, onset, pitch in zip(tracks, t[:, COL_ONSET].tolist(), t[:, COL_PITCH].tolist(), strict=True):
                if k in kept_set:
                    by_track.setdefault(k, set()).add((onset, pitch))
            kept_patterns[bar] = {k: frozenset(v) for k, v in by_track.items()}
        return kept_patterns[bar]

    def kept_similarity(target: int, source: int) -> float:
        # how alike the parts that stay are in the two bars (a verse's second time under its melody): the
        # mean over the kept parts that play in either bar (one silent in both says nothing)
        a, b2 = kept_in(target), kept_in(source)
        playing = a.keys() | b2.keys()
        if not playing:
            return 0.0
        empty: frozenset = frozenset()
        return sum(pattern_similarity(a.get(k, empty), b2.get(k, empty)) for k in playing) / len(playing)
    # per bar: (lag, -1 before / +1 after) -> (score, (source, interval))
    candidates: dict[int, dict[tuple[int, int], tuple[float, tuple[int, int]]]] = {}
    for b in range(start_bar, end_bar):
        length = grid.bar_length(b)
        if length > MAX_BAR_LENGTH:
            continue
        target_chords = chords_of(b) if pitched and chords_known else None
        per_bar: dict[tuple[int, int], tuple[float, tuple[int, int]]] = {}
        for lag in lags:
            for side in (-1, 1):
                c = b + side * lag
                if c not in patterns or grid.bar_length(c) != length:
                    continue  # a bar where the part rests is a source too: its repeat is a rest
                score = rep[(lag, side)] - NEAR * lag
                if c not in near_adjacent:
                    near_adjacent[c] = max((pattern_similarity(patterns[c], a) for b_a, a in adjacent if b_a != c), default=0.0)
                score += ADJACENT * near_adjacent[c]
                if kept:
                    score += kept_similarity(b, c)
                interval = 0
                if target_chords is not None:
                    key = (chords_of(c).tobytes(), target_chords.tobytes())
                    if key not in matches:  # bars share chords: each pair of progressions is compared once
                        matches[key] = chord_match(chords_of(c), target_chords) if moves else (same_chords(chords_of(c), target_chords), 0)
                    share, interval = matches[key]
                    score += share - (MOVED if interval else 0.0)
                per_bar[(lag, side)] = (score, (c, interval))
        if per_bar:
            candidates[b] = per_bar
    out = phrase_sources(candidates, cost=_density_costs(encoding, track, candidates, start_bar, end_bar))
    if not any(patterns[c] for c, _ in out.values()):
        return {}  # the part rests wherever it could repeat from: nothing to start from
    return out


def _density_costs(encoding: SAEncoding, track: int, candidates: dict, start_bar: int, end_bar: int) -> dict[tuple[int, int], float]:
    """Per (lag, side): DENSITY_COST x |log2| of (notes per bar of the phrase's source bars + 1) over (notes
    per bar of ``track`` in the bars just before and after the region + 1). A part repeats what it plays
    now: the demo's bass plays 8 notes a bar around bars 9-12 and 2 in the intro 8 bars back, and with
    equal chords and self-similarity the intro's phrase won, so the regenerated bass played 10 notes where
    the song plays 32. Empty when neither neighbouring bar is in the song."""
    per_bar = np.bincount(encoding.bar_of_row[encoding.track_of_row == track] - encoding.first_bar,
                          minlength=encoding.end_bar - encoding.first_bar)
    near = [int(per_bar[b - encoding.first_bar]) for b in (start_bar - 1, end_bar)
            if encoding.first_bar <= b < encoding.end_bar]
    if not near:
        return {}
    now = float(np.mean(near))
    out: dict[tuple[int, int], float] = {}
    for key in {k for c in candidates.values() for k in c}:
        sources = [c[key][1][0] for c in candidates.values() if key in c]
        mean = float(np.mean([per_bar[b - encoding.first_bar] for b in sources]))
        out[key] = DENSITY_COST * abs(np.log2((mean + 1.0) / (now + 1.0)))
    return out


def phrase_sources(candidates: dict[int, dict[tuple[int, int], tuple[float, tuple[int, int]]]],
                   override: float = OVERRIDE, cost: dict[tuple[int, int], float] | None = None) -> dict[int, tuple[int, int]]:
    """One source phrase for the whole region: the (lag, side) whose sources for the region's bars, as
    assigned below, score highest in total, a bar off the phrase's lag counting its score less OVERRIDE
    (the smaller lag, then the bars before, on a tie). A bar without a candidate there takes the same lag
    from the other side, else its own best (the first, in lag order, of equal scores); so does a bar
    whose own best scores more than ``override`` above the phrase's bar: in practice a bar
    whose chords the phrase's bar does not have, since a part follows its chords (with one place for every
    bar and no exception, the real band chord-tone ratio fell 0.870 -> 0.838; with it, 0.860).
    ``candidates``: per target bar, per (lag in bars, -1 before / +1 after), (score, (source bar, interval)).
    ``cost``: per (lag, side), a cost per bar the phrase covers (``_density_costs``).

    Chosen bar by bar, the sources of an 8-bar melody changed from bar to bar (lags 1 to 16, before and
    after: in all 32 regions of 16 POP909 songs looked at), so its line broke at every change of source; a
    region repeats its song as a phrase does, every bar from the same place (30 POP909 test melodies at
    novelty 0: onset-interval overlap 0.763 -> 0.812, PCTM L1 0.985 -> 0.912; model card, "Novelty")."""
    if not candidates:
        return {}
    cost = cost or {}

    # per bar: every candidate's score less its phrase's density cost, and the best of them
    values = {b: {k: v[0] - cost.get(k, 0.0) for k, v in c.items()} for b, c in candidates.items()}
    tops = {b: max(value, key=value.__getitem__) for b, value in values.items()}

    def assign(lag: int, side: int) -> dict[int, tuple[float, tuple[int, int]]]:
        # per bar: (its value to the phrase, its source); a bar off the phrase's lag costs OVERRIDE
        out = {}
        for b, c in candidates.items():
            value, top = values[b], tops[b]
            key = (lag, side) if (lag, side) in c else (lag, -side) if (lag, -side) in c else None
            if key is None or value[top] - value[key] > override:
                out[b] = (value[top] - OVERRIDE, c[top][1])
            else:
                out[b] = (value[key], c[key][1])
        return out

    keys = sorted({k for c in candidates.values() for k in c}, key=lambda k: (k[0], k[1]))
    # Each phrase is judged by the region it gives. Summed over the bars it covers alone, a lag reaching
    # every bar (the demo's intro, 8 bars back) beat a better one that needs both sides, and the demo's
    # drums took the intro's beat without a snare; without the cost of leaving it, the lag covering
    # fewest bars won and every bar went back to its own best.
    plans = [assign(*k) for k in keys]
    best_plan = max(plans, key=lambda plan: sum(v[0] for v in plan.values()))  # the first of equal totals
    return {b: v[1] for b, v in best_plan.items()}


def same_chords(source: np.ndarray, target: np.ndarray) -> float:
    """Share of beats where ``source`` has ``target``'s chord, unmoved (0 for bars of other lengths)."""
    if len(target) == 0 or len(source) != len(target):
        return 0.0
    return float(np.mean(source == target))


def choose_move(pitch: np.ndarray, interval: int, ref: float | None) -> int:
    """Semitones to move a source bar's notes (pitch tokens) onto chords ``interval`` (1-11) higher: up by
    ``interval`` or down by 12 - ``interval``, whichever brings their mean nearer ``ref`` (the mean pitch
    token of the part's bar before), so a moved bar does not jump an octave off the part's line; the
    smaller move without a ``ref`` or a pitch (a tritone: up)."""
    moves = sorted((interval, interval - 12), key=abs)
    pitch = np.asarray(pitch)
    pitch = pitch[_is_pitch(pitch)]
    if ref is not None and len(pitch):
        moves.sort(key=lambda m: abs(float(pitch.mean()) + m - ref))
    return moves[0]


def _mean_pitch(encoding: SAEncoding, track: int, bar: int) -> float | None:
    """Mean pitch token of ``track``'s notes in grid ``bar`` (None: no note there, or a bar not encoded)."""
    if not encoding.first_bar <= bar < encoding.end_bar:
        return None
    rows = encoding.bar_rows(bar)
    t = encoding.tokens[rows][encoding.track_of_row[rows] == track, COL_PITCH]
    t = t[_is_pitch(t)]
    return float(t.mean()) if len(t) else None


def region_seeds(encoding: SAEncoding, selection: Selection) -> dict[tuple[int, int], np.ndarray]:
    """(track, grid bar) -> int64 [n, 3]: the (onset, pitch, duration) tokens of the notes each regenerated
    part's repeat plays in each bar of ``selection`` ('all' only; else empty), in the encoding's order:
    the rows of its source bar (``source_bars``), moved onto the target's chords where the source is (a
    melody never is), a pitch that leaves the keyboard or no longer fits its chord (``chord_fit``) MASK.
    A bar where the repeat rests maps to an empty array. Bars with locked notes, tracks new to the song and
    parts silent around the region have none.

    One plan for the whole selection, read from an encoding of the whole song: infill splits a long
    selection into parts sampled in turn on windowed encodings, and chosen per part the repeat changed
    place from one part to the next (a real-band melody whose source is 60 bars back took the bars after
    the region for its second half, and the song's next phrase came in a bar early), or lost a source the
    window did not reach. ``seed_rows`` then places these notes in one part's slots."""
    if selection.attributes != "all":
        return {}
    n = encoding.n_tracks
    regenerated = set(range(n)) if selection.tracks is None else {t for t in selection.tracks if 0 <= t < n}
    staying = tuple(t for t in range(n) if t not in regenerated)
    lo, hi = selection.start_bar, selection.end_bar
    locked_at = locked_rows(encoding, selection)
    locked = {(int(t), int(b)) for t, b in zip(encoding.track_of_row[locked_at], encoding.bar_of_row[locked_at], strict=True)}
    out: dict[tuple[int, int], np.ndarray] = {}
    for track in sorted(regenerated):
        category = encoding.categories[track]
        pitched = category != "DRUMS"
        src = source_bars(encoding, track, lo, hi, pitched, chords_known=not selection.chords,
                          moves=category != "MELODY", kept=staying if pitched else ())
        ref = _mean_pitch(encoding, track, lo - 1) if pitched else None  # the register the part comes from
        for bar, (source, interval) in sorted(src.items()):
            if (track, bar) in locked:
                ref = None
                continue
            enc_rows = encoding.bar_rows(source)
            cells = encoding.tokens[enc_rows][encoding.track_of_row[enc_rows] == track][:, [COL_ONSET, COL_PITCH, COL_DURATION]].copy()
            if interval:  # the pattern on the target's chords, moved up or down: whichever stays nearer the
                # register of the bar before (else the nearer move), so moved bars do not jump an octave
                moved = cells[:, 1] + choose_move(cells[:, 1], interval, ref)
                ok = (moved >= FIRST_PITCH) & (moved <= FIRST_PITCH + PITCH_MAX - PITCH_MIN)
                cells[:, 1] = np.where(ok, moved, MASK)  # a note moved off the keyboard: generated
            if pitched and not selection.chords:
                fits = chord_fit(cells[:, 0], cells[:, 1], moved_chords(bar_chords(encoding, source), interval),
                                 bar_chords(encoding, bar))
                cells[:, 1] = np.where(fits, cells[:, 1], MASK)
            out[(track, bar)] = cells.astype(np.int64)
            kept = cells[:, 1][_is_pitch(cells[:, 1])]
            ref = float(kept.mean()) if len(kept) else ref
    return out


def seed_slot_floor(seeds: dict[tuple[int, int], np.ndarray], density: float = 1.0) -> dict[tuple[int, int], int]:
    """(track, grid bar) -> the slots a bar needs to hold its repeat's notes (``region_seeds``) x the density
    prompt where it asks for fewer (``density`` < 1), for ``masks.build_problem``'s ``slot_floor``.

    Slots per bar are 1.25 x a part's mean notes per bar over the whole song (masks.estimate_slots), so a
    bar busier than the song's average (a run of 16ths in a melody that mostly holds long notes) lost the
    end of its repeat: on the real-band validation melodies, 32 of 568 seeded notes, and in one song 22 of
    the 34 notes of its two runs. Training gives every bar its own notes' count plus empty slots, so a
    bar's slots following its repeat are what the network was trained on."""
    scale = min(float(density), 1.0)
    return {key: int(np.ceil(len(cells) * scale)) for key, cells in seeds.items() if len(cells)}


def seed_rows(encoding: SAEncoding, problem: InfillProblem, region: tuple[int, int] | None = None,
              density: float = 1.0, seeds: dict[tuple[int, int], np.ndarray] | None = None) -> np.ndarray | None:
    """int64 [R, 4]: for the note slots of ``problem`` (regenerated 'all'), the notes of the part's repeat
    (``region_seeds``) followed by PAD rows, in the cells the sampler would generate only; MASK everywhere
    else. None when no slot has a seed (new tracks, 'pitch'/'rhythm' regeneration, a part silent around
    the region). A repeat with more notes than the bar has slots gives its first notes (onset order); infill
    gives each bar the slots its repeat needs (``seed_slot_floor``). ``seeds``: ``region_seeds`` of the
    whole selection on the whole song (infill); without, they are found on ``encoding`` for ``region``,
    the bars [start, end) of the whole selection when ``problem`` is one part of it: no bar of it is a
    source, since its old notes are being replaced (and may not fit edited chords).
    ``density``: the factor the density prompt put on the slots (infill); above 1 the last 1 - 1/density
    of a bar's slots stay MASK (no seed) unless the source's notes need them, so the part can play more
    notes than its repeat: the sampler keeps a seeded empty slot empty (absorbing.reveal_seeds)."""
    sel = problem.selection
    if sel.attributes != "all":
        return None
    if seeds is None:
        lo, hi = region if region is not None else (sel.start_bar, sel.end_bar)
        seeds = region_seeds(encoding, replace(sel, start_bar=min(lo, sel.start_bar), end_bar=max(hi, sel.end_bar)))
    given = problem.example.given
    out = np.full(given.shape, MASK, dtype=np.int64)
    slot = (problem.source_row < 0) & (problem.track_of_row >= 0) & (problem.track_of_row < problem.n_tracks)
    slot &= ~given[:, COL_ONSET]
    found = False
    for (track, bar), notes in seeds.items():  # bars with locked notes have none (region_seeds)
        if not sel.start_bar <= bar < sel.end_bar:
            continue
        rows = np.flatnonzero(slot & (problem.track_of_row == track) & (problem.bar_of_row == bar))
        if len(rows) == 0:
            continue
        notes = notes[: len(rows)]
        cells = np.full((len(rows), 3), PAD, dtype=np.int64)
        cells[: len(notes)] = notes
        out[rows, COL_ONSET:] = cells
        if density > 1.0:  # the slots the prompt added beyond the repeat's own: free
            out[rows[max(len(notes), int(np.ceil(len(rows) / density))):], COL_ONSET:] = MASK
        found = True
    if not found:
        return None
    return np.where(given, MASK, out)


def seed_register(seeds: np.ndarray, problem: InfillProblem, within: np.ndarray | None = None,
                  margin: int = 2) -> np.ndarray | None:
    """bool [R, V_pitch]: for the seeded slots of each pitched part's bar, the pitches within ``margin``
    semitones of the range its seed notes span (the repeat's register in that bar); every class elsewhere.
    The rows the sampler generates between kept seed rows then stay in the bar's register instead of
    leaping off it. ``within``: the part limits (``part_limits.pitch_allowed``) to narrow, kept as they are
    in a bar whose register they exclude. None when no bar has a seeded pitch and ``within`` is None.
    ``seeds``: ``seed_rows``'s array."""
    seeded = seeds[:, COL_ONSET] != MASK
    is_pitch = _is_pitch(seeds[:, COL_PITCH])
    allowed = np.ones((len(seeds), COLUMN_SIZES[COL_PITCH]), dtype=bool) if within is None else within.copy()
    limited = within is not None
    n_pitch = PITCH_MAX - PITCH_MIN + 1
    for track, bar in {(int(t), int(b)) for t, b in zip(problem.track_of_row[seeded], problem.bar_of_row[seeded], strict=True)}:
        if problem.categories[track] == "DRUMS":
            continue
        rows = seeded & (problem.track_of_row == track) & (problem.bar_of_row == bar)
        pitches = seeds[rows & is_pitch, COL_PITCH] - FIRST_PITCH
        if len(pitches) == 0:
            continue
        lo, hi = max(int(pitches.min()) - margin, 0), min(int(pitches.max()) + margin, n_pitch - 1)
        cols = np.arange(FIRST_PITCH + lo, FIRST_PITCH + hi + 1)
        for r in np.flatnonzero(rows):
            keep = np.zeros(allowed.shape[1], dtype=bool)
            keep[cols] = allowed[r, cols]
            if keep.any():
                allowed[r, FIRST_PITCH : FIRST_PITCH + n_pitch] = keep[FIRST_PITCH : FIRST_PITCH + n_pitch]
                limited = True
    return allowed if limited else None

