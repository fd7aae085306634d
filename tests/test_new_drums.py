"""The "new drum track" checks (engine/evaluate/new_drums.py) say bad where a pop drummer would."""

from __future__ import annotations

import math

import numpy as np

from engine.evaluate.metrics import NoteArray
from engine.evaluate.new_drums import drum_checks

BAR = 32


def _drums(hits: list[tuple[int, int]]) -> NoteArray:
    onset = np.asarray([o for o, _ in hits], dtype=np.int64)
    key = np.asarray([k for _, k in hits], dtype=np.int64)
    n = len(hits)
    return NoteArray(onset, np.ones(n, np.int64), key, np.zeros(n, np.int64), onset * 60, np.ones(n, bool))


def test_a_backbeat_groove_passes() -> None:
    hits = [(b * BAR + x, k) for b in range(4) for x, k in ((0, 36), (8, 38), (16, 36), (24, 38))]
    hits += [(b * BAR + x, 42) for b in range(4) for x in range(0, BAR, 4)]
    out = drum_checks(_drums(hits), np.arange(5) * BAR)
    assert out["kick_on_one"] == 1.0 and out["backbeat"] == 1.0 and out["notes_per_bar"] == 12


def test_hats_only_and_a_displaced_groove_fail() -> None:
    hats = _drums([(b * BAR + x, 42) for b in range(4) for x in range(0, BAR, 4)])
    out = drum_checks(hats, np.arange(5) * BAR)
    assert out["kick_on_one"] == 0.0 and out["backbeat"] == 0.0
    # the same groove a beat late: kick on 2, snare on 3 and 1
    late = _drums([(b * BAR + x + 8, k) for b in range(4) for x, k in ((0, 36), (8, 38), (16, 36), (24, 38))])
    out = drum_checks(late, np.arange(5) * BAR)
    assert out["kick_on_one"] == 0.0 and out["backbeat"] == 0.0


def test_backbeat_is_undefined_without_a_four_four_bar() -> None:
    waltz = _drums([(b * 24, 36) for b in range(4)])
    out = drum_checks(waltz, np.arange(5) * 24)
    assert out["kick_on_one"] == 1.0 and math.isnan(out["backbeat"])


def test_the_task_runs_on_a_small_song_with_and_without_drums() -> None:
    from engine.analysis.grid import beat_grid
    from engine.evaluate.new_drums import run_case, summarise
    from engine.evaluate.tasks import Song
    from engine.score import Note, Score, Track
    from tests.model_fixtures import plausible_model

    bar = 1920
    melody = Track("Melody", 73, False, [Note(b * bar + k * 480, b * bar + k * 480 + 440, 72, 90) for b in range(16) for k in range(4)])
    piano = Track("Piano", 0, False, [Note(b * bar, b * bar + bar, 48 + i, 80) for b in range(16) for i in (0, 4, 7)])
    drums = Track("Drums", 0, True, [Note(b * bar + k * 480, b * bar + k * 480 + 60, 36 if k % 2 == 0 else 38, 100)
                                     for b in range(16) for k in range(4)])
    model = plausible_model()
    for tracks, cats in (([melody, piano], ("MELODY", "PIANO")), ([melody, piano, drums], ("MELODY", "PIANO", "DRUMS"))):
        score = Score(tracks=tracks)
        grid = beat_grid(score)
        case = run_case(Song(0, "s", score, cats, grid, 0, grid.n_bars), "midi", model, np.random.default_rng(0), steps=2)
        assert not isinstance(case, str)
        assert ("truth" in case.scores) == ("DRUMS" in cats)
        if "truth" in case.scores:
            assert case.scores["truth"]["kick_on_one"] == 1.0 and case.scores["truth"]["backbeat"] == 1.0
        assert 0.0 <= case.scores["model"]["kick_on_one"] <= 1.0
        assert summarise([case])["midi model"]["cases"] == 1.0
