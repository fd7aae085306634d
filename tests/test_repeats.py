"""Novelty: a regenerated part can start from the bar it repeats (repeats.py, AbsorbingDiffusion.sample)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.analysis.grid import beat_grid
from engine.diffusion import collate
from engine.diffusion.batch import with_pitch_limits, with_seeds
from engine.evaluate.metrics import score_notes
from engine.evaluate.musician import backbeat, kick_on_one
from engine.infill import Prompts, Selection, infill
from engine.representation.encode import encode
from engine.representation.masks import build_infill_problem
from engine.representation.repeats import bar_pattern, pattern_similarity, seed_rows, source_bars
from engine.representation.vocab import COL_ONSET, COL_PITCH, COLUMN_SIZES, FIRST_PITCH, MASK, PAD, PITCH_MIN
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
