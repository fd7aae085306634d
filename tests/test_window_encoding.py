"""Window encoding for long and big requests: encoding only the bars a part's window can reach gives the
very problem the whole song gives, and parts whose windows read each other's bars never share a round."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.analysis.grid import beat_grid
from engine.infill import schedule_parts
from engine.representation.encode import encode, score_categories, score_chords
from engine.representation.masks import Selection, build_infill_problem, context_bars
from engine.score import Note
from tests.midi_fixtures import pop_band


def _same_problem(a, b) -> None:
    np.testing.assert_array_equal(a.example.tokens, b.example.tokens)
    np.testing.assert_array_equal(a.example.given, b.example.given)
    np.testing.assert_array_equal(a.example.track_id, b.example.track_id)
    np.testing.assert_array_equal(a.example.bar_index, b.example.bar_index)
    np.testing.assert_array_equal(a.track_of_row, b.track_of_row)
    np.testing.assert_array_equal(a.bar_of_row, b.bar_of_row)
    np.testing.assert_array_equal(a.velocity_of_row, b.velocity_of_row)
    assert (a.window_start_bar, a.window_end_bar) == (b.window_start_bar, b.window_end_bar)


def _thinned_bass(score, start_bar: int, end_bar: int):
    """The song as an earlier part of a request could leave it: the bass plays one note a bar in bars
    [start_bar, end_bar) instead of four (fewer rows there, so a later window can reach further)."""
    bar = 4 * score.ticks_per_beat
    out = score.copy()
    bass = out.tracks[2]
    bass.notes = [n for n in bass.notes if not start_bar * bar <= n.start < end_bar * bar]
    bass.notes += [Note(b * bar, b * bar + 400, 40, 90) for b in range(start_bar, end_bar)]
    bass.notes.sort(key=lambda n: (n.start, n.pitch, n.end))
    return out


@pytest.mark.parametrize("thin", [False, True])
@pytest.mark.parametrize("sel", [Selection(10, 12, (2,)), Selection(0, 2, (1, 2)), Selection(22, 24, (2, 4)), Selection(12, 14, None)])
@pytest.mark.parametrize("max_rows", [256, 96])
def test_window_encoding_gives_the_whole_song_problem(sel, thin, max_rows):
    song = _thinned_bass(pop_band(24), 4, 10)
    grid, cats = beat_grid(song), score_categories(song)
    chords = score_chords(song, grid)
    whole = encode(song, grid=grid, categories=cats, chords=chords)
    reach = context_bars(encode(pop_band(24)), sel, max_rows, thin)  # bounds from the song before the change
    assert 0 <= reach[0] <= sel.start_bar and sel.end_bar <= reach[1] <= 24
    part = encode(song, reach, grid=grid, categories=cats, chords=chords)
    try:
        expected = build_infill_problem(whole, sel, {t: 6 for t in range(5)}, max_rows, thin)
    except Exception as exc:  # noqa: BLE001 - a selection too big for the window must fail the same way
        with pytest.raises(type(exc)):
            build_infill_problem(part, sel, {t: 6 for t in range(5)}, max_rows, thin)
        return
    _same_problem(build_infill_problem(part, sel, {t: 6 for t in range(5)}, max_rows, thin), expected)
    assert reach[0] <= expected.window_start_bar and expected.window_end_bar <= reach[1]


def test_context_bars_is_smaller_than_the_song_when_bars_are_full():
    enc = encode(pop_band(32))
    first, end = context_bars(enc, Selection(14, 16, (2,)), 96)
    assert 0 < first and end < 32, "a 96-row window of a 5-part band cannot reach the whole song"


def test_window_encoding_ignores_notes_outside_its_bars():
    """A note far outside the encoded bars cannot change their encoding (the pre-filter keeps one bar of
    margin): moving one changes the whole song's encoding but not the window's."""
    song = pop_band(16)
    moved = song.copy()
    moved.tracks[1].notes = [replace(n, pitch=n.pitch + 1) if n.start < 4 * 480 else n for n in moved.tracks[1].notes]
    a, b = encode(song, (8, 12)), encode(moved, (8, 12))
    np.testing.assert_array_equal(a.tokens, b.tokens)
    assert not np.array_equal(encode(song).tokens, encode(moved).tokens)


def test_parts_that_read_each_other_never_share_a_round():
    parts = [Selection(4 * k, 4 * k + 4, (1,)) for k in range(5)]
    windows = [(max(0, 4 * k - 2), 4 * k + 6) for k in range(5)]  # each reads two bars of its neighbours
    rounds = schedule_parts(parts, windows)
    assert rounds == [[0, 2, 4], [1, 3]]
    wide = [(0, 20)] * 5  # every window reads every part: strictly one after another
    assert schedule_parts(parts, wide) == [[0], [1], [2], [3], [4]]
    assert schedule_parts(parts, windows, adds_tracks=True) == [[0], [1, 3], [2, 4]]


def _crowded(n_tracks: int = 30, bars: int = 4):
    """Every bar holds more rows than a 256-row window: n_tracks tracks x 12 notes."""
    from engine.score import Score, Track

    tracks = []
    for t in range(n_tracks):
        notes = [Note(b * 1920 + k * 160, b * 1920 + k * 160 + 150, 40 + (t * 5 + k) % 40, 80)
                 for b in range(bars) for k in range(12)]
        tracks.append(Track(f"T{t}", (t * 3) % 96, False, notes))
    return Score(480, tracks)


def test_an_over_full_bar_keeps_the_selected_tracks_slots():
    """A bar of 360 rows in a 256-row window: the editor's problem cuts other tracks' rows, so a late
    selected track still gets its slots; the shared builder's plain cut (training) leaves it none."""
    from engine.representation.masks import build_problem

    song = _crowded()
    enc = encode(song)
    sel = Selection(1, 2, (28,))
    editor = build_infill_problem(enc, sel, None, 256)
    plain = build_problem(enc, sel, None, 256)
    assert editor.truncated_rows > 0 and editor.example.n_rows == 256
    assert int((~editor.example.given.all(1)).sum()) >= 4
    assert int((editor.track_of_row == 28).sum()) >= 4
    assert int((~plain.example.given.all(1)).sum()) == 0, "the tail cut drops a late track's slots"
    assert (editor.track_of_row == -1).sum() == (plain.track_of_row == -1).sum(), "chord rows are always kept"
