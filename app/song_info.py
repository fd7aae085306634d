"""The song strip above the roll: tempo, time signature, key and grid source, with Tempo and Meter buttons.

It shows what the grid and the player actually use (the first tempo, the meter of the bar under the playhead,
the key from the file or estimated), so a wrong bar grid is visible before anyone regenerates "bars 9-12".
What reading the file (or the last export) could not keep is one line here, "⚠ 2 warnings reading
song.mid", whose button opens the list: a damaged file says so once, not in a message box per problem.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from app import theme
from app.document import Document, bar_at_tick
from app.music_text import key_name
from engine.analysis.grid import POSITIONS_PER_BEAT


def meter_text(doc: Document, tick: int = 0) -> str:
    """The meter of the bar holding ``tick`` as n/4 (or n/8 when the bar is not whole beats)."""
    grid = doc.grid
    bar = min(max(bar_at_tick(grid, tick), 0), max(grid.n_bars - 1, 0))
    length = grid.bar_length(bar) if grid.n_bars else 32
    if length % POSITIONS_PER_BEAT == 0:
        return f"{length // POSITIONS_PER_BEAT}/4"
    return f"{length // (POSITIONS_PER_BEAT // 2)}/8"


class SongInfoBar(QWidget):
    tempoRequested = Signal()
    meterRequested = Signal()
    warningsRequested = Signal()

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.tempo = QLabel()
        self.meter = QLabel()
        self.key = QLabel()
        self.grid_source = QLabel()
        self.grid_source.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self.tempo_button = QToolButton()
        self.tempo_button.setText("Tempo…")
        self.tempo_button.setToolTip("Set one tempo for the whole song (undoable)")
        self.meter_button = QToolButton()
        self.meter_button.setText("Meter…")
        self.meter_button.setToolTip("Set the time signature and the first downbeat when the file's bar grid is wrong (undoable)")
        self.warnings = QToolButton()
        self.warnings.setStyleSheet("QToolButton { color: #ffd166; }")
        self.warnings.setToolTip("What reading or writing the file could not keep: click for the list")
        self.warnings.hide()
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 2, 8, 2)
        for w in (self.tempo, self.tempo_button, self.meter, self.meter_button, self.key, self.grid_source):
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(self.warnings)
        self.warnings.clicked.connect(self.warningsRequested)
        self.tempo_button.clicked.connect(self.tempoRequested)
        self.meter_button.clicked.connect(self.meterRequested)
        self._shown: object = None

    def show_warnings(self) -> None:
        """One line for the document's file warnings (hidden when there are none)."""
        what, warnings = self.doc.file_warnings
        if warnings:
            n = len(warnings)
            self.warnings.setText(f"⚠ {n} warning{'s' * (n != 1)} {what[:1].lower() + what[1:]}…")
        self.warnings.setVisible(bool(warnings))

    def _histogram(self, score) -> np.ndarray:  # noqa: ANN001 - Score
        """Pitch classes from the document's cached per-track arrays: an edit re-counts only its own track."""
        hist = np.zeros(12)
        for track in score.tracks:
            if not track.is_drum:
                a = self.doc.arrays(track)
                hist += np.bincount(a.pitches % 12, weights=np.maximum(a.ends - a.starts, 1), minlength=12)
        return hist

    def refresh(self) -> None:
        score = self.doc.score
        if self._shown is score:
            return
        self._shown = score
        tempos = score.tempos
        bpm = tempos[0].bpm if tempos else 120.0
        more = f" (+{len(tempos) - 1} changes)" if len(tempos) > 1 else ""
        self.tempo.setText(f"♩ = {bpm:.0f} BPM{more}")
        self.meter.setText(f"   Meter {meter_text(self.doc)}")
        key, source = key_name(score, self._histogram(score))
        self.key.setText(f"   Key {key}" + (" (estimated)" if source == "estimated" else ""))
        explicit = bool(score.beats and len(score.beats) >= 2)
        self.grid_source.setText("   · bar grid from beat map" if explicit else "   · bar grid from the file's time signatures")
