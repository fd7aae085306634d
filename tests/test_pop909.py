"""POP909 loading: Harte chord labels, beat files, and (marked ``data``) the real dataset on a sample."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from engine.analysis.chord_vocab import QUALITIES
from engine.analysis.chords import chords_per_beat
from engine.analysis.grid import POSITIONS_PER_BEAT, beat_grid
from engine.analysis.melody import detect_melody_track
from engine.analysis.quantise import quantise
from engine.data import pop909
from engine.data.pop909 import harte_to_quality, load_pop909_song, parse_harte, parse_root, pop909_songs
from engine.midi_io import write_midi
from engine.score import Note, Score, TempoChange, TimeSignature, Track


@pytest.mark.parametrize(
    ("label", "expected"),
    [("N", (None, "")), ("C:maj", (0, "")), ("F#:maj7/5", (6, "maj7")), ("Bb:min", (10, "m")), ("Db:min7", (1, "m7")),
     ("E:hdim7", (4, "m7b5")), ("G:7", (7, "7")), ("A:sus2", (9, "sus2")), ("D:sus4(b7)", (2, "sus4")),
     ("Ab:aug", (8, "+")), ("B:dim", (11, "dim")), ("C#:dim7", (1, "dim")), ("Eb:maj6", (3, "")), ("F:min6", (5, "m")),
     ("Cb:maj/3", (11, "")), ("E#:minmaj7", (5, "m")), ("G:9", (7, "7")), ("A:min9", (9, "m7")), ("C", (0, "")),
     ("D:(1,b3,5)", (2, "m")), ("D:(1,3,5,b7)", (2, "7"))],
)  # fmt: skip
def test_parse_harte(label: str, expected: tuple[int | None, str]):
    assert parse_harte(label) == expected


@pytest.mark.parametrize(
    ("quality", "expected"), [("min11", "m7"), ("minfoo", "m"), ("dimxyz", "m"), ("weird", ""), ("5", "")]
)
def test_unknown_qualities_fall_back_by_third(quality: str, expected: str):
    assert harte_to_quality(quality) == expected
    assert harte_to_quality(quality) in QUALITIES


def test_parse_root_rejects_garbage():
    for bad in ("H", "", "C+", "x#"):
        with pytest.raises(ValueError):
            parse_root(bad)


def test_default_root_is_next_to_the_repository(monkeypatch):
    repo = Path(__file__).resolve().parents[1]
    assert pop909._DEFAULT_ROOT == repo.parent / "shared" / "data" / "pop909"
    monkeypatch.setenv("POPDIFFUSEQ_POP909", "/somewhere/else")
    try:
        assert importlib.reload(pop909).POP909_ROOT == Path("/somewhere/else")
    finally:
        monkeypatch.delenv("POPDIFFUSEQ_POP909")
        importlib.reload(pop909)


def _write_song(folder: Path) -> None:
    """A POP909-shaped song: tempo 100 (0.6 s per beat), beats starting 0.1 s late, 1/4 time signature."""
    tpb = 480
    folder.mkdir()
    beat_s = [0.1 + 0.6 * i for i in range(17)]
    score = Score(tpb, [Track("MELODY", 0, False, [Note(100 + 480 * i, 400 + 480 * i, 72) for i in range(16)]),
                        Track("BRIDGE", 0, False, [Note(80, 900, 76)]),
                        Track("PIANO", 0, False, [Note(80, 1980, p) for p in (48, 60, 64, 67)])],
                  [TempoChange(0, 100.0)], [TimeSignature(0, 1, 4)])  # fmt: skip
    write_midi(score, folder / f"{folder.name}.mid")
    (folder / "beat_midi.txt").write_text(
        "".join(f"{t} {float(i % 2 == 0)} {float(i % 4 == 1)}\n" for i, t in enumerate(beat_s))
    )
    (folder / "chord_midi.txt").write_text("0.1\t0.7\tN\n0.7\t3.1\tC:maj/5\n3.1\t5.5\tA:min7\n")


def test_load_synthetic_song(tmp_path: Path):
    _write_song(tmp_path / "001")
    score = load_pop909_song(tmp_path / "001")
    assert [t.name for t in score.tracks] == ["MELODY", "BRIDGE", "PIANO"]
    assert score.beats[:3] == [80, 560, 1040]  # 0.1 s at 100 BPM / 480 tpb = 80 ticks
    assert score.downbeats[:2] == [560, 2480]  # a one-beat pickup
    assert [(c.start, c.end, c.root, c.quality) for c in score.chords] == [
        (80, 560, None, ""),
        (560, 2480, 0, ""),
        (2480, 4400, 9, "m7"),
    ]
    grid = beat_grid(score)
    assert round(grid.tick_to_position(560)) in grid.bar_starts.tolist()  # the first downbeat starts a bar
    assert pop909_songs(tmp_path) == [tmp_path / "001"]


def test_songs_of_a_missing_root_is_empty(tmp_path: Path):
    assert pop909_songs(tmp_path / "absent") == []


def test_missing_midi_is_a_clear_error(tmp_path: Path):
    (tmp_path / "002").mkdir()
    with pytest.raises(FileNotFoundError, match="no MIDI"):
        load_pop909_song(tmp_path / "002")


# --- the real dataset (a sample; bench/pop909_analysis.py measures all songs) ---------------------------

SAMPLE = 30


@pytest.fixture(scope="module")
def sample(pop909_root: Path) -> list[Score]:
    songs = pop909_songs(pop909_root)
    step = max(len(songs) // SAMPLE, 1)
    return [load_pop909_song(folder) for folder in songs[::step][:SAMPLE]]


@pytest.mark.data
def test_pop909_sample_loads_with_beats_and_chords(sample: list[Score]):
    for score in sample:
        assert score.beats and score.downbeats and score.chords
        assert np.all(np.diff(score.beats) > 0)
        assert set(score.downbeats) <= set(score.beats)
        assert all(c.quality in QUALITIES for c in score.chords)
        assert any(t.name == "MELODY" for t in score.tracks)


@pytest.mark.data
def test_pop909_melody_found_without_names(sample: list[Score]):
    hits = 0
    for score in sample:
        truth = [t.name for t in score.tracks].index("MELODY")
        blind = score.copy()
        for t in blind.tracks:
            t.name = ""
        hits += detect_melody_track(blind) == truth
    assert hits / len(sample) >= 0.9


@pytest.mark.data
def test_pop909_chord_roots_agree_with_annotations(sample: list[Score]):
    agree = total = 0
    for score in sample[:10]:
        grid = beat_grid(score)
        detected = chords_per_beat(score, grid)
        mids = grid.position_to_tick(np.arange(len(detected)) * POSITIONS_PER_BEAT + POSITIONS_PER_BEAT // 2)
        starts = np.asarray([c.start for c in score.chords])
        for (root, _), tick in zip(detected, mids, strict=True):
            i = int(np.searchsorted(starts, tick, side="right")) - 1
            if (
                i >= 0
                and score.chords[i].start <= tick < score.chords[i].end
                and score.chords[i].root is not None
            ):
                total += 1
                agree += root == score.chords[i].root
    assert total > 1000 and agree / total >= 0.8


@pytest.mark.data
def test_pop909_quantise_is_idempotent(sample: list[Score]):
    for score in sample[:5]:
        once, report = quantise(score)
        assert report.n_notes > 500
        twice, again = quantise(once)
        assert twice == once and again.n_onset_moved == 0
