"""Playback: Play / Stop, the playhead that follows the audio, and looping the selected region.

Kept apart from the window so the rules (loop the region as a sampler would, restart when the auditioned
variation changes) live in one small object; the audio itself is ``app.audio.AudioAdapter``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from app.document import region_ticks

if TYPE_CHECKING:
    from app.main_window import MainWindow


class PlaybackController(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.doc = window.doc
        self.timer = QTimer(window)
        self.timer.setInterval(30)
        self.timer.timeout.connect(self._poll)
        window.canvas.playheadMoved.connect(self._on_playhead_clicked)

    @property
    def audio(self):  # noqa: ANN201 - AudioAdapter; read through the window so a swapped adapter is used
        return self.window.audio

    def is_playing(self) -> bool:
        return self.timer.isActive()

    def play_stop(self) -> None:
        if not self.audio.play_ok:
            self.window.statusBar().showMessage(self.audio.play_reason, 6000)
            return
        if self.timer.isActive():
            self.stop()
            return
        loop = None
        start = self.doc.playhead
        if self.doc.selection is not None:  # audition the region on repeat, as a sampler would
            loop = region_ticks(self.doc.grid, self.doc.selection)
            if not loop[0] <= start < loop[1]:
                start = loop[0]
        try:
            self.audio.play(self.doc.displayed_score(), start, self.doc.muted, self.doc.soloed, loop)
        except Exception as exc:  # noqa: BLE001
            self.window.show_error("Playback failed", str(exc))
            return
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.audio.stop()

    def restart_if_playing(self) -> None:
        """What is shown changed (another variation): play that instead, from where we are."""
        if self.timer.isActive():
            self.stop()
            self.play_stop()

    def _poll(self) -> None:
        tick = self.audio.position_tick()
        if tick is not None:
            self.doc.set_playhead(tick)
            self.window.canvas.ensure_tick_visible(tick)
        if not self.audio.is_playing():
            self.timer.stop()

    def _on_playhead_clicked(self, tick: int) -> None:
        self.doc.set_playhead(tick)
        self.restart_if_playing()

    def close(self) -> None:
        self.stop()
        self.audio.close()
