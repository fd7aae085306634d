"""MMA band layers (engine/data/mma.py): bar k of the groove lands on bar k of the song, and only grooves
that drum like a pop song (kick on 1, backbeat) are used. Pure tests: MMA's output is faked."""

from __future__ import annotations

import numpy as np
import pytest

import engine.data.mma as mma
from engine.score import ChordLabel, Note, Score, Track

TPB = 480


def _song(bar_beats: list[int]) -> Score:
    """A song whose annotated bars have the given numbers of beats (beats every TPB ticks)."""
    n = sum(bar_beats)
    beats = [i * TPB for i in range(n)]
    downbeats = [int(x) * TPB for x in np.cumsum([0] + bar_beats[:-1])]
    chords = [ChordLabel(d, d + b * TPB, k % 12, "") for k, (d, b) in enumerate(zip(downbeats, bar_beats, strict=True))]
    melody = Track("Melody", 0, False, [Note(b, b + 240, 72, 90) for b in beats])
    return Score(tracks=[melody], ticks_per_beat=TPB, beats=beats, downbeats=downbeats, chords=chords)


def _groove(bars: int, mma_tpb: int = 192, snare_on: tuple[float, ...] = (1, 3), kick_on: tuple[float, ...] = (0, 2)) -> Score:
    """What MMA renders: 4-beat bars, kick and snare at the given beats of every bar."""
    notes = [Note(int((4 * b + x) * mma_tpb), int((4 * b + x) * mma_tpb) + 40, 36, 100) for b in range(bars) for x in kick_on]
    notes += [Note(int((4 * b + x) * mma_tpb), int((4 * b + x) * mma_tpb) + 40, 38, 100) for b in range(bars) for x in snare_on]
    return Score(tracks=[Track("Drums", 0, True, sorted(notes, key=lambda n: n.start))], ticks_per_beat=mma_tpb)


def test_chart_has_one_four_beat_bar_per_song_bar() -> None:
    chart, bars = mma.chord_chart(_song([4, 4, 2, 4, 5, 4, 4, 4, 4, 4]))
    assert len(chart) == 4 * 10 and [len(b) for b in bars] == [4, 4, 2, 4, 5, 4, 4, 4, 4, 4]
    assert chart[8:12] == ["D"] * 4  # the 2-beat bar's chord held over the MMA bar
    assert chart[12:16] == ["D#"] * 4  # and the next bar starts on the next MMA bar


def test_groove_keeps_kick_on_one_after_odd_bars(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2-beat and a 5-beat bar must not move the following bars' kick off beat 1 (a chart counted in
    beats from the first downbeat did)."""
    song = _song([4, 4, 2, 4, 5, 4, 4, 4, 4, 4])
    monkeypatch.setattr(mma, "render_mma", lambda source, timeout=120.0: _groove(10))
    band = mma.add_band(song, "8Beat")
    kicks = {n.start for n in band.tracks[-1].notes if n.pitch == 36}
    assert all(d in kicks for d in song.downbeats)
    snares = {n.start for n in band.tracks[-1].notes if n.pitch == 38}
    # the 2-beat bar (ticks 3840-4800) keeps its first two beats (kick, snare); beats 3 and 4 of the MMA
    # bar are dropped rather than spilled into the next bar
    assert sorted((n.start, n.pitch) for n in band.tracks[-1].notes if 3840 <= n.start < 4800) == [(3840, 36), (4320, 38)]
    last = song.downbeats[-1]
    assert {last + TPB, last + 3 * TPB} <= snares


def test_songs_mostly_not_in_four_get_no_layer() -> None:
    with pytest.raises(mma.MMAError, match="not of 4 beats"):
        mma.chord_chart(_song([3] * 12))
    with pytest.raises(mma.MMAError, match="chord"):
        mma.chord_chart(Score(tracks=[], beats=[0, 480], downbeats=[0]))


def test_drum_profile_says_no_to_grooves_without_a_pulse(monkeypatch: pytest.MonkeyPatch) -> None:
    mma.drum_profile.cache_clear()
    monkeypatch.setattr(mma, "render_mma", lambda source, timeout=120.0: _groove(8))
    assert mma.drum_profile("fake-pop") == (1.0, 1.0) and mma.has_backbeat("fake-pop")
    mma.drum_profile.cache_clear()
    monkeypatch.setattr(mma, "render_mma", lambda source, timeout=120.0: _groove(8, kick_on=(1.5,)))  # no kick on 1
    assert mma.drum_profile("fake-nokick")[0] == 0.0 and not mma.has_backbeat("fake-nokick")
    mma.drum_profile.cache_clear()
    monkeypatch.setattr(mma, "render_mma", lambda source, timeout=120.0: _groove(8, snare_on=(1.5, 3.5)))  # off-beat snare
    assert mma.drum_profile("fake-offbeat")[1] == 0.0 and not mma.has_backbeat("fake-offbeat")
    mma.drum_profile.cache_clear()
