"""The issue's own files: ../shared/data/midi-corpus/kinds (each with the behaviour its README states).

Skipped when the shared data is absent; tests/test_midi_document.py covers the same kinds with files the
tests write themselves.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.analysis.grid import beat_grid
from engine.analysis.tempo import score_tempo_class
from engine.midi_compare import Region, compare_outside
from engine.midi_io import load_warnings, read_midi, score_to_midi_bytes

KINDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi-corpus" / "kinds"
pytestmark = pytest.mark.skipif(not KINDS.is_dir(), reason=f"the shared MIDI corpus is not at {KINDS}")


def _file(prefix: str) -> Path:
    return next(KINDS.glob(f"{prefix}_*"))


@pytest.fixture(scope="module")
def model():
    from tests.model_fixtures import plausible_model

    return plausible_model()


@pytest.mark.parametrize("prefix", ["01", "02", "03", "04", "05", "06", "07", "08", "11", "14"])
def test_an_infill_elsewhere_keeps_every_event(prefix: str, model) -> None:  # noqa: ANN001
    from engine.infill import Selection, infill

    path = _file(prefix)
    data = path.read_bytes()
    score = read_midi(path)
    target = max(range(len(score.tracks)), key=lambda i: len(score.tracks[i].notes))
    grid = beat_grid(score)
    bars = (1, min(3, grid.n_bars))
    out = infill(score, Selection(bars[0], bars[1], (target,)), n_variations=1, seed=1, model=model)[0]
    t0, t1 = (int(grid.position_to_tick(int(grid.bar_starts[b]))) for b in bars)
    src = score.tracks[target].source
    cmp = compare_outside(data, score_to_midi_bytes(out), [Region(src[0], src[1], t0 - 30, t1 - 30)])
    assert cmp.ok and cmp.program_changed == 0, cmp.summary()


def test_what_each_kind_must_read_as() -> None:
    five = read_midi(_file("05"))
    keys = [(t.program, len(t.notes)) for t in five.tracks if t.name.startswith("Keys")]
    assert keys == [(0, 4), (48, 4)]  # 4 + 4 by the program at note-on, not 3 + 5
    six = read_midi(_file("06"))
    assert [round(t.bpm) for t in six.tempos] == [100, 60]
    assert abs(six.tick_to_seconds(six.end_tick) - 25.6) < 0.05
    seven = read_midi(_file("07"))
    assert [round(t.bpm) for t in seven.tempos][:2] == [100, 60]
    assert beat_grid(read_midi(_file("08"))).n_bars == 8
    assert score_tempo_class(read_midi(_file("11"))) == "largo"
    empty = read_midi(_file("12"))
    assert empty.tracks == [] and load_warnings(empty)
    setup = {t.name: t.program for t in read_midi(_file("14")).tracks}
    assert (setup["Bass"], setup["Violin"]) == (33, 40)  # programs from the set-up track
