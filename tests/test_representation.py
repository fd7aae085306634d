"""SA encode/decode/windows: exact round trip on the grid, reported losses, defensive decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.analysis.grid import beat_grid
from engine.analysis.quantise import quantise, quantise_notes
from engine.midi_io import read_midi
from engine.representation.decode import decode, decode_chords, decode_with_report
from engine.representation.encode import encode, note_positions
from engine.representation.example import SAExample
from engine.representation.vocab import (
    CHANGE,
    CHORD_ROW,
    COLUMN_INDEX,
    FIRST_BAR_LENGTH,
    MASK,
    MAX_BAR_LENGTH,
    PAD,
    category_token,
    chord_token,
    duration_token,
    pitch_token,
)
from engine.representation.windows import Window, to_example, windows
from engine.score import ChordLabel, Note, Score, TempoChange, TimeSignature, Track
from tests import midi_fixtures as fx

TPB = fx.TPB


def _set(score: Score) -> set[tuple[int, int, int, int, int]]:
    return {(i, n.start, n.end, n.pitch, n.velocity) for i, t in enumerate(score.tracks) for n in t.notes}


def _expected(score: Score, encoding) -> set[tuple[int, int, int, int, int]]:
    """quantise(score) minus the notes the encoder reported as dropped."""
    grid = encoding.grid
    dropped = set()
    for q, _ in encoding.report.dropped:
        s = int(grid.position_to_tick(q.onset))
        dropped.add((q.track, s, max(int(grid.position_to_tick(q.onset + 2 * q.duration16)), s + 1), q.pitch, q.velocity))
    return _set(quantise(score, grid)[0]) - dropped


def _roundtrip(score: Score):
    enc = encode(score)
    out, report = decode_with_report(
        enc.tokens, enc.track_of_row, score, enc.first_bar, velocity_of_row=enc.velocity_of_row, categories=enc.categories
    )
    return enc, out, report


def long_bar() -> Score:
    """15/4 (120 32nds, longer than MAX_BAR_LENGTH) then 4/4, with a 10-bar note (clipped to 32 16ths)."""
    notes = [Note(i * TPB, (i + 1) * TPB, 60 + i % 12, 80) for i in range(19)] + [Note(0, 40 * TPB, 40, 70)]
    return Score(TPB, [Track("Organ", 16, False, notes)], [TempoChange(0, 100.0)], [TimeSignature(0, 15, 4), TimeSignature(15 * TPB, 4, 4)])


def explicit_pickup() -> Score:
    """A drifting beat grid (POP909-like) whose first downbeat is on the second beat, with off-grid onsets."""
    beats = [100 + i * 500 + (i % 3) * 7 for i in range(20)]
    notes = [Note(b + 13, b + 260, 64 + i % 5, 70 + i) for i, b in enumerate(beats[:-2])]
    drums = [Note(b, b + 50, 36, 100) for b in beats[1:-2:2]]
    score = Score(TPB, [Track("MELODY", 0, False, notes), Track("Kit", 0, True, drums)], [TempoChange(0, 96.0)])
    score.beats, score.downbeats = beats, beats[1::4]
    return score


MIDI_FIXTURES = {
    "pop_band": fx.pop_band,
    "waltz_tempo_change": fx.waltz,
    "six_eight": fx.six_eight,
    "pickup_1_4": fx.pickup,
    "overlapping_out_of_range": fx.overlapping,
    "long_bar_long_note": long_bar,
}


@pytest.mark.parametrize("name", sorted(MIDI_FIXTURES))
def test_roundtrip_through_midi_file_is_exact_on_the_grid(name: str, tmp_path: Path) -> None:
    score = read_midi(fx.write(MIDI_FIXTURES[name](), tmp_path, f"{name}.mid"))
    enc, out, report = _roundtrip(score)
    assert _set(out) == _expected(score, enc)
    assert report.n_skipped == 0 and report.n_duplicates == 0
    assert enc.report.n_encoded + enc.report.n_dropped == enc.report.quantise.n_notes
    assert enc.report.n_encoded == sum(len(t.notes) for t in out.tracks)


def test_explicit_beat_grid_with_pickup_roundtrips() -> None:
    score = explicit_pickup()
    grid = beat_grid(score)
    assert grid.bar_length(0) < grid.bar_length(1) == 32  # a pickup bar before the first downbeat
    enc, out, _ = _roundtrip(score)
    assert _set(out) == _expected(score, enc) and len(_expected(score, enc)) == score.n_notes
    assert out.tracks[1].is_drum


def test_losses_are_reported_not_silent() -> None:
    enc = encode(fx.overlapping())
    assert enc.report.drop_counts() == {"pitch outside 21-108": 2}
    assert enc.report.quantise.n_duplicates_merged == 1
    enc = encode(long_bar())
    assert enc.report.quantise.n_duration_clipped == 1
    assert enc.report.n_bars_split == 1


def test_long_bar_is_split_into_sa_bars_sharing_its_index() -> None:
    enc = encode(long_bar())
    bar_rows = np.flatnonzero((enc.tokens[:, 0] == CHORD_ROW) & (enc.tokens[:, 3] >= FIRST_BAR_LENGTH))
    lengths = enc.tokens[bar_rows, 3] - FIRST_BAR_LENGTH + 1
    assert lengths[:2].tolist() == [64, 56] and enc.bar_of_row[bar_rows[:3]].tolist() == [0, 0, 1]
    assert (lengths <= MAX_BAR_LENGTH).all()
    assert (enc.tokens[:, 1] - 2 < np.repeat(lengths, np.diff(np.append(bar_rows, enc.n_rows)))).all()


def test_row_order_bar_row_then_changes_then_tracks_by_onset_and_pitch() -> None:
    score = fx.pop_band(bars=4)
    score.chords = [ChordLabel(0, 2 * TPB, 0, ""), ChordLabel(2 * TPB, 8 * TPB, 7, "7"), ChordLabel(8 * TPB, 16 * TPB, 9, "m")]
    enc = encode(score)
    t = enc.tokens
    first_bar = enc.bar_rows(0)
    assert t[first_bar.start].tolist() == [CHORD_ROW, 2, chord_token(0, ""), FIRST_BAR_LENGTH + 31]
    assert t[first_bar.start + 1].tolist() == [CHORD_ROW, 2 + 16, chord_token(7, "7"), CHANGE]
    assert t[enc.bar_rows(1).start, 2] == chord_token(7, "7")  # the chord at the bar start is repeated
    for b in range(enc.first_bar, enc.end_bar):
        rows = enc.bar_rows(b)
        tracks = enc.track_of_row[rows]
        assert tracks[0] == -1 and (np.diff(tracks) >= 0).all()
        for tr in np.unique(tracks[tracks >= 0]):
            block = t[rows][tracks == tr]
            keys = list(zip(block[:, 1].tolist(), block[:, 2].tolist(), strict=True))
            assert keys == sorted(keys)
    drum_rows = enc.track_of_row == 3
    assert (t[drum_rows, 0] == category_token("DRUMS")).all()
    assert enc.instruments.sum() == len(set(enc.categories))


def test_chords_roundtrip() -> None:
    score = fx.pop_band(bars=4)
    score.chords = [ChordLabel(0, 4 * TPB, 0, ""), ChordLabel(4 * TPB, 6 * TPB, 7, "sus4"), ChordLabel(8 * TPB, 16 * TPB, 9, "m7")]
    enc = encode(score)
    assert enc.report.chord_source == "score"
    assert decode_chords(enc.tokens, enc.grid) == score.chords  # the gap 6-8 beats is N.C. and left out


def test_bar_range_encodes_only_those_bars_and_decodes_in_place() -> None:
    score = fx.pop_band(bars=8)
    enc = encode(score, bars=(2, 5))
    assert enc.bar_of_row.min() == 2 and enc.bar_of_row.max() == 4
    out = decode(enc.tokens, enc.track_of_row, score, start_bar=2, velocity_of_row=enc.velocity_of_row)
    lo, hi = 2 * 4 * TPB, 5 * 4 * TPB
    assert _set(out) == {n for n in _set(quantise(score)[0]) if lo <= n[1] < hi}


def test_note_positions_match_quantise() -> None:
    score = explicit_pickup()
    grid = beat_grid(score)
    qnotes, _ = quantise_notes(score, grid)
    for ti, track in enumerate(score.tracks):
        pos = note_positions(grid, np.asarray([n.start for n in track.notes]))
        assert sorted(pos.tolist()) == sorted(q.onset for q in qnotes if q.track == ti)


def _bar(length: int = 32) -> list[int]:
    return [CHORD_ROW, 2, chord_token(None, ""), FIRST_BAR_LENGTH + length - 1]


def _note(category: str, pos: int, pitch: int, dur: int) -> list[int]:
    return [category_token(category), 2 + pos, pitch_token(pitch), duration_token(dur)]


def test_decode_skips_and_counts_inconsistent_rows() -> None:
    rows = [
        _note("PIANO", 0, 60, 4),  # before any bar row
        _bar(24),
        _note("PIANO", 0, 60, 4),
        [category_token("PIANO"), 2 + 24, pitch_token(62), duration_token(4)],  # onset past a 24-long bar
        [category_token("PIANO"), 2, chord_token(0, "m"), duration_token(4)],  # chord in the pitch cell
        [category_token("PIANO"), 2, PAD, duration_token(4)],  # PAD in a note row
        [category_token("PIANO"), MASK, MASK, MASK],  # unfilled slot
        [category_token("PIANO"), PAD, PAD, PAD],  # an empty slot: fine
        [PAD, PAD, PAD, PAD],
        [category_token("BASS"), 4, pitch_token(40), FIRST_BAR_LENGTH],  # bar length as duration
        _bar(32),
        _note("PIANO", 8, 64, 2),
    ]
    score, report = decode_with_report(np.asarray(rows), None, None)
    assert report.n_notes == 2 and report.n_pad_rows == 2 and report.n_skipped == 6
    assert report.skipped["onset beyond the bar"] == 1 and report.skipped["MASK left in a cell"] == 1
    notes = score.tracks[0].notes
    assert [(n.start, n.end, n.pitch) for n in notes] == [(0, 480, 60), (24 * 60 + 8 * 60, 24 * 60 + 12 * 60, 64)]
    assert [(s.numerator, s.denominator) for s in score.time_signatures] == [(3, 4), (4, 4)]


def test_generated_rows_go_to_their_category_track_or_a_new_one() -> None:
    template = fx.pop_band(bars=2)
    rows = np.asarray([_bar(), _note("BASS", 0, 40, 4), _note("DRUMS", 4, 38, 1), _note("STRINGS", 0, 72, 16)])
    out = decode(rows, np.full(4, -1), template, start_bar=1, categories=["MELODY", "PIANO", "BASS", "DRUMS", "STRINGS"])
    bar1 = 4 * TPB
    bass_new = [n for n in out.tracks[2].notes]
    assert [(n.start, n.pitch, n.velocity) for n in bass_new] == [(bar1, 40, 95)]  # the bass track's median velocity
    assert [(n.start, n.pitch) for n in out.tracks[3].notes] == [(bar1 + 4 * 60, 38)]
    unknown = decode(rows[:3], np.full(3, -1), Score(tracks=[Track("Piano", 0)]))
    assert [(t.name, t.is_drum, t.program) for t in unknown.tracks[1:]] == [("Bass", False, 33), ("Drums", True, 0)]
    assert unknown.tracks[1].notes[0].velocity == 90


def test_windows_cover_all_bars_within_max_rows_with_overlap() -> None:
    enc = encode(fx.pop_band(bars=12))
    wins = windows(enc, 200, overlap_bars=2)
    assert wins[0].start_bar == 0 and wins[-1].end_bar == 12
    for a, b in zip(wins, wins[1:], strict=False):
        assert b.start_bar == a.end_bar - 2
    for w in wins:
        assert 0 < w.n_rows <= 200 and w.truncated_rows == 0
        assert enc.tokens[w.row_start, 0] == CHORD_ROW and enc.tokens[w.row_start, 3] >= FIRST_BAR_LENGTH
        assert set(enc.bar_of_row[w.rows].tolist()) == set(range(w.start_bar, w.end_bar))


def test_a_bar_longer_than_the_window_is_truncated_and_reported() -> None:
    enc = encode(fx.pop_band(bars=3))
    rows_per_bar = enc.bar_rows(0).stop
    wins = windows(enc, 20)
    assert len(wins) == 3 and all(w.n_rows == 20 for w in wins)
    assert wins[0].truncated_rows == rows_per_bar - 20


def test_to_example_has_window_local_tracks_and_bars() -> None:
    score = fx.pop_band(bars=6)
    score.tracks[0].notes = [n for n in score.tracks[0].notes if n.start >= 3 * 4 * TPB]  # melody enters in bar 3
    enc = encode(score)
    w = Window(2, 5, enc.bar_rows(2).start, enc.bar_rows(4).stop)
    ex = to_example(enc, w)
    assert isinstance(ex, SAExample) and ex.given.all() and ex.n_rows == w.n_rows
    assert ex.bar_index.min() == 0 and ex.bar_index.max() == 2
    assert (ex.track_id[enc.track_of_row[w.rows] == -1] == 0).all()
    first = {int(t): int(i) for t, i in zip(enc.track_of_row[w.rows][::-1], ex.track_id[::-1], strict=True) if t >= 0}
    assert first == {1: 1, 2: 2, 3: 3, 4: 4, 0: 5}  # numbered by first appearance
    assert ex.instruments.sum() == 5 and ex.tempo == enc.tempo


def test_vocab_ids_used_exist() -> None:
    enc = encode(fx.pop_band(bars=2))
    from engine.representation.vocab import COLUMN_SIZES

    for c in range(4):
        assert enc.tokens[:, c].min() >= 2 and enc.tokens[:, c].max() < COLUMN_SIZES[c]
    assert COLUMN_INDEX[3]["bar_32"] == FIRST_BAR_LENGTH + 31


@pytest.mark.data
def test_pop909_sample_roundtrips_exactly(pop909_root: Path) -> None:
    try:
        from engine.data.pop909 import load_pop909_song
    except ImportError:  # the loader is optional: without it there is no beat grid, only the MIDI
        load_pop909_song = None
    folders = sorted(p for p in pop909_root.iterdir() if p.is_dir() and (p / f"{p.name}.mid").exists())
    sample = folders[:: max(1, len(folders) // 30)][:30]
    assert sample
    for folder in sample:
        score = load_pop909_song(folder) if load_pop909_song else read_midi(folder / f"{folder.name}.mid")
        enc, out, report = _roundtrip(score)
        assert _set(out) == _expected(score, enc), folder.name
        assert report.n_skipped == 0
        assert all(w.n_rows <= 256 for w in windows(enc, 256))
