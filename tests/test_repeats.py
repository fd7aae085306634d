"""Novelty: a regenerated part can start from the bar it repeats (repeats.py, AbsorbingDiffusion.sample)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.analysis.chord_vocab import QUALITY_NAMES
from engine.analysis.grid import beat_grid
from engine.diffusion import collate
from engine.diffusion.batch import with_pitch_limits, with_seeds
from engine.evaluate.metrics import score_notes
from engine.evaluate.musician import backbeat, kick_on_one
from engine.infill import Prompts, Selection, infill
from engine.representation.encode import encode
from engine.representation.masks import build_infill_problem, split_selection
from engine.representation.repeats import (
    bar_pattern,
    choose_move,
    chord_fit,
    pattern_similarity,
    phrase_sources,
    region_seeds,
    seed_register,
    seed_rows,
    seed_slot_floor,
    source_bars,
)
from engine.representation.vocab import (
    COL_DURATION,
    COL_ONSET,
    COL_PITCH,
    COLUMN_SIZES,
    FIRST_CHORD,
    FIRST_PITCH,
    FIRST_POS,
    MASK,
    NO_CHORD,
    PAD,
    PITCH_MIN,
)
from engine.score import ChordLabel, Note, Score, Track
from tests.model_fixtures import plausible_model, tiny_model

BAR, BEAT = 1920, 480
INTRO = (36, 42)  # kick and hat on every beat: not the song's groove
GROOVE = ((0, 36), (0, 42), (240, 42), (480, 38), (480, 42), (720, 42), (960, 36), (960, 42), (1200, 42),
          (1440, 38), (1440, 42), (1680, 42))  # kick 1 and 3, snare 2 and 4, eighth hats


def _drum_song(bars: int = 16, intro: int = 4) -> Score:
    """An intro of ``intro`` bars (kick + hat on every beat), then the groove."""
    notes = []
    for b in range(bars):
        hits = [(k * BEAT, p) for k in range(4) for p in INTRO] if b < intro else list(GROOVE)
        notes += [Note(b * BAR + t, b * BAR + t + 60, p, 100) for t, p in hits]
    return Score(tracks=[Track("Drums", 0, True, notes)])


PROGRESSION = ((0, ""), (5, ""), (7, ""), (9, "m"))  # C F G Am, one a bar


def _bass_song(bars: int = 16) -> Score:
    """A bass playing each bar's chord root on the beats; the chords loop every 4 bars."""
    chords = [ChordLabel(b * BAR, (b + 1) * BAR, *PROGRESSION[b % 4]) for b in range(bars)]
    notes = [Note(b * BAR + k * BEAT, b * BAR + k * BEAT + 400, 36 + PROGRESSION[b % 4][0], 90) for b in range(bars) for k in range(4)]
    return Score(tracks=[Track("Bass", 33, False, notes)], chords=chords)


def test_pattern_similarity_is_dice() -> None:
    a, b = frozenset({(1, 2), (3, 4)}), frozenset({(1, 2), (5, 6), (7, 8)})
    assert pattern_similarity(a, b) == pytest.approx(2 * 1 / 5)
    assert pattern_similarity(frozenset(), frozenset()) == 1.0 and pattern_similarity(a, frozenset()) == 0.0


def test_a_groove_is_repeated_from_the_groove_not_from_the_intro() -> None:
    # Lag 8 repeats well around the region (bars 13-16 = bars 5-8), but 8 bars before bars 9-10 is the
    # intro: the source must be a groove bar, like the bars next to the region.
    enc = encode(_drum_song())
    src = source_bars(enc, 0, 8, 12, pitched=False)
    assert set(src) == set(range(8, 12))
    assert all(s >= 4 and not 8 <= s < 12 and moved == 0 for s, moved in src.values())
    groove = bar_pattern(enc, 0, 5)
    assert all(bar_pattern(enc, 0, s) == groove for s, _ in src.values())


def test_a_pitched_part_repeats_the_bar_over_the_same_chord() -> None:
    enc = encode(_bass_song())
    src = source_bars(enc, 0, 8, 12, pitched=True)
    assert {b: (s % 4, moved) for b, (s, moved) in src.items()} == {b: (b % 4, 0) for b in range(8, 12)}  # same place in the loop
    # Without the chords (regenerated too), the choice falls back on the part's repeats alone.
    assert set(source_bars(enc, 0, 8, 12, pitched=True, chords_known=False)) == set(range(8, 12))


def test_a_pattern_moves_to_a_chord_the_part_never_played_on() -> None:
    """Bars alternate C and F; bar 9 is the only G: its bass comes from a C or F bar moved to G."""
    roots = [0, 5] * 4 + [7] + [0, 5] * 4
    chords = [ChordLabel(b * BAR, (b + 1) * BAR, r, "") for b, r in enumerate(roots)]
    pattern = (0, 7, 12, 7)  # root, fifth, octave, fifth
    notes = [Note(b * BAR + k * BEAT, b * BAR + k * BEAT + 400, 36 + r + pattern[k], 90) for b, r in enumerate(roots) for k in range(4)]
    song = Score(tracks=[Track("Bass", 33, False, notes)], chords=chords)
    enc = encode(song)
    (source, moved), = source_bars(enc, 0, 8, 9).values()
    assert roots[source] in (0, 5) and (roots[source] + moved) % 12 == 7
    seeds = seed_rows(enc, build_infill_problem(enc, Selection(8, 9, (0,))))
    rows = seeds[:, COL_PITCH] >= FIRST_PITCH
    got = sorted(int(p) - FIRST_PITCH + PITCH_MIN for p in seeds[rows, COL_PITCH])
    assert sorted((36 + 7 + d) % 12 for d in pattern) == sorted(p % 12 for p in got)  # G, D, G, D
    assert max(got) - min(got) == 12  # the pattern's shape, moved as a whole


def test_seed_rows_fill_the_slots_with_the_source_bar_then_pad() -> None:
    enc = encode(_drum_song())
    problem = build_infill_problem(enc, Selection(8, 10, (0,)))
    seeds = seed_rows(enc, problem)
    assert seeds is not None and seeds.shape == problem.example.tokens.shape
    given = problem.example.given
    assert (seeds[given] == MASK).all()  # only cells the sampler generates
    for bar in (8, 9):
        rows = np.flatnonzero(problem.generated_rows & (problem.bar_of_row == bar))
        assert len(rows) > len(GROOVE)
        got = {(int(o), int(p)) for o, p in seeds[rows][: len(GROOVE), [COL_ONSET, COL_PITCH]]}
        assert got == set(bar_pattern(enc, 0, 5))
        assert (seeds[rows][len(GROOVE):, 1:] == PAD).all()


