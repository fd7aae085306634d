"""The editor with the real engine (an untrained tiny model): the adapter speaks engine.infill's API."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.backends import EngineBackend
from app.document import PromptSettings, RegionSelection, notes_outside_region
from engine.analysis.grid import beat_grid
from tests.test_app_window import boxes, flat, make_window, regenerate_and_wait  # noqa: F401 - fixtures

torch = pytest.importorskip("torch")


@pytest.fixture
def tiny_engine() -> EngineBackend:
    infill = pytest.importorskip("engine.infill")
    from engine.diffusion import make_diffusion
    from engine.model.config import ModelConfig
    from engine.model.network import SAModel

    torch.manual_seed(0)
    cfg = ModelConfig.tiny()
    backend = EngineBackend()
    backend._model = infill.InfillModel(SAModel(cfg).eval(), cfg, make_diffusion(cfg), "untrained tiny (test)")
    return backend


def test_regenerate_with_the_real_engine(make_window, tiny_engine: EngineBackend, qtbot, tmp_path: Path, boxes) -> None:  # noqa: ANN001, F811
    window = make_window(tiny_engine)
    window.load_demo()
    selection = RegionSelection(8, 10, (0, 1))
    window.doc.set_selection(selection)
    window.doc.set_prompts(PromptSettings(steps=3, n_variations=2, new_tracks=("BRASS",)))
    original = window.doc.score
    regenerate_and_wait(qtbot, window)
    assert not boxes.of("critical"), boxes.shown
    assert len(window.doc.variations) == 2
    grid = beat_grid(original)
    n = len(original.tracks)
    kept = flat(notes_outside_region(original, grid, selection))
    for variation in window.doc.variations:
        assert flat((i, note) for i, note in notes_outside_region(variation, grid, selection) if i < n) == kept
        assert len(variation.tracks) == n + 1  # the brass track was added
    window.accept_variation(0)
    assert window.export_midi(tmp_path / "demo-edited.mid")


def test_cancel_with_the_real_engine(make_window, tiny_engine: EngineBackend, qtbot) -> None:  # noqa: ANN001, F811
    window = make_window(tiny_engine)
    window.load_demo()
    window.doc.select_tracks([1])
    window.doc.set_prompts(PromptSettings(steps=200, n_variations=8))
    window.regenerate()
    window.cancel_regenerate()
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=20_000)
    assert window.prompt_panel.progress.format() in ("Cancelled", "8 variations ready")
