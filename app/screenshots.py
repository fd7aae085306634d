"""Save screenshots of the editor for the docs: the demo song, a selection, and a variation.

Run: ``.venv/bin/python -m app.screenshots docs/screenshots`` (renders offscreen; no display needed).
The variation comes from the real model when ``engine.infill`` can load one, else from the placeholder
generator, and the file name says which (``3-variation-model.png`` / ``3-variation-placeholder.png``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _pick_backend():  # noqa: ANN202
    from app.backends import EngineBackend, PlaceholderBackend

    backend = EngineBackend()
    try:
        backend.load()
        return backend, "model"
    except Exception as exc:  # noqa: BLE001 - no model here: say so and use the placeholder
        print(f"real model unavailable ({type(exc).__name__}: {str(exc).splitlines()[0]}); using the placeholder", file=sys.stderr)
        return PlaceholderBackend(), "placeholder"


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtWidgets import QApplication

    from app.document import PromptSettings, RegionSelection
    from app.main_window import MainWindow
    from app.settings import AppSettings
    from app.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(["screenshots"])
    apply_dark_theme(app)
    backend, kind = _pick_backend()
    window = MainWindow(backend=backend, settings=AppSettings.in_file(Path(tempfile.mkdtemp()) / "settings.ini"))
    window.resize(1440, 860)
    window.load_demo()
    window.show()
    window.model_state = "ready"
    window.status_model.setText(f"Model: ready ({backend.name})")
    for _ in range(5):
        app.processEvents()

    def shot(name: str) -> Path:
        for _ in range(3):
            app.processEvents()
        path = out / name
        window.grab().save(str(path))
        print(path)
        return path

    shot("1-demo-song.png")

    doc = window.doc
    doc.set_selection(RegionSelection(8, 12, (0, 1)))  # chorus: melody + piano
    melody = doc.score.tracks[0].notes
    picks = {(0, n.start, n.pitch) for n in melody if 8 * 1920 <= n.start < 9 * 1920}
    doc.set_selected_notes(picks)
    window.toggle_lock()  # keep the chorus's first bar of melody
    doc.set_selected_notes(set())
    window.prompt_panel.set_prompts(PromptSettings(new_tracks=("BRASS",), n_variations=3, seed=7, guidance=2.5))
    doc.set_prompts(window.prompt_panel.prompts())
    shot("2-selection.png")

    window.regenerate()
    deadline = time.time() + 300
    while window.is_busy() and time.time() < deadline:
        app.processEvents()
        time.sleep(0.01)
    if not doc.variations:
        print(f"no variations: {window.last_error}", file=sys.stderr)
    else:
        doc.set_preview(1 if len(doc.variations) > 1 else 0)
        window.canvas.zoom_to_fit()  # re-fit the lanes so the added track is in view
    shot(f"3-variation-{kind}.png")
    window.undo_stack.setClean()
    window.shutdown()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