def test_no_seeds_where_there_is_no_repeat() -> None:
    enc = encode(_drum_song())
    assert seed_rows(enc, build_infill_problem(enc, Selection(8, 10, (0,), attributes="pitch"))) is None
    assert seed_rows(enc, build_infill_problem(enc, Selection(8, 10, (), new_tracks=("BASS",)))) is None
    locked = frozenset({(0, 8 * BAR, 36)})  # a locked note in bar 9: that bar starts from nothing
    problem = build_infill_problem(enc, Selection(8, 10, (0,), locked_notes=locked))
    seeds = seed_rows(enc, problem)
    assert seeds is not None
    assert (seeds[problem.bar_of_row == 8] == MASK).all() and (seeds[problem.bar_of_row == 9] != MASK).any()


def _chord(root: int, quality: str = "") -> int:
    return FIRST_CHORD + root * len(QUALITY_NAMES) + QUALITY_NAMES.index(quality)


def _pitch(midi: int) -> int:
    return FIRST_PITCH + midi - PITCH_MIN


def test_chord_fit_keeps_chord_tones_and_passing_tones_over_the_same_chord_only() -> None:
    c, dm = _chord(0), _chord(2, "m")
    beats = np.array([FIRST_POS + 8 * k for k in range(4)])  # one note on each quarter
    e, d = _pitch(64), _pitch(62)
    # Source bar all C; target bar C, C, Dm, N.C.
    target = np.array([c, c, dm, NO_CHORD])
    source = np.array([c, c, c, c])
    assert chord_fit(beats, np.array([e] * 4), source, target).tolist() == [True, True, False, True]  # E is no Dm tone
    assert chord_fit(beats, np.array([d] * 4), source, target).tolist() == [True, True, True, True]  # D: passing over C, a Dm tone
    assert chord_fit(beats, np.array([_pitch(61)] * 4), source, target).tolist() == [True, True, False, True]  # C# fits nothing
    assert chord_fit(beats, np.array([MASK, PAD, e, e]), source, np.array([dm] * 4)).tolist() == [True, True, False, False]


def test_a_melody_seed_keeps_its_rhythm_and_lets_the_model_pick_notes_off_the_new_chord() -> None:
    """Bars of C and Am, one a bar; the region's bar is C then Dm, which no bar has: its seed is a C bar
    (E on every beat), and the E's over Dm keep their onsets with the pitch left to the model."""
    roots = [(0, ""), (9, "m")] * 4 + [(0, "")] + [(0, ""), (9, "m")] * 3
    chords = [ChordLabel(b * BAR, (b + 1) * BAR, r, q) for b, (r, q) in enumerate(roots)]
    chords[8] = ChordLabel(8 * BAR, 8 * BAR + 2 * BEAT, 0, "")
    chords.insert(9, ChordLabel(8 * BAR + 2 * BEAT, 9 * BAR, 2, "m"))
    notes = [Note(b * BAR + k * BEAT, b * BAR + k * BEAT + 400, 64 if r == 0 else 69, 90)
             for b, (r, _) in enumerate(roots) for k in range(4)]
    enc = encode(Score(tracks=[Track("Lead", 0, False, notes)], chords=chords))
    problem = build_infill_problem(enc, Selection(8, 9, (0,)))
    seeds = seed_rows(enc, problem)
    assert seeds is not None
    rows = seeds[:, COL_ONSET] >= FIRST_POS
    onsets = (seeds[rows, COL_ONSET] - FIRST_POS).tolist()
    assert sorted(onsets) == [0, 8, 16, 24]
    pitch = dict(zip(onsets, seeds[rows, COL_PITCH].tolist(), strict=True))
    assert pitch[0] == pitch[8] == _pitch(64) and pitch[16] == pitch[24] == MASK
    assert (seeds[rows, COL_DURATION] != MASK).all()
    # At novelty 0 the rows keep the seed's onsets and the model writes a pitch into each.
    model = tiny_model()
    batch = with_seeds(collate([problem.example], 256), [seeds])
    out = model.diffusion.sample(model.model, batch, steps=3, generator=torch.Generator().manual_seed(0), novelty=0.0)[0]
    seeded = torch.as_tensor(rows)
    got = out[: len(rows)][seeded]
    assert sorted((got[:, COL_ONSET] - FIRST_POS).tolist()) == [0, 8, 16, 24]
    assert ((got[:, COL_PITCH] >= FIRST_PITCH) & (got[:, COL_PITCH] < FIRST_CHORD)).all()


def _batch(enc, selection, pitch_allowed=None):  # noqa: ANN001, ANN202
    problem = build_infill_problem(enc, selection)
    batch = collate([problem.example], 256)
    if pitch_allowed is not None:
        batch = with_pitch_limits(batch, [pitch_allowed])
    return problem, with_seeds(batch, [seed_rows(enc, problem)])


def test_sampler_at_novelty_0_plays_the_seeds_and_at_1_ignores_them() -> None:
    enc = encode(_drum_song())
    model = tiny_model()
    problem, batch = _batch(enc, Selection(8, 10, (0,)))
    seeded = batch.seed != MASK
    out0 = model.diffusion.sample(model.model, batch, steps=3, generator=torch.Generator().manual_seed(1), novelty=0.0)
    assert torch.equal(out0[seeded], batch.seed[seeded])
    plain = collate([problem.example], 256)
    a = model.diffusion.sample(model.model, batch, steps=3, generator=torch.Generator().manual_seed(1), novelty=1.0)
    b = model.diffusion.sample(model.model, plain, steps=3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)  # at 1 the seeds change nothing, not even the random draws
    # In between, about 1 - novelty of the seeded rows come back as they were (a random model rarely
    # rebuilds a seed row by chance).
    rows = seeded[..., 1:].any(-1)
    same = ((out0 == batch.seed) | ~seeded).all(-1) & rows
    half = model.diffusion.sample(model.model, batch, steps=3, generator=torch.Generator().manual_seed(2), novelty=0.5)
    kept = (((half == batch.seed) | ~seeded).all(-1) & rows).sum() / rows.sum()
    assert same.sum() == rows.sum() and 0.3 < float(kept) < 0.75
    with pytest.raises(ValueError):
        model.diffusion.sample(model.model, batch, steps=3, novelty=1.5)


