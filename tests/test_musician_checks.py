"""The checks a musician would make (engine/evaluate/musician.py), each on hand-made parts where it must
pass and where it must fail. Positions are 32nds: a 4/4 bar is 32, a beat 8."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.analysis.grid import beat_grid
from engine.evaluate.metrics import METRIC_NAMES, Region, chord_table, region_metrics
from engine.evaluate.musician import (
    backbeat,
    backbeat_share,
    bar_cells,
    context_range_share,
    dice,
    drum_piece,
    kick_on_one,
    kit_adherence,
    leap_rate,
    line_overlap,
    line_tracks,
    mean_duration,
    notes_per_onset,
    overlapping,
    piece_context_similarity,
    piece_similarity,
)
from engine.score import ChordLabel, Note, Score, TimeSignature, Track

BAR = 32
KICK, SNARE, CLAP, HAT, RIDE, TOM, CRASH, TAMBOURINE = 36, 38, 39, 42, 51, 45, 49, 54


def _bars(n: int, length: int = BAR, first: int = 0) -> np.ndarray:
    return np.arange(first, first + (n + 1) * length, length)


def rock(bars: int = 4, first: int = 0, kick: int = KICK, hat: int = HAT) -> tuple[np.ndarray, np.ndarray]:
    """(onsets, keys): kick on 1 and 3, snare on 2 and 4, hi-hat eighths, per 4/4 bar from ``first``."""
    onset, key = [], []
    for b in range(bars):
        s = first + b * BAR
        onset += [s, s + 16, s + 8, s + 24] + [s + 4 * i for i in range(8)]
        key += [kick, kick, SNARE, SNARE] + [hat] * 8
    return np.asarray(onset), np.asarray(key)


def hats_only(bars: int = 4, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
    onset = np.asarray([first + b * BAR + 4 * i for b in range(bars) for i in range(8)])
    return onset, np.full(len(onset), HAT)


# -- drums ------------------------------------------------------------------------------------------------------
def test_gm_drum_map_pieces() -> None:
    names = ("kick", "snare", "hats", "toms", "crash", "other")
    got = [names[i] for i in drum_piece(np.asarray([35, 36, 37, 38, 39, 40, 42, 46, 51, 41, 50, 49, 57, 54, 56, 0, 127]))]
    assert got == ["kick", "kick", "snare", "snare", "snare", "snare", "hats", "hats", "hats", "toms", "toms",
                   "crash", "crash", "other", "other", "other", "other"]


def test_bar_cells_and_dice() -> None:
    cells = bar_cells(np.asarray([0, 3, 33, 99]), _bars(2))  # 99 is past the end
    assert cells.shape == (2, 16) and np.flatnonzero(cells[0]).tolist() == [0, 1] and np.flatnonzero(cells[1]).tolist() == [0]
    a = np.asarray([[1, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]], dtype=bool)
    b = np.asarray([[1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]], dtype=bool)
    assert dice(a, b).tolist() == pytest.approx([2 / 3, 1.0, 0.0])


def test_piece_similarity_sees_a_missing_kick() -> None:
    truth = rock()
    same = piece_similarity(*truth, *truth, _bars(4))
    assert same["kick"] == same["snare"] == same["hats"] == 1.0
    assert all(math.isnan(same[p]) for p in ("toms", "crash", "other"))
    hats = piece_similarity(*hats_only(), *truth, _bars(4))
    assert hats["kick"] == 0.0 and hats["snare"] == 0.0 and hats["hats"] == 1.0
    # A fill that moves the kick by an eighth in one bar of four: that bar's kick shares one of two onsets.
    o, k = rock()
    o = o.copy()
    o[1] += 4  # bar 1's second kick
    assert piece_similarity(o, k, *truth, _bars(4))["kick"] == pytest.approx((3 + 0.5) / 4)


def test_piece_context_similarity() -> None:
    region = _bars(2, first=4 * BAR)
    ctx_bars = [(b * BAR, (b + 1) * BAR) for b in range(4)]
    ctx = rock(4)
    good = piece_context_similarity(*rock(2, first=4 * BAR), *ctx, region, ctx_bars)
    assert good["kick"] == good["snare"] == good["hats"] == 1.0 and math.isnan(good["toms"])
    bad = piece_context_similarity(*hats_only(2, first=4 * BAR), *ctx, region, ctx_bars)
    assert bad["kick"] == 0.0 and bad["snare"] == 0.0 and bad["hats"] == 1.0
    # A context whose intro bar has no kick: a kick-less bar matches that bar (the context does it too).
    intro_o, intro_k = hats_only(1)
    o, k = rock(3, first=BAR)
    mixed = piece_context_similarity(*hats_only(2, first=4 * BAR), np.r_[intro_o, o], np.r_[intro_k, k], region, ctx_bars)
    assert mixed["kick"] == 1.0
    # No context bar of the region's length: nothing to compare with.
    assert math.isnan(piece_context_similarity(*rock(2, first=4 * BAR), *ctx, region, [(0, 24)])["kick"])


def test_kit_adherence() -> None:
    o, k = rock(4)
    t = np.zeros(len(k), dtype=np.int64)
    assert kit_adherence(k, t, k, t) == 1.0
    # The same groove on bass drum 35 instead of 36 and a tambourine instead of the hi-hat: 2 of 12 per bar kept.
    _, swapped = rock(4, kick=35, hat=TAMBOURINE)
    assert kit_adherence(swapped, t, k, t) == pytest.approx(2 / 12)
    assert math.isnan(kit_adherence(k, t, k[:0], t[:0]))  # silent context: no kit to keep


def test_kick_on_one_and_backbeat() -> None:
    assert kick_on_one(*rock(4), _bars(4)).tolist() == [True] * 4
    assert kick_on_one(*hats_only(4), _bars(4)).tolist() == [False] * 4  # hats only: fails
    o, k = rock(4)
    late = np.where((k == KICK) & (o % BAR == 0), o + 4, o)  # kick an eighth late
    assert not kick_on_one(late, k, _bars(4)).any()
    hit, valid = backbeat(*rock(4), _bars(4))
    assert hit.all() and valid.all()
    hit, _ = backbeat(*hats_only(4), _bars(4))
    assert not hit.any()
    # A clap on 2 and 4 is a backbeat too; a snare on 2 only is not.
    assert backbeat(np.asarray([8, 24]), np.asarray([CLAP, CLAP]), _bars(1))[0].tolist() == [True]
    assert backbeat(np.asarray([8]), np.asarray([SNARE]), _bars(1))[0].tolist() == [False]
    # 3/4 bars have no backbeat to check.
    assert backbeat(np.asarray([8, 24]), np.asarray([SNARE, SNARE]), _bars(2, length=24))[1].tolist() == [False, False]


def test_backbeat_share_only_where_the_context_has_one() -> None:
    region = _bars(2, first=4 * BAR)
    ctx = rock(4)
    assert backbeat_share(*rock(2, first=4 * BAR), region, *ctx, [_bars(4)]) == 1.0
    assert backbeat_share(*hats_only(2, first=4 * BAR), region, *ctx, [_bars(4)]) == 0.0
    assert math.isnan(backbeat_share(*rock(2, first=4 * BAR), region, *hats_only(4), [_bars(4)]))


# -- register ---------------------------------------------------------------------------------------------------
def test_context_range_fails_a_bass_jumping_to_e5() -> None:
    ctx = np.asarray([24, 26, 31, 36, 38])  # C1 .. D2
    t0 = np.zeros(5, dtype=np.int64)
    assert context_range_share(np.asarray([24, 40, 22]), np.zeros(3, dtype=np.int64), ctx, t0) == 1.0  # ±2 kept
    gen = np.asarray([24, 31, 76, 83])  # E5 and B5
    assert context_range_share(gen, np.zeros(4, dtype=np.int64), ctx, t0) == 0.5
    # A track silent in its context is left out.
    assert math.isnan(context_range_share(gen, np.ones(4, dtype=np.int64), ctx, t0))


def test_leap_rate() -> None:
    assert leap_rate(np.asarray([60, 62, 64, 79]), np.asarray([0, 8, 16, 24]), np.zeros(4)) == pytest.approx(1 / 3)
    # Block chords moving by step: no leap, whatever the spread inside a chord.
    chords = np.asarray([48, 64, 79, 50, 65, 81])
    assert leap_rate(chords, np.asarray([0, 0, 0, 8, 8, 8]), np.zeros(6)) == 0.0
    # Moves never cross tracks.
    assert leap_rate(np.asarray([30, 90]), np.asarray([0, 8]), np.asarray([0, 1])) != leap_rate(np.asarray([30, 90]), np.asarray([0, 8]), np.zeros(2))
    assert math.isnan(leap_rate(np.asarray([60]), np.asarray([0]), np.zeros(1)))


# -- line -------------------------------------------------------------------------------------------------------
def test_an_overlapping_melody_fails_line() -> None:
    line_o, line_d = np.asarray([0, 8, 16, 24]), np.asarray([8, 8, 8, 8])  # touching, not overlapping
    t = np.zeros(4, dtype=np.int64)
    assert not overlapping(line_o, line_d, t).any()
    assert line_tracks(line_o, line_d, t) == {0}
    assert line_overlap(line_o, line_d, t, {0}) == 0.0
    over_o, over_d = np.asarray([0, 4, 16, 24]), np.asarray([8, 8, 8, 8])  # the second starts under the first
    assert overlapping(over_o, over_d, t).tolist() == [True, True, False, False]
    assert line_overlap(over_o, over_d, t, {0}) == 0.5
    # A long note under two short ones: all three overlap.
    assert overlapping(np.asarray([0, 4, 8]), np.asarray([16, 2, 2]), np.zeros(3)).tolist() == [True, True, True]
    # Chords in the context: not a line, so the check does not apply.
    assert line_tracks(np.asarray([0, 0, 8, 8]), np.asarray([8] * 4), t) == set()
    assert math.isnan(line_overlap(over_o, over_d, t, set()))


# -- texture ----------------------------------------------------------------------------------------------------
def test_texture() -> None:
    assert notes_per_onset(np.asarray([0, 0, 0, 8, 8, 8]), np.zeros(6)) == 3.0
    assert notes_per_onset(np.asarray([0, 8, 16]), np.zeros(3)) == 1.0
    assert notes_per_onset(np.asarray([0, 0]), np.asarray([0, 1])) == 1.0  # two tracks, one note each
    assert mean_duration(np.asarray([4, 8, 12])) == 8.0
    assert math.isnan(notes_per_onset(np.asarray([]), np.asarray([]))) and math.isnan(mean_duration(np.asarray([])))


# -- in a region of a song ----------------------------------------------------------------------------------
TPB = 480  # a beat = 8 positions, so a position is 60 ticks


def _drum_notes(onsets: np.ndarray, keys: np.ndarray) -> list[Note]:
    return [Note(int(o) * 60, int(o) * 60 + 60, int(k), 100) for o, k in zip(onsets, keys, strict=True)]


def _band(drums: tuple[np.ndarray, np.ndarray], bass: list[int]) -> Score:
    line = [Note(b * 4 * TPB + i * 2 * TPB, b * 4 * TPB + (i + 1) * 2 * TPB, p, 90) for b in range(8)
            for i, p in enumerate((bass[b % len(bass)], bass[b % len(bass)] + 7))]
    return Score(TPB, [Track("Drums", 0, True, _drum_notes(*drums), category="DRUMS"),
                       Track("Bass", 33, False, line, category="BASS")],
                 time_signatures=[TimeSignature(0, 4, 4)], chords=[ChordLabel(0, 32 * TPB, 0, "")])


def test_region_checks_pass_the_truth_and_fail_a_hats_only_drum_part_and_a_high_bass() -> None:
    truth = _band(rock(8), [24, 26, 29, 31])
    grid = beat_grid(truth)
    region = Region(grid, (0, 1), 4, 6, ("DRUMS", "BASS"), chord_table(truth.chords))
    m = region_metrics(truth, truth, region)
    assert set(m) == set(METRIC_NAMES)
    assert m["drum_pattern_similarity"] == 1.0 and m["drum_kick_similarity"] == 1.0
    assert m["drum_context_similarity"] == 1.0 and m["kit_adherence"] == 1.0
    assert m["kick_on_one"] == 1.0 and m["backbeat"] == 1.0
    assert m["context_range"] == 1.0 and m["line_overlap"] == 0.0 and m["notes_per_onset"] == 1.0
    assert m["mean_duration"] == 16.0 and math.isnan(m["drum_toms_similarity"])
    # The same song with hats only in bars 5-6 and the bass up at E5/B5 there.
    o, k = rock(8)
    inside = (o >= 4 * BAR) & (o < 6 * BAR)
    ho, hk = hats_only(2, first=4 * BAR)
    bad = _band((np.r_[o[~inside], ho], np.r_[k[~inside], hk]), [24, 26, 29, 31])
    bad.tracks[1].notes = [Note(n.start, n.end, 76 if 16 * TPB <= n.start < 24 * TPB and n.start % (4 * TPB) == 0
                                else n.pitch, n.velocity) for n in bad.tracks[1].notes]  # E5 on each 1
    m = region_metrics(bad, truth, region)
    assert m["kick_on_one"] == 0.0 and m["backbeat"] == 0.0  # the musician's two first complaints
    assert m["drum_kick_similarity"] == 0.0 and m["drum_snare_similarity"] == 0.0 and m["drum_hats_similarity"] == 1.0
    assert m["drum_pattern_similarity"] == pytest.approx(1 / 3)
    assert m["drum_kick_context"] == 0.0 and m["kit_adherence"] == 1.0  # the hats are the song's own
    assert m["context_range"] == 0.5 and m["range_adherence"] == pytest.approx(18 / 20)  # 16 hats + 2 of 4 bass notes
    assert m["leap_rate"] == 1.0  # E5 down to G1/A1, up to E5, down again
    # A region without drums has no drum checks.
    m = region_metrics(truth, truth, Region(grid, (1,), 4, 6, ("DRUMS", "BASS"), chord_table(truth.chords)))
    assert math.isnan(m["kick_on_one"]) and math.isnan(m["drum_pattern_similarity"])


# -- prompt adherence ---------------------------------------------------------------------------------------
def test_prompt_adherence_measures() -> None:
    from engine.evaluate.metrics import empty_notes, score_notes
    from engine.evaluate.prompts import (
        PromptResult,
        adherence_ratio,
        data_profile,
        notes_per_beat,
        song_profile,
    )

    truth = _band(rock(8), [24, 26, 29, 31])
    grid = beat_grid(truth)
    bass = score_notes(truth, grid, (1,))
    assert notes_per_beat(bass, grid, 0, 8) == pytest.approx(16 / 32)  # two half notes a bar
    assert notes_per_beat(empty_notes(), grid, 0, 8) == 0.0
    # Training songs: slow ones play twice the notes per beat of fast ones; band versions thin the piano.
    songs = [song_profile("largo", ("MELODY", "PIANO"), [40, 160], 40.0),
             song_profile("largo", ("MELODY", "PIANO"), [40, 120], 40.0),
             song_profile("presto", ("MELODY", "PIANO", "DRUMS", "BASS", "ELECTRIC_GUITAR"), [40, 60, 200, 40, 80], 40.0)]
    data = data_profile(songs)
    assert data.by_tempo["largo"] == (3.5, 2) and data.by_tempo["presto"][1] == 4 and math.isnan(data.by_tempo["andante"][0])
    assert data.without_band["PIANO"] == (3.5, 2) and data.with_band["PIANO"] == (1.5, 1)
    assert "DRUMS" not in data.without_band
    # A model that follows the prompt halfway, one that ignores it, one that does the opposite.
    assert adherence_ratio(-1.0, -2.0) == 0.5 and adherence_ratio(0.0, -2.0) == 0.0 and adherence_ratio(1.0, -2.0) < 0
    assert math.isnan(adherence_ratio(0.3, 0.0))
    r = PromptResult()
    for a, b in ((2.0, 3.0), (1.0, 2.5), (float("nan"), 1.0)):
        r.add(1.0, "presto", a)
        r.add(1.0, "largo", b)
    eff = r.effect(1.0, "presto", "largo")
    assert eff.n == 2 and eff.mean == pytest.approx(-1.25) and eff.high <= -1.0
    assert r.effect(2.0, "presto", "largo").n == 0
    # Relative reading: a sparse part that halves its notes follows a data ratio of 0.5 fully, one that
    # keeps them does not at all, one that doubles them goes backwards.
    from engine.evaluate.prompts import relative_adherence

    half, same, double = PromptResult(), PromptResult(), PromptResult()
    for res, factor in ((half, 0.5), (same, 1.0), (double, 2.0)):
        for level in (0.4, 0.8, 1.2):
            res.add(1.0, "largo", level)
            res.add(1.0, "presto", level * factor)
    assert relative_adherence(half.log_ratio(1.0, "presto", "largo").mean, 1.0, 2.0) == pytest.approx(1.0)
    assert relative_adherence(same.log_ratio(1.0, "presto", "largo").mean, 1.0, 2.0) == pytest.approx(0.0)
    assert relative_adherence(double.log_ratio(1.0, "presto", "largo").mean, 1.0, 2.0) < 0
    assert math.isnan(relative_adherence(-0.3, 2.0, 2.0)) and r.log_ratio(1.0, "presto", "largo").n == 2


def test_guidance_change_reads_stronger_none_and_weaker() -> None:
    """The guidance curve's check: a model whose presto - largo grows with guidance reads a change whose
    interval is below 0 (the data's side), one that ignores guidance reads 0, one that weakens reads > 0."""
    from engine.evaluate.prompts import PromptResult

    def result(step: float) -> PromptResult:
        r = PromptResult()
        for k, level in enumerate((1.0, 1.5, 2.0, 2.5, 3.0)):
            for g in (1.0, 3.0):
                r.add(g, "largo", level)
                r.add(g, "presto", level * 0.8 - (step * (g - 1.0) * (1 + 0.1 * k)))
        return r

    stronger = result(0.1).guidance_change(3.0, 1.0, "presto", "largo")
    assert stronger.n == 5 and stronger.high < 0 and stronger.mean == pytest.approx(-0.24)
    assert result(0.1).guidance_change(3.0, 1.0, "presto", "largo", relative=True).high < 0
    none = result(0.0).guidance_change(3.0, 1.0, "presto", "largo")
    assert none.mean == pytest.approx(0.0) and none.low <= 0 <= none.high
    assert result(-0.1).guidance_change(3.0, 1.0, "presto", "largo").low > 0
    assert result(0.1).guidance_change(2.0, 1.0, "presto", "largo").n == 0  # no values at guidance 2


def test_leap_spike_counts_tell_a_spike_from_a_new_register() -> None:
    """bench.leap_spikes' count: a note out an octave and straight back is two spike moves; a line that
    leaps once into a new register and stays has one leap and no spike; steps have neither."""
    from bench.leap_spikes import outer_moves

    onsets = np.arange(6)
    assert outer_moves(np.array([36, 38, 62, 36, 38, 40]), onsets) == (10, 4, 4)  # top and low voice alike
    assert outer_moves(np.array([36, 38, 62, 64, 62, 60]), onsets) == (10, 2, 0)
    assert outer_moves(np.array([60, 62, 64, 65, 67, 69]), onsets) == (10, 0, 0)
