"""The editor's device setting and the part-limit prompts (register, one line) reach the engine."""

from __future__ import annotations

from pathlib import Path

from app.document import PromptSettings
from app.main_window import MainWindow
from app.settings import AppSettings


class RecordingBackend:
    """Records device changes and loads; infill is never called here."""

    name = "recording"

    def __init__(self) -> None:
        self.devices: list[str] = []
        self.loads = 0
        self.device_label = "CPU (2 threads, int8)"

    def load(self) -> None:
        self.loads += 1

    def set_device(self, device: str) -> None:
        self.devices.append(device)

    def infill(self, request, progress, cancel):  # noqa: ANN001, ANN201
        return []


def test_device_menu_reloads_the_model_there_and_is_remembered(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    settings = AppSettings.in_file(tmp_path / "s.ini")
    backend = RecordingBackend()
    window = MainWindow(backend=backend, settings=settings)
    qtbot.addWidget(window)
    window.start_model_loading()  # main() does this once the window shows
    qtbot.waitUntil(lambda: window.model_state == "ready", timeout=10_000)
    assert "CPU (2 threads, int8)" in window.status_model.text()
    window.device_actions["cpu"].trigger()
    qtbot.waitUntil(lambda: window.model_state == "ready" and backend.loads == 2, timeout=10_000)
    assert backend.devices == ["cpu"] and settings.device() == "cpu"
    assert AppSettings.in_file(tmp_path / "s.ini").device() == "cpu"
    window.shutdown()


class SlowBackend(RecordingBackend):
    """Its first load waits until the test lets it go, so the device can be changed while the loader runs."""

    def __init__(self) -> None:
        super().__init__()
        import threading

        self.release = threading.Event()

    def load(self) -> None:
        if self.loads == 0:
            self.release.wait(10)
        super().load()


def test_a_device_chosen_while_the_model_loads_is_applied_when_the_load_ends(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    # The race CI hit: the loader's thread outlives its "loaded" signal, and a device picked in between was
    # only remembered for the next start; now it reloads the model there as soon as the loader is done.
    settings = AppSettings.in_file(tmp_path / "s.ini")
    backend = SlowBackend()
    window = MainWindow(backend=backend, settings=settings)
    qtbot.addWidget(window)
    window.start_model_loading()
    window.device_actions["cpu"].trigger()  # the loader is still busy
    assert backend.devices == [] and settings.device() == "cpu"
    backend.release.set()
    qtbot.waitUntil(lambda: window.model_state == "ready" and backend.loads == 2, timeout=10_000)
    assert backend.devices == ["cpu"]
    window.shutdown()


def test_register_and_line_prompts_reach_the_engine_prompts() -> None:
    from app.backends import EngineBackend

    assert PromptSettings(register="loose", one_line="off").preferences().register == "loose"  # a preference
    assert PromptSettings(register="tight").register == "strict"
    back = PromptSettings.from_dict(PromptSettings(register="off", one_line="on").to_dict())
    assert (back.register, back.one_line) == ("off", "on")
    captured = {}

    class FakeEngine:
        class Selection:
            def __init__(self, **kw) -> None:  # noqa: ANN003
                captured["selection"] = kw

        class Prompts:
            def __init__(self, **kw) -> None:  # noqa: ANN003
                captured["prompts"] = kw

        @staticmethod
        def infill(*args, **kw):  # noqa: ANN002, ANN003, ANN205
            return []

    from app.document import InfillRequest, RegionSelection
    from engine.demo import demo_score

    backend = EngineBackend()
    backend._model = object()  # loaded
    backend._import_engine = lambda: FakeEngine  # type: ignore[method-assign]
    request = InfillRequest(demo_score(), RegionSelection(1, 2, (0,)), PromptSettings(register="loose", one_line="on", novelty=0.4),
                            frozenset(), ())
    backend.infill(request, None, None)
    assert captured["prompts"]["register"] == "loose" and captured["prompts"]["line"] is True
    assert captured["prompts"]["novelty"] == 0.4
    assert captured["prompts"]["melody_scale"] is True  # the default reaches the engine
    off = InfillRequest(demo_score(), RegionSelection(1, 2, (0,)), PromptSettings(melody_scale=False), frozenset(), ())
    backend.infill(off, None, None)
    assert captured["prompts"]["melody_scale"] is False
    assert PromptSettings.from_dict(PromptSettings(melody_scale=False).to_dict()).melody_scale is False  # remembered
    assert PromptSettings(melody_scale=False).preferences().melody_scale is False  # a preference, kept across songs


def test_the_melody_scale_box_sets_the_prompt(qtbot) -> None:  # noqa: ANN001
    from app.prompt_panel import PromptPanel
    from engine.scale import MELODY_SCALE_DEFAULT, MELODY_SCALE_HELP

    panel = PromptPanel()
    qtbot.addWidget(panel)
    seen = []
    panel.promptsChanged.connect(seen.append)
    assert panel.melody_scale.isChecked() is MELODY_SCALE_DEFAULT and panel.melody_scale.toolTip() == MELODY_SCALE_HELP
    panel.melody_scale.setChecked(False)
    assert seen and seen[-1].melody_scale is False
    panel.set_prompts(PromptSettings(melody_scale=True))
    assert panel.melody_scale.isChecked() and panel.prompts().melody_scale


def test_the_prompt_form_keeps_its_height_in_a_short_window(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    """A fresh-user run at 1440 x 860 found the Regenerate panel's prompt rows squashed below their size,
    combo text clipped. The form keeps its height; the side panel scrolls instead."""
    settings = AppSettings.in_file(tmp_path / "s.ini")
    window = MainWindow(backend=RecordingBackend(), settings=settings)
    qtbot.addWidget(window)
    for height in (860, 600):
        window.resize(1440, height)
        window.show()
        qtbot.waitExposed(window)
        qtbot.wait(50)
        panel = window.prompt_panel
        assert panel.height() >= panel.sizeHint().height()
        assert window.prompt_panel.regenerate.isVisibleTo(window)