def test_drum_seeds_are_kept_a_whole_bar_at_a_time_and_pitched_seeds_row_by_row() -> None:
    from engine.diffusion.absorbing import reveal_seeds

    def kept_per_bar(song: Score, bars: range) -> list[float]:
        enc = encode(song)
        problem, batch = _batch(enc, Selection(bars.start, bars.stop, (0,)))
        tokens = batch.tokens.masked_fill(batch.generate, MASK)
        _, masked = reveal_seeds(tokens, batch.generate.clone(), batch, 0.5, torch.Generator().manual_seed(3))
        rows = (batch.seed != MASK)[0, :, COL_ONSET:].any(-1) & (batch.seed[0, :, COL_ONSET] != PAD)
        shares = []
        for bar in bars:
            r = rows & torch.as_tensor(problem.bar_of_row == bar)
            shares.append(float((~masked[0, r, COL_ONSET]).float().mean()))
        return shares

    drums = kept_per_bar(_drum_song(16), range(6, 14))
    assert set(drums) <= {0.0, 1.0} and 0 < sum(drums) < len(drums)  # whole bars kept or regenerated
    bass = kept_per_bar(_bass_song(16), range(6, 14))
    assert any(0.0 < s < 1.0 for s in bass)  # notes of one bar kept and regenerated


def test_a_seed_row_outside_the_part_limits_is_generated_instead() -> None:
    enc = encode(_drum_song())
    problem = build_infill_problem(enc, Selection(8, 10, (0,)))
    allowed = np.ones((problem.example.tokens.shape[0], COLUMN_SIZES[COL_PITCH]), dtype=bool)
    allowed[:, FIRST_PITCH + 38 - PITCH_MIN] = False  # no snare allowed: snare seed rows must not be revealed
    _, batch = _batch(enc, Selection(8, 10, (0,)), allowed)
    model = tiny_model()
    out = model.diffusion.sample(model.model, batch, steps=3, generator=torch.Generator().manual_seed(1), novelty=0.0)
    snare = FIRST_PITCH + 38 - PITCH_MIN
    gen = batch.generate
    assert not (out[..., COL_PITCH][gen[..., COL_PITCH]] == snare).any()
    assert ((batch.seed[..., COL_PITCH] == snare) & gen[..., COL_PITCH]).any()  # there were snare seeds


