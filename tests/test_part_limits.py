"""Part limits: register from the part's own notes, the drum kit it uses, one line for line parts."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis.categories import CATEGORIES
from engine.analysis.ranges import USUAL_RANGE, context_range, usual_range
from engine.representation.encode import encode
from engine.representation.masks import Selection, build_infill_problem
from engine.representation.part_limits import PartLimits, one_line, part_pitch_range, pitch_allowed
from engine.representation.vocab import FIRST_PITCH, PITCH_MIN
from engine.score import Note, Score, Track

BAR = 1920


def _song() -> Score:
    bass = Track("Bass", 33, False, [Note(b * BAR + k * 480, b * BAR + k * 480 + 400, 28 + (b + k) % 8, 90) for b in range(8) for k in range(4)])
    drums = Track("Drums", 0, True, [Note(b * BAR + k * 480, b * BAR + k * 480 + 60, (36, 42, 38, 42)[k], 90) for b in range(8) for k in range(4)])
    piano = Track("Piano", 0, False, [Note(b * BAR, b * BAR + BAR, p, 80) for b in range(8) for p in (60, 64, 67)])
    return Score(tracks=[bass, drums, piano])


def test_every_category_has_a_usual_range_and_programs_can_differ() -> None:
    assert set(USUAL_RANGE) == set(CATEGORIES)
    assert all(lo < hi for lo, hi in USUAL_RANGE.values())
    assert usual_range("STRINGS", 43)[0] < usual_range("STRINGS", 40)[0]  # contrabass below the violins
    assert context_range(np.asarray([40, 45, 50])) is None and context_range(np.asarray([40, 45, 50, 52])) == (38, 54)


def test_strict_register_keeps_the_bass_low_and_new_parts_in_their_instruments_range() -> None:
    enc = encode(_song())
    problem = build_infill_problem(enc, Selection(2, 4, (0,), new_tracks=("BRASS",)))
    assert part_pitch_range(enc, problem, 0, "strict") == (26, 37)
    assert part_pitch_range(enc, problem, 0, "loose") == (min(26, USUAL_RANGE["BASS"][0]), max(37, USUAL_RANGE["BASS"][1]))
    assert part_pitch_range(enc, problem, 0, "off") is None
    assert part_pitch_range(enc, problem, 3, "strict") == USUAL_RANGE["BRASS"]  # a new part: no context
    allowed = pitch_allowed(enc, problem, PartLimits("strict"))
    bass_rows = problem.generated_rows & (problem.track_of_row == 0)
    assert allowed is not None and bass_rows.any()
    ok_pitches = np.flatnonzero(allowed[np.flatnonzero(bass_rows)[0], FIRST_PITCH:FIRST_PITCH + 88]) + PITCH_MIN
    assert ok_pitches.min() == 26 and ok_pitches.max() == 37
    given = ~problem.generated_rows
    assert allowed[given].all()  # given rows are never limited
    with pytest.raises(ValueError):
        PartLimits("tight")


def test_drums_keep_their_kit() -> None:
    enc = encode(_song())
    problem = build_infill_problem(enc, Selection(2, 4, (1,)))
    allowed = pitch_allowed(enc, problem, PartLimits())
    row = np.flatnonzero(problem.generated_rows & (problem.track_of_row == 1))[0]
    assert (np.flatnonzero(allowed[row, FIRST_PITCH:FIRST_PITCH + 88]) + PITCH_MIN).tolist() == [36, 38, 42]
    assert pitch_allowed(enc, problem, PartLimits(register="off", kit=False)) is None


def test_line_detection_and_one_line() -> None:
    from engine.analysis.lines import line_tracks

    def is_line(onsets: np.ndarray, ends: np.ndarray) -> bool:  # the test the sampler applies to a part
        return bool(line_tracks(onsets, ends - onsets, np.zeros(len(onsets), dtype=np.int64)))

    line_on = np.arange(0, 16) * 480
    assert is_line(line_on, line_on + 400)
    assert not is_line(np.repeat(line_on[:8], 3), np.repeat(line_on[:8], 3) + 900)  # chords
    assert not is_line(line_on, line_on + 960)  # every note rings into the next
    notes = [Note(0, 500, 60, 90), Note(0, 400, 64, 90), Note(480, 900, 62, 90), Note(960, 1200, 65, 90)]
    out, dropped = one_line(notes)
    assert dropped == 1 and out == [Note(0, 400, 64, 90), Note(480, 900, 62, 90), Note(960, 1200, 65, 90)]
    assert one_line([Note(0, 700, 60, 90), Note(480, 900, 62, 90)])[0][0].end == 480  # cut where the next starts
    assert one_line(notes, keep_high=False)[0][0].pitch == 60


def test_line_up_region_leaves_notes_outside_alone() -> None:
    from engine.representation.part_limits import line_up_region

    outside = [Note(0, 2000, 60, 90), Note(3840, 4000, 67, 90)]  # the first rings into the region: stays
    region = [Note(1920, 2500, 62, 90), Note(1920, 2400, 65, 90), Note(2880, 4500, 64, 90)]
    out, dropped = line_up_region(outside + region, 1920, 3840)
    assert dropped == 1
    assert out == [Note(0, 2000, 60, 90), Note(1920, 2400, 65, 90), Note(2880, 3840, 64, 90), Note(3840, 4000, 67, 90)]


def _band_song() -> Score:
    song = _song()
    melody = Track("Melody", 73, False, [Note(b * BAR + k * 480, b * BAR + k * 480 + 400, 72 + (b + k) % 5, 90) for b in range(8) for k in range(4)])
    return Score(tracks=[*song.tracks, melody])


def test_infill_keeps_parts_in_their_register_kit_and_line() -> None:
    from engine.infill import Prompts, infill
    from tests.model_fixtures import plausible_model

    model = plausible_model()
    song = _band_song()
    out = infill(song, Selection(2, 5, (0, 1, 3)), Prompts(register="strict"), n_variations=2, seed=5, model=model)
    for result in out:
        region = lambda t, r=result: [n for n in r.tracks[t].notes if 2 * BAR <= n.start < 5 * BAR]  # noqa: E731
        assert region(0) and all(26 <= n.pitch <= 37 for n in region(0))  # the bass: 28-35 around, +-2
        assert {n.pitch for n in region(1)} <= {36, 38, 42}  # the kit
        mel = sorted(region(3), key=lambda n: n.start)
        assert all(a.end <= b.start for a, b in zip(mel, mel[1:], strict=False))  # one line
    with pytest.raises(ValueError, match="register"):
        Prompts(register="tight")


def test_two_stage_chords_then_parts() -> None:
    from dataclasses import replace

    from engine.infill import infill
    from tests.model_fixtures import plausible_model

    model = plausible_model()
    model.writes_chords = True
    melody_only = replace(_band_song(), tracks=[_band_song().tracks[3]])
    calls: list[tuple[int, int]] = []
    out = infill(melody_only, Selection(2, 6, (), new_tracks=("PIANO", "BASS"), chords=True), steps=3, seed=2, model=model,
                 progress=lambda d, t: calls.append((d, t)))[0]
    assert calls[-1] == (6, 6)  # chords, then the parts: two rounds of 3 steps
    assert [t.category for t in out.tracks[1:]] == ["PIANO", "BASS"]
    assert any(2 * BAR <= c.start < 6 * BAR for c in out.chords)  # the region's chords were written
    assert out.tracks[0].notes == melody_only.tracks[0].notes


def test_register_is_read_from_the_bars_around_the_region() -> None:
    """A bass that plays high in the intro and low around the region keeps to the low range there."""
    far = [Note(b * BAR + k * 480, b * BAR + k * 480 + 400, 55 + k, 90) for b in range(4) for k in range(4)]
    near = [Note(b * BAR + k * 480, b * BAR + k * 480 + 400, 30 + k, 90) for b in range(14, 30) for k in range(4)]
    enc = encode(Score(tracks=[Track("Bass", 33, False, far + near)]))
    problem = build_infill_problem(enc, Selection(20, 22, (0,)))
    assert part_pitch_range(enc, problem, 0, "strict") == (28, 35)


def _line(pitches: list[int], step: int = 240) -> list[Note]:
    return [Note(k * step, (k + 1) * step, p, 90) for k, p in enumerate(pitches)]


def test_fold_spikes_moves_a_bass_spike_back_into_the_line_and_nothing_else() -> None:
    """A bass line that never spikes around the region gets its spike (D4 between C2s) moved by octaves to
    D2: same pitch class, next to its neighbours; notes outside the region are untouched, and the
    evaluation's leap rate drops to the truth's 0."""
    from engine.evaluate.musician import leap_rate
    from engine.representation.part_limits import fold_spikes

    pitches = [36, 38, 40, 36, 62, 36, 38, 41, 43, 36, 40, 38]
    notes = _line(pitches)
    region = (4 * 240, 8 * 240)
    out, moved = fold_spikes(notes, *region, (0, 12 * 240))
    assert moved == 1 and [n.pitch for n in out] == [36, 38, 40, 36, 38, 36, 38, 41, 43, 36, 40, 38]
    assert out[4].pitch % 12 == 62 % 12 and (out[4].start, out[4].end) == (notes[4].start, notes[4].end)
    assert all(a is b for k, (a, b) in enumerate(zip(notes, out, strict=True)) if k != 4)

    def rate(ns: list[Note]) -> float:
        inside = [n for n in ns if region[0] <= n.start < region[1]]
        return leap_rate(np.array([n.pitch for n in inside]), np.array([n.start for n in inside]), np.zeros(len(inside)))

    assert rate(notes) > 0 and rate(out) == 0


def test_fold_spikes_leaves_a_part_whose_style_is_to_spike_and_respects_range_chords_and_locks() -> None:
    from engine.representation.part_limits import fold_spikes

    region = (4 * 240, 8 * 240)
    # brass stabs that jump out and back around the region too: their style, nothing moves
    styled = _line([48, 72, 48, 50, 74, 50, 48, 72, 48, 50, 72, 50])
    assert fold_spikes(styled, *region, (0, 12 * 240)) == (styled, 0)
    spiky = _line([36, 38, 40, 36, 62, 36, 38, 41, 43, 36, 40, 38])
    # a range that does not reach the folded octave, a locked note: nothing moves
    assert fold_spikes(spiky, *region, (0, 12 * 240), (55, 90))[1] == 0  # 74, 86: no nearer
    assert fold_spikes(spiky, *region, (0, 12 * 240), keep=frozenset({(4 * 240, 62)}))[1] == 0
    # a spike that is the top of a chord whose folded pitch is already sounding there stays
    chord = [*spiky[:4], Note(4 * 240, 5 * 240, 38, 90), *spiky[4:]]
    out, moved = fold_spikes(chord, *region, (0, 12 * 240))
    assert moved == 0 and out == chord
    # the spike at the region's first onset is judged with its neighbour before the region
    edge = _line([36, 38, 40, 36, 62, 36, 38, 41])
    assert fold_spikes(edge, 4 * 240, 5 * 240, (0, 8 * 240))[0][4].pitch == 38