def _drum_bars(score: Score, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    grid = beat_grid(score)
    n = score_notes(score, grid)
    starts = grid.bar_starts[start : end + 1]
    m = (n.onset >= starts[0]) & (n.onset < starts[-1])
    return kick_on_one(n.onset[m], n.pitch[m], starts), backbeat(n.onset[m], n.pitch[m], starts)[0]


def test_infill_at_low_novelty_keeps_the_groove_and_a_new_tempo_ignores_it() -> None:
    song = _drum_song()
    model = plausible_model()
    sel = Selection(8, 12, (0,))
    kept = infill(song, sel, Prompts(novelty=0.0), seed=3, model=model)[0]
    kick, back = _drum_bars(kept, 8, 12)
    assert kick.all() and back.all()
    assert [n for n in kept.tracks[0].notes if n.start < 8 * BAR] == [n for n in song.tracks[0].notes if n.start < 8 * BAR]
    fresh = infill(song, sel, Prompts(novelty=1.0), seed=3, model=model)[0]
    kick1, back1 = _drum_bars(fresh, 8, 12)
    assert not back1.all()  # an untrained model alone does not keep the groove: the check can fail
    presto = infill(song, sel, Prompts(novelty=0.0, tempo_class="presto"), seed=3, model=model)[0]
    same = infill(song, sel, Prompts(novelty=1.0, tempo_class="presto"), seed=3, model=model)[0]
    assert presto.tracks[0].notes == same.tracks[0].notes  # another tempo class: generated from scratch
    with pytest.raises(ValueError):
        Prompts(novelty=-0.1)


def test_seed_register_keeps_generated_rows_in_the_repeats_register_of_each_bar() -> None:
    song = _bass_song()
    enc = encode(song)
    problem = build_infill_problem(enc, Selection(8, 12, (0,)))
    seeds = seed_rows(enc, problem)
    assert seeds is not None
    allowed = seed_register(seeds, problem)
    assert allowed is not None
    pitch_cols = np.arange(FIRST_PITCH, FIRST_PITCH + 128 - PITCH_MIN)[: COLUMN_SIZES[COL_PITCH] - FIRST_PITCH]
    for bar in range(8, 12):
        root = 36 + PROGRESSION[bar % 4][0]  # the bar's repeat plays its root only
        rows = np.flatnonzero((seeds[:, COL_ONSET] != MASK) & (problem.bar_of_row == bar))
        assert len(rows)
        ok = [PITCH_MIN + int(c - FIRST_PITCH) for c in pitch_cols if c < FIRST_CHORD and allowed[rows[0], c]]
        assert ok == list(range(root - 2, root + 3))
        assert allowed[rows][:, :FIRST_PITCH].all()  # PAD and the other specials stay to the row grammar
    other = (seeds[:, COL_ONSET] == MASK)
    assert allowed[other].all()
    # Part limits that exclude a bar's register are kept as they are there; elsewhere they are narrowed.
    within = np.ones_like(allowed)
    within[:, FIRST_PITCH + 36 - PITCH_MIN - 2 : FIRST_PITCH + 36 - PITCH_MIN + 3] = False  # no B1..D2
    narrowed = seed_register(seeds, problem, within)
    c_rows = np.flatnonzero((seeds[:, COL_ONSET] != MASK) & (problem.bar_of_row == 8))  # a C bar: root C2
    f_rows = np.flatnonzero((seeds[:, COL_ONSET] != MASK) & (problem.bar_of_row == 9))
    assert (narrowed[c_rows] == within[c_rows]).all()
    assert narrowed[f_rows, FIRST_PITCH + 41 - PITCH_MIN].all() and not narrowed[f_rows, FIRST_PITCH + 48 - PITCH_MIN].any()
    assert seed_register(seed_rows(encode(_drum_song()), build_infill_problem(encode(_drum_song()), Selection(8, 12, (0,)))),
                         build_infill_problem(encode(_drum_song()), Selection(8, 12, (0,)))) is None  # drums: no register


def test_infill_below_novelty_1_generates_in_the_repeats_register() -> None:
    """An untrained model fills the rows between kept seeds; every note of the region stays within two
    semitones of its bar's repeat (the bass roots C2, F2, G2, A2), which the part limits alone allow wider."""
    song = _bass_song()
    model = tiny_model()
    out = infill(song, Selection(8, 12, (0,)), Prompts(novelty=0.5), seed=1, model=model)[0]
    region = [n for n in out.tracks[0].notes if 8 * BAR <= n.start < 12 * BAR]
    assert region
    for n in region:
        root = 36 + PROGRESSION[(n.start // BAR) % 4][0]
        assert root - 2 <= n.pitch <= root + 2, (n.start, n.pitch)


def test_a_part_of_a_split_selection_never_repeats_the_old_notes_of_the_rest_of_the_selection() -> None:
    """infill splits a long selection into parts; the bars of the selection outside a part still hold the
    notes being replaced (over edited chords they no longer fit), so they are no source. Bars 10-11 play
    a C5 pattern that the bars after them (12-15) continue on G4, all over C (the bars before are over F):
    seeding bars 8-9 from the selection 8-12 must not copy the C5s."""
    r1 = [0, 8, 16, 24]  # quarters
    r2 = [0, 4, 8, 12, 16, 20, 24, 28]  # eighths
    notes = []
    for b in range(16):
        rhythm, pitch = (r1, 60) if b < 8 else (r2, 72) if b < 12 else (r2, 67)
        notes += [Note(b * BAR + p * 60, b * BAR + p * 60 + 200, pitch, 90) for p in rhythm]
    chords = [ChordLabel(b * BAR, (b + 1) * BAR, 5 if b < 8 else 0, "") for b in range(16)]  # F, then C
    enc = encode(Score(tracks=[Track("Lead", 0, False, notes)], chords=chords))
    part = build_infill_problem(enc, Selection(8, 10, (0,)))
    seeded = lambda s: {PITCH_MIN + int(p) - FIRST_PITCH for p in s[:, COL_PITCH] if FIRST_PITCH <= p < FIRST_CHORD}  # noqa: E731
    alone = seed_rows(enc, part)
    assert alone is not None and 72 in seeded(alone)  # as its own selection, bar 10 is the nearest repeat
    whole = seed_rows(enc, part, region=(8, 12))
    assert whole is not None and 72 not in seeded(whole) and seeded(whole)



def test_a_moved_pattern_goes_up_or_down_as_keeps_it_nearest_the_bar_before() -> None:
    c2_pattern = np.array([_pitch(p) for p in (36, 43, 48, 43)])  # mean G2 + 5/4
    assert choose_move(c2_pattern, 7, None) == -5  # onto G: down a fourth is the smaller move
    assert choose_move(c2_pattern, 7, float(_pitch(50))) == 7  # the bar before sits around D3: up a fifth
    assert choose_move(c2_pattern, 7, float(_pitch(38))) == -5
    assert choose_move(c2_pattern, 2, float(_pitch(30))) == -10  # far below: down a seventh
    assert choose_move(np.array([MASK, PAD]), 7, 60.0) == -5  # no pitch to compare: the smaller move
    assert choose_move(c2_pattern, 6, None) == 6


def test_phrase_sources_take_one_place_for_the_whole_region() -> None:
    # Bar by bar, bar 8's best is lag 1 before (bar 7) and bar 11's lag 1 after (bar 12); as a phrase, lag 4
    # before scores highest over the region and every bar takes it. A bar without it takes lag 4 after,
    # else its own best; a bar whose own best scores over OVERRIDE more takes that.
    before, after = -1, 1
    c = {8: {(1, before): (2.0, (7, 0)), (4, before): (1.9, (4, 0))},
         9: {(4, before): (1.9, (5, 0)), (4, after): (1.85, (13, 0)), (8, before): (1.0, (1, 0))},
         10: {(4, before): (1.9, (6, 0))},
         11: {(1, after): (2.0, (12, 0)), (4, before): (1.9, (7, 0))},
         12: {(4, after): (0.4, (16, 0)), (2, before): (0.5, (10, 3))},
         13: {(2, before): (0.5, (11, 3)), (8, after): (0.4, (21, 0))},
         14: {(4, before): (1.0, (10, 0)), (2, after): (1.6, (16, 5))}}  # the phrase's bar over other chords
    assert phrase_sources(c) == {8: (4, 0), 9: (5, 0), 10: (6, 0), 11: (7, 0), 12: (16, 0), 13: (11, 3), 14: (16, 5)}
    assert phrase_sources(c, override=np.inf)[14] == (10, 0)  # without the exception, the phrase's bar
    assert phrase_sources({}) == {}
    # The demo's drums: lag 8 reaches every bar (the intro, a beat without a snare), lag 2 fits every bar
    # better but from both sides, lag 1 fits its two bars best and no other. Lag 2 it is.
    demo = {8: {(1, before): (1.8, (7, 0)), (2, before): (1.7, (6, 0)), (8, before): (1.5, (0, 0))},
            9: {(2, before): (1.7, (7, 0)), (8, before): (1.5, (1, 0))},
            10: {(2, after): (1.7, (12, 0)), (8, before): (1.5, (2, 0))},
            11: {(1, after): (1.8, (12, 0)), (2, after): (1.7, (13, 0)), (8, before): (1.5, (3, 0))}}
    assert phrase_sources(demo) == {8: (6, 0), 9: (7, 0), 10: (12, 0), 11: (13, 0)}
    # A tie goes to the smaller lag, then to the bars before.
    assert phrase_sources({0: {(8, before): (1.0, (8, 0)), (4, after): (1.0, (4, 0)), (4, before): (1.0, (3, 0))}}) == {0: (3, 0)}


CRASH = ((0, 49),)
FILL = tuple((k * 240, 45 + (k % 3)) for k in range(8)) + ((0, 36),)  # toms on every eighth


def _phrase_drums(bars: int = 24) -> Score:
    """4-bar phrases: a crash with the groove on each phrase's first bar, the groove, a tom fill last."""
    notes = []
    for b in range(bars):
        hits = list(FILL) if b % 4 == 3 else list(GROOVE) + (list(CRASH) if b % 4 == 0 else [])
        notes += [Note(b * BAR + t, b * BAR + t + 60, p, 100) for t, p in hits]
    return Score(tracks=[Track("Drums", 0, True, notes)])


def test_a_drum_region_keeps_its_place_in_the_phrase() -> None:
    # The fresh-user report on the demo: bar by bar, the region's first bar repeated the fill before it and
    # its last bar the crash after it. Every bar of bars 8-11 must come from the same place of a phrase.
    enc = encode(_phrase_drums())
    src = source_bars(enc, 0, 8, 12, pitched=False)
    assert set(src) == set(range(8, 12))
    assert all(source % 4 == b % 4 for b, (source, _) in src.items()), src
    assert all(bar_pattern(enc, 0, source) == bar_pattern(enc, 0, b) for b, (source, _) in src.items())


def test_a_melody_repeats_at_its_pitch_and_an_accompaniment_moves_to_the_chords() -> None:
    """Bars alternate C and F, bar 9 is G. A bass pattern moves onto G (test above); a melody does not:
    moved, its notes would leave the key. Its source bar keeps its pitches (the model re-pitches what does
    not fit the chord)."""
    roots = [0, 5] * 4 + [7] + [0, 5] * 4
    chords = [ChordLabel(b * BAR, (b + 1) * BAR, r, "") for b, r in enumerate(roots)]
    line = (64, 65, 67, 65)  # E F G F over every bar
    notes = [Note(b * BAR + k * BEAT, b * BAR + k * BEAT + 400, p, 90) for b in range(len(roots)) for k, p in enumerate(line)]
    low = [Note(n.start, n.end, n.pitch - 12, n.velocity) for n in notes]
    song = Score(tracks=[Track("Vocal", 0, False, notes, category="MELODY"), Track("Piano", 0, False, low, category="PIANO")],
                 chords=chords)
    enc = encode(song)
    for track, category, moved_ok in ((0, "MELODY", False), (1, "PIANO", True)):
        problem = build_infill_problem(enc, Selection(8, 9, (track,)))
        assert problem.categories[track] == category
        (_, moved), = source_bars(enc, track, 8, 9, moves=moved_ok).values()
        assert (moved != 0) == moved_ok
        seeds = seed_rows(enc, problem)
        rows = seeds[:, COL_PITCH] >= FIRST_PITCH
        got = sorted({int(p) - FIRST_PITCH + PITCH_MIN for p, t in zip(seeds[rows, COL_PITCH], problem.track_of_row[rows], strict=True)
                      if p < FIRST_CHORD and t == track})
        if moved_ok:
            assert any(p % 12 not in (4, 5, 7) for p in got)  # moved onto G
        else:
            assert set(got) <= {64, 65, 67} and 67 in got  # G fits G: kept at its pitch


def test_a_rest_in_the_phrase_repeats_as_a_rest() -> None:
    """4-bar phrases whose last bar rests: regenerating bars 8-11, bar 11 starts from the rest (every slot
    PAD), not from a bar that plays. Bar by bar a rest was never a source, so regenerated melodies played
    more notes than the songs (6.7 against 5.8 a bar on 30 POP909 test melodies)."""
    line = (60, 62, 64, 65)
    notes = [Note(b * BAR + k * BEAT, b * BAR + k * BEAT + 400, line[(b + k) % 4], 90)
             for b in range(20) if b % 4 != 3 for k in range(4)]
    chords = [ChordLabel(b * BAR, (b + 1) * BAR, 0, "") for b in range(20)]
    enc = encode(Score(tracks=[Track("Vocal", 0, False, notes, category="MELODY")], chords=chords))
    src = source_bars(enc, 0, 8, 12)
    assert src[11][0] % 4 == 3 and all(s % 4 == b % 4 for b, (s, _) in src.items())
    problem = build_infill_problem(enc, Selection(8, 12, (0,)))
    seeds = seed_rows(enc, problem)
    slots = problem.generated_rows & (problem.track_of_row == 0)
    rest = slots & (problem.bar_of_row == 11)
    assert rest.any() and (seeds[rest, COL_ONSET:] == PAD).all()
    assert (seeds[slots & (problem.bar_of_row == 10), COL_ONSET] >= FIRST_POS).sum() == 4
    # A part that rests in every bar it could repeat (it plays only in the region) has nothing to start from.
    quiet = [n for n in notes if 8 * BAR <= n.start < 12 * BAR]
    pad = [Note(b * BAR, (b + 1) * BAR, 48, 60) for b in range(20)]  # the song goes on around it
    enc = encode(Score(tracks=[Track("Vocal", 0, False, quiet, category="MELODY"), Track("Pad", 89, False, pad)], chords=chords))
    assert source_bars(enc, 0, 8, 12) == {}


def test_a_phrase_much_sparser_than_the_bars_next_to_the_region_pays_for_it() -> None:
    """The demo's bass plays 8 notes a bar around bars 9-12 and 2 in the intro 8 bars back. Chords and
    self-similarity favoured the intro's phrase, and bars could leave a denser phrase for it one by one,
    so the regenerated bass played 10 notes where the song plays 32. With the density cost the phrase and
    every bar come from where the part plays as it does now."""
    from engine.midi_io import read_midi
    from engine.representation.encode import encode
    from engine.representation.repeats import DENSITY_COST, _density_costs, source_bars

    before = -1
    # one bar: the sparse phrase scores 0.7 higher alone; its cost (2 vs 8 notes) is 0.5 * log2(9 / 3) = 0.79
    c = {8: {(8, before): (1.9, (0, 0)), (4, before): (1.2, (4, 0))}}
    assert phrase_sources(c) == {8: (0, 0)}
    sparse = DENSITY_COST * np.log2(9 / 3)
    assert phrase_sources(c, cost={(8, before): sparse, (4, before): 0.0}) == {8: (4, 0)}
    # a bar does not leave the phrase for a sparse bar whose lead is only its cost
    two = {8: {(4, before): (1.5, (4, 0)), (8, before): (1.5, (0, 0))},
           9: {(4, before): (1.0, (5, 0)), (8, before): (1.79, (1, 0))}}
    assert phrase_sources(two)[9] == (1, 0)
    assert phrase_sources(two, cost={(8, before): sparse, (4, before): 0.0}) == {8: (4, 0), 9: (5, 0)}

    song = read_midi(Path(__file__).resolve().parents[1] / "resources" / "demo" / "demo_song.mid")
    enc = encode(song)
    bass = next(i for i, c in enumerate(enc.categories) if c == "BASS")
    per_bar = np.bincount(enc.bar_of_row[enc.track_of_row == bass] - enc.first_bar)
    assert per_bar[0] < per_bar[7] / 2  # the premise: a sparse intro, a busy verse
    sources = source_bars(enc, bass, 8, 12)
    assert sources and all(per_bar[src - enc.first_bar] == per_bar[7] for src, _ in sources.values())
    assert _density_costs(enc, bass, {8: {(8, before): (0.0, (0, 0))}}, 8, 12)[(8, before)] > 0.5


def _line(bar: int, pitches: tuple[int, ...]) -> list[Note]:
    """One bar of quarter notes on ``pitches``."""
    return [Note(bar * BAR + k * BEAT, bar * BAR + k * BEAT + 400, p, 90) for k, p in enumerate(pitches)]


def test_a_verse_melody_repeats_from_its_first_time_32_bars_back() -> None:
    """Verse (bars 1-8), chorus (9-16), two other sections, verse again (33-40, the region), chorus again:
    the chorus repeats 32 bars on around the region, so the region's source is the first verse, bar for
    bar. With lags of at most 16 bars the first verse is out of reach (the test fails there)."""
    verse = [(60 + b, 62 + b, 64, 67) for b in range(8)]
    chorus = [(72, 71 - b, 69, 67 + b % 3) for b in range(8)]
    other = [(55 + (b * 5) % 12, 57, 59 + b % 2, 50) for b in range(16)]
    bars = verse + chorus + other + verse + chorus
    melody = [n for b, p in enumerate(bars) for n in _line(b, p)]
    enc = encode(Score(tracks=[Track("Melody", 0, False, melody)]))
    src = source_bars(enc, 0, 32, 40, pitched=True, moves=False)
    assert {b: s for b, (s, _m) in src.items()} == {b: b - 32 for b in range(32, 40)}
    short = source_bars(enc, 0, 32, 40, pitched=True, moves=False, lags=(1, 2, 4, 8, 12, 16))
    assert {b: s for b, (s, _m) in short.items()} != {b: b - 32 for b in range(32, 40)}


def test_the_parts_that_stay_point_to_the_bars_the_melody_repeats() -> None:
    """The melody never repeats around the region, so its own context says nothing; the piano, which
    stays, plays in the region what it played 12 bars before, and so does the truth's melody. With the
    piano given as kept the source is 12 bars back; without it, not."""
    n = 32
    # every bar its own notes (no two bars share an onset and pitch), so no lag repeats
    melody_bars = [tuple(36 + 2 * b + k for k in range(4)) for b in range(n)]
    piano_bars = [tuple(30 + 2 * b + k for k in range(4)) for b in range(n)]
    for b in range(20, 24):  # the region repeats bars 9-12 in both parts
        melody_bars[b], piano_bars[b] = melody_bars[b - 12], piano_bars[b - 12]
    melody = [x for b, p in enumerate(melody_bars) for x in _line(b, p)]
    piano = [x for b, p in enumerate(piano_bars) for x in _line(b, p)]
    enc = encode(Score(tracks=[Track("Melody", 0, False, melody), Track("Piano", 0, False, piano)]))
    with_piano = source_bars(enc, 0, 20, 24, pitched=True, moves=False, kept=(1,))
    assert {b: s for b, (s, _m) in with_piano.items()} == {b: b - 12 for b in range(20, 24)}
    alone = source_bars(enc, 0, 20, 24, pitched=True, moves=False)
    assert {b: s for b, (s, _m) in alone.items()} != {b: b - 12 for b in range(20, 24)}


def test_a_long_lag_seen_on_one_bar_pair_does_not_outscore_a_phrase() -> None:
    from engine.representation.repeats import MIN_PAIRS, self_similarity

    a, b = frozenset({(1, 60)}), frozenset({(1, 62)})
    patterns = {0: a, 1: b, 2: a, 3: b, 40: a}
    near = {2: a, 3: b}
    assert self_similarity(near, patterns, -2) == pytest.approx(2 / MIN_PAIRS)  # two pairs, both equal
    assert self_similarity(near, patterns, 38) == pytest.approx(1 / MIN_PAIRS)  # one pair only
    assert self_similarity(near, patterns, -1) == 0.0 and self_similarity(near, patterns, 100) == 0.0


def test_two_regenerated_parts_are_seeded_with_the_part_that_stays_as_a_guide() -> None:
    """Piano and bass regenerated over a melody that stays (the accompaniment task): both are seeded, and
    from the bars 12 back, where the melody and both parts played what they play in the region."""
    n = 32
    bars = {name: [tuple(base + 2 * b + k for k in range(4)) for b in range(n)] for name, base in
            (("melody", 40), ("piano", 34), ("bass", 28))}
    for b in range(20, 24):
        for part in bars.values():
            part[b] = part[b - 12]
    tracks = [Track(name.title(), program, False, [x for b, p in enumerate(bars[name]) for x in _line(b, p)])
              for name, program in (("melody", 0), ("piano", 0), ("bass", 33))]
    enc = encode(Score(tracks=tracks))
    problem = build_infill_problem(enc, Selection(20, 24, (1, 2)))
    seeds = seed_rows(enc, problem)
    assert seeds is not None
    for track in (1, 2):
        for bar in range(20, 24):
            rows = (problem.track_of_row == track) & (problem.bar_of_row == bar) & (seeds[:, COL_PITCH] >= FIRST_PITCH)
            got = sorted(int(p) - FIRST_PITCH + PITCH_MIN for p in seeds[rows, COL_PITCH])
            assert got == sorted(bars[("melody", "piano", "bass")[track]][bar - 12])


def test_drums_follow_their_own_bars_and_pitched_parts_the_parts_that_stay(monkeypatch) -> None:
    """seed_rows asks source_bars to compare the parts that stay for a pitched part only."""
    import engine.representation.repeats as repeats

    seen: dict[int, tuple[int, ...]] = {}
    real = repeats.source_bars

    def spy(encoding, track, *a, **kw):  # noqa: ANN001, ANN002, ANN003
        seen[track] = kw.get("kept", ())
        return real(encoding, track, *a, **kw)

    monkeypatch.setattr(repeats, "source_bars", spy)
    drums = _drum_song().tracks[0]
    bass = _bass_song().tracks[0]
    melody = Track("Melody", 0, False, [x for b in range(16) for x in _line(b, (60, 62, 64, 65))])
    song = Score(tracks=[melody, bass, drums], chords=_bass_song().chords)
    enc = encode(song)
    assert seed_rows(enc, build_infill_problem(enc, Selection(8, 12, (1, 2)))) is not None
    assert seen == {1: (0,), 2: ()}


def test_a_repeat_s_rests_stay_rests_and_its_notes_are_rewritten_as_notes() -> None:
    """At novelty 0.5 the bass of bars 8-12 plays as many notes per bar as its repeat: the seeded empty
    slots stay empty and every seeded note the sampler does not keep is rewritten as a note. With the old
    rule (empty slots drawn like notes, rewritten rows free to be empty) a random network changes the
    count: the first assertion on ``free`` shows it does here."""
    from engine.diffusion.absorbing import reveal_seeds, rewritten_notes

    enc = encode(_bass_song(16))
    problem, batch = _batch(enc, Selection(8, 12, (0,)))
    seed = batch.seed[0]
    rest = (seed[:, COL_ONSET] == PAD)
    note = (seed[:, COL_ONSET] != PAD) & (seed[:, COL_ONSET] != MASK)
    assert rest.any() and note.any()  # the bars have spare slots (1.25 x the notes) as well as notes
    tokens = batch.tokens.masked_fill(batch.generate, MASK)
    _, masked = reveal_seeds(tokens, batch.generate.clone(), batch, 0.99, torch.Generator().manual_seed(0))
    assert not masked[0, rest].any()  # every seeded empty slot revealed (empty), even at novelty 0.99
    assert masked[0, note, COL_ONSET].float().mean() > 0.9  # the notes are nearly all to be rewritten
    assert torch.equal(rewritten_notes(batch, masked)[0], note & masked[0, :, COL_ONSET])
    model = plausible_model()
    out = model.diffusion.sample(model.model, batch, steps=4, generator=torch.Generator().manual_seed(3), novelty=0.5)[0]
    bars = torch.as_tensor(problem.bar_of_row)
    played = out[:, COL_ONSET] != PAD
    for bar in range(8, 12):
        here = (bars == bar) & (note | rest)
        assert int((played & here).sum()) == int((note & here).sum()) == 4  # the repeat's four notes, rewritten or kept

    # The rule is what keeps the count: sampling the same batch with every slot free plays another number.
    free = model.diffusion.sample(model.model, with_seeds(batch, [None]), steps=4, generator=torch.Generator().manual_seed(3))[0]
    assert int(((free[:, COL_ONSET] != PAD) & (note | rest)).sum()) != int(note.sum())


def test_slots_the_density_prompt_adds_are_left_free_of_seeds() -> None:
    enc = encode(_bass_song(16))
    problem = build_infill_problem(enc, Selection(8, 12, (0,)), slots_per_bar={0: 10})
    plain, busy = seed_rows(enc, problem), seed_rows(enc, problem, density=2.0)
    bar = problem.bar_of_row == 8
    slot = (problem.source_row < 0) & (problem.track_of_row == 0) & bar
    assert int(slot.sum()) == 10
    notes = (plain[slot, COL_ONSET] >= FIRST_POS).sum()
    assert notes == 4 and (plain[slot, COL_ONSET] == PAD).sum() == 6  # at density 1 the spare slots are rests
    assert (busy[slot, COL_ONSET] >= FIRST_POS).sum() == 4
    assert (busy[slot, COL_ONSET] == PAD).sum() == 1 and (busy[slot, COL_ONSET] == MASK).sum() == 5  # 10 - ceil(10 / 2) free


def test_novelty_rewrites_a_note_s_pitch_more_often_than_its_rhythm() -> None:
    """At novelty 0.6 a pitched note keeps its pitch and rhythm with probability 0.4, only its rhythm with
    0.6 - 0.36 = 0.24, and is rewritten whole with 0.36; a drum bar is kept with 1 - 0.36 = 0.64."""
    from engine.diffusion.absorbing import reveal_seeds

    def shares(song: Score) -> tuple[float, float, float]:
        enc = encode(song)
        problem, batch = _batch(enc, Selection(4, 20, (0,)))
        tokens = batch.tokens.masked_fill(batch.generate, MASK)
        note = ((batch.seed[..., COL_ONSET] != PAD) & (batch.seed[..., COL_ONSET] != MASK))[0]
        m = torch.cat([reveal_seeds(tokens, batch.generate.clone(), batch, 0.6, torch.Generator().manual_seed(k))[1][0, note]
                       for k in range(8)])  # 8 draws of the same rows
        whole = float((~m[:, COL_PITCH] & ~m[:, COL_ONSET]).float().mean())
        rhythm_only = float((m[:, COL_PITCH] & ~m[:, COL_ONSET] & ~m[:, COL_DURATION]).float().mean())
        rewritten = float((m[:, COL_PITCH] & m[:, COL_ONSET]).float().mean())
        return whole, rhythm_only, rewritten

    whole, rhythm_only, rewritten = shares(_bass_song(24))
    assert whole == pytest.approx(0.4, abs=0.06) and rhythm_only == pytest.approx(0.24, abs=0.06)
    assert rewritten == pytest.approx(0.36, abs=0.06)
    d_whole, d_rhythm, d_rewritten = shares(_drum_song(24))
    assert d_rhythm == 0.0  # a drum bar is kept or rewritten whole
    assert d_whole == pytest.approx(0.64, abs=0.1) and d_whole + d_rewritten == pytest.approx(1.0)


def test_a_bar_next_to_the_region_is_not_its_own_best_match() -> None:
    """The demo's melody, bars 9-12: bar 13 (the song's last melody note, held) is next to the region, and
    its likeness to itself (1) made it the source of bar 9 in a fresh-user run, so every regenerated phrase
    opened with the song's ending. Compared with the other neighbouring bar only, bar 9 repeats bar 5,
    where the phrase starts over the same chord."""
    from engine.analysis.grid import beat_grid
    from engine.demo import demo_score
    from engine.representation.encode import score_categories, score_chords

    song = demo_score()
    grid, cats = beat_grid(song), score_categories(song)
    enc = encode(song, grid=grid, categories=cats, chords=score_chords(song, grid))
    melody = cats.index("MELODY")
    kept = tuple(t for t in range(enc.n_tracks) if t != melody)
    src = source_bars(enc, melody, 8, 12, True, True, moves=False, kept=kept)
    assert src[8][0] != 12 and src[8][0] == 4  # 0-based: bar 9 from bar 5, not from bar 13


def _run_song(bars: int = 24) -> Score:
    """A line of two half notes a bar, and every fourth bar (3, 7, 11, ...) a run of 16 sixteenths: the
    song's mean is 5.5 notes a bar, so a bar gets 7 slots (masks.estimate_slots)."""
    notes = []
    for b in range(bars):
        if b % 4 == 3:
            notes += [Note(b * BAR + k * 120, b * BAR + k * 120 + 110, 60 + (0, 2, 4, 5, 7, 5, 4, 2)[k % 8], 90) for k in range(16)]
        else:
            notes += [Note(b * BAR + k * 960, b * BAR + k * 960 + 900, (64, 67)[k], 90) for k in range(2)]
    return Score(tracks=[Track("Lead", 0, False, notes)])


def _bar_notes(score: Score, track: int, bar: int) -> list[tuple[int, int]]:
    return sorted((n.start - bar * BAR, n.pitch) for n in score.tracks[track].notes if bar * BAR <= n.start < (bar + 1) * BAR)


def test_a_bar_gets_the_slots_its_repeat_needs() -> None:
    """Slots follow the song's mean notes a bar; the run's bar used to keep its first 7 notes."""
    song = _run_song()
    enc = encode(song)
    seeds = region_seeds(enc, Selection(8, 12, (0,)))
    assert len(seeds[(0, 11)]) == 16 and len(seeds[(0, 9)]) == 2
    floor = seed_slot_floor(seeds)
    assert floor[(0, 11)] == 16 and seed_slot_floor(seeds, density=0.5)[(0, 11)] == 8
    problem = build_infill_problem(enc, Selection(8, 12, (0,)), slot_floor=floor)
    slots = lambda b: int(np.count_nonzero((problem.source_row < 0) & (problem.track_of_row == 0) & (problem.bar_of_row == b)))  # noqa: E731
    assert slots(11) == 16 and slots(9) == 7  # the other bars keep the estimate
    plain = build_infill_problem(enc, Selection(8, 12, (0,)))
    assert np.count_nonzero((plain.source_row < 0) & (plain.bar_of_row == 11)) == 7  # the check can fail
    kept = infill(song, Selection(8, 12, (0,)), Prompts(novelty=0.0), seed=0, model=plausible_model())[0]
    assert _bar_notes(kept, 0, 11) == _bar_notes(song, 0, 7)  # the whole run, at novelty 0
    assert _bar_notes(kept, 0, 9) == _bar_notes(song, 0, 5)


def test_a_split_selection_repeats_one_place_found_on_the_whole_song() -> None:
    """A 12-bar phrase P over its own chords (bars 0-11) comes back at bars 24-35; every other bar plays
    the same busy bar Q over C. The selection 24-36 is too long for one window, so infill samples it in
    parts; the later parts' windows do not reach bars 0-11, and found there their repeat was Q."""
    roots = list(range(12))
    chords, notes = [], []
    for b in range(48):
        phrase = b < 12 or 24 <= b < 36
        root, quality = (roots[b % 12], "m") if phrase else (0, "")
        chords.append(ChordLabel(b * BAR, (b + 1) * BAR, root, quality))
        # P's bars differ from each other and from Q, in Q's register (a repeat outside the part's
        # register around the region is not kept: absorbing.reveal_seeds)
        pitches = [60 + (3 * k + b % 12) % 13 if phrase else 60 + (0, 4, 7, 12)[k % 4] for k in range(16)]
        notes += [Note(b * BAR + k * 120, b * BAR + k * 120 + 110, p, 90) for k, p in enumerate(pitches)]
    # a piano that stays, the same every bar: a window holds about 15 bars of it
    piano = [Note(b * BAR + k * 120, b * BAR + k * 120 + 110, 48 + (0, 4, 7)[k % 3], 70) for b in range(48) for k in range(16)]
    song = Score(tracks=[Track("Lead", 0, False, notes), Track("Piano", 0, False, piano)], chords=chords)
    enc = encode(song)
    sel = Selection(24, 36, (0,))
    assert len(split_selection(enc, sel, None, 256)) > 1
    src = source_bars(enc, 0, 24, 36, pitched=True, moves=False, kept=(1,))  # a melody is not moved
    assert {b: s for b, (s, _) in src.items()} == {b: b - 24 for b in range(24, 36)}
    out = infill(song, sel, Prompts(novelty=0.0), seed=0, model=plausible_model())[0]
    for b in range(24, 36):
        assert _bar_notes(out, 0, b) == _bar_notes(song, 0, b), b


def test_a_part_never_draws_one_pitch_twice_at_one_onset() -> None:
    """A piano plays dyads (C4 + E4 on every eighth). Its pitches are regenerated by a model that all but
    always draws G4: both rows of a dyad drew it, and the second copy was dropped when the rows became
    notes (half the notes lost); each row now takes a pitch no other row at its onset plays."""
    from engine.diffusion.constraints import doubled_pitches, undouble_commits
    from engine.representation.vocab import COL_INSTRUMENT, FIRST_CATEGORY

    notes = [Note(b * BAR + k * 240, b * BAR + k * 240 + 200, p, 80) for b in range(12) for k in range(8) for p in (60, 64)]
    song = Score(tracks=[Track("Piano", 0, False, notes)])
    model = plausible_model()
    with torch.no_grad():
        model.model.heads.proj[COL_PITCH].bias[FIRST_PITCH + 67 - PITCH_MIN] += 30.0
    out = infill(song, Selection(4, 8, (0,), attributes="pitch"), Prompts(register="off"), seed=0, model=model)[0]
    region = [n for n in out.tracks[0].notes if 4 * BAR <= n.start < 8 * BAR]
    assert len(region) == 64 and len({(n.start, n.pitch) for n in region}) == 64
    assert sum(n.pitch == 67 for n in region) >= 32  # the model's pitch, once per onset

    # the two rules on hand-made rows: three rows of one part at one onset; row 0 holds G4
    tokens = torch.full((1, 3, 4), MASK, dtype=torch.long)
    tokens[0, :, COL_INSTRUMENT] = FIRST_CATEGORY
    tokens[0, :, COL_ONSET] = FIRST_POS
    tokens[0, 0, COL_PITCH] = FIRST_PITCH + 67 - PITCH_MIN
    pending = torch.zeros(1, 3, 4, dtype=torch.bool)
    pending[0, 1:, COL_PITCH] = True
    batch = type("B", (), {"track_id": torch.zeros(1, 3, dtype=torch.long), "bar_index": torch.zeros(1, 3, dtype=torch.long)})()
    ruled = doubled_pitches(batch, tokens, pending)
    assert ruled[0, 1:, FIRST_PITCH + 67 - PITCH_MIN].all() and ruled[0].sum() == 2 and not ruled[0, 0].any()
    sampled = tokens.clone()
    sampled[0, 1:, COL_PITCH] = FIRST_PITCH + 72 - PITCH_MIN  # rows 1 and 2 both draw C5 in one step
    logp = torch.zeros(1, 3, 4)
    logp[0, 2, COL_PITCH] = -0.1  # row 1 is the more confident
    commit = pending.clone()
    kept = undouble_commits(commit, tokens, pending, sampled, logp, batch)
    assert kept[0, 1, COL_PITCH] and not kept[0, 2, COL_PITCH]
    tokens2 = tokens.clone()
    tokens2[0, 1, COL_ONSET] = FIRST_POS + 4  # at another onset: no clash
    assert undouble_commits(commit, tokens2, pending, sampled, logp, batch)[0, 2, COL_PITCH]
