"""Regeneration: model loading, Regenerate / Cancel, the variations it brings back, and Accept.

The window owns the widgets; this controller owns the rules about *when* results may be shown. A set of
variations belongs to one song, one region and one request: a new request, a cancelled one, or another song
drops them, so the roll can never fall back to auditioning an old request's music (issue 18, item 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from app.commands import AcceptVariationCommand
from app.document import InfillRequest
from app.worker import InfillWorker, LoadWorker, WorkerThread
from engine.score import Score

if TYPE_CHECKING:
    from app.main_window import MainWindow


class RegenerationController(QObject):
    """Runs the model in worker threads for ``window`` and turns its results into document state.

    A QObject child of the window, so the workers' signals reach its slots queued, on the GUI thread
    (a plain Python object's methods would run in the worker's thread)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.doc = window.doc
        self.backend = window.backend
        self.infill_job: WorkerThread | None = None
        self.loader_job: WorkerThread | None = None
        self.model_state = "not loaded"
        self.model_error: str | None = None
        self._request_serial = -1  # the song (Document.song_serial) the running request was made for
        self._pending_device: str | None = None  # a device chosen while a job ran: applied when it ends

    # ------------------------------------------------------------------------------- model
    def start_model_loading(self) -> None:
        """Load the model in the background right after start-up; Regenerate waits for it if needed."""
        if self.loader_job is not None or self.model_state == "ready":
            return
        self.model_state = "loading"
        self.window.status_model.setText(f"Model: loading ({self.backend.name})…")
        worker = LoadWorker(self.backend)
        worker.loaded.connect(self._on_model_loaded)
        worker.errored.connect(self._on_model_failed)
        self.loader_job = WorkerThread(worker, [worker.loaded, worker.errored])
        self.loader_job.thread.finished.connect(self._on_loader_finished)
        self.loader_job.start()

    def _on_model_loaded(self) -> None:
        self.model_state, self.model_error = "ready", None
        device = str(getattr(self.backend, "device_label", "") or "")
        self.window.status_model.setText(f"Model: ready ({self.backend.name}{' on ' + device if device else ''})")
        progress = self.window.prompt_panel.progress
        if self.infill_job is not None and progress.maximum() == 0:  # a job that waited and has not reported yet
            progress.setFormat("Starting…")

    def set_device(self, device: str) -> None:
        """Run the model on ``device`` (auto/cpu/cuda/mps) from now on: remembered, and the model reloads there.
        A device that is not present is reported when the model loads, like any load failure."""
        setter = getattr(self.backend, "set_device", None)
        self.window.settings.set_device(device)
        if setter is None:
            self.window.statusBar().showMessage(f"Device {device}: used from the next start", 5000)
            return
        if self.loader_job is not None or self.infill_job is not None:
            # The model is in use (or its loader thread is still winding down, even after "ready"):
            # switching now would pull it from under the job, so the switch waits for the job's end.
            self._pending_device = device
            self.window.statusBar().showMessage(f"Device {device}: the model moves there when the current job ends", 5000)
            return
        self._pending_device = None
        setter(device)
        self.model_state = "not loaded"
        self.start_model_loading()

    def _apply_pending_device(self) -> None:
        """Called when a job's thread has ended: a device chosen meanwhile takes effect now."""
        device, self._pending_device = self._pending_device, None
        if device is not None and self.loader_job is None and self.infill_job is None:
            self.set_device(device)

    def _on_model_failed(self, message: str) -> None:
        self.model_state, self.model_error = "unavailable", message
        self.window.status_model.setText("Model: unavailable")
        self.window.status_model.setToolTip(message)

    def _on_loader_finished(self) -> None:
        if self.loader_job is not None:
            self.loader_job.join()
        self.loader_job = None
        self._apply_pending_device()

    # -------------------------------------------------------------------------- regenerate
    def is_busy(self) -> bool:
        return self.infill_job is not None

    def regenerate(self) -> None:
        w, doc = self.window, self.doc
        if self.infill_job is not None:
            return
        if self.model_state == "unavailable" and self.model_error:
            w.show_error("Regenerate unavailable", self.model_error)
            return
        try:
            request = doc.build_request()
        except ValueError as exc:
            QMessageBox.information(w, "Nothing selected", str(exc))
            return
        doc.clear_variations()  # a new request: the old takes no longer answer what is asked
        w.prompt_panel.set_prompts(doc.prompts)  # shows the advanced seed
        w.settings.save_prompts(doc.prompts)
        w.autosave()  # the model is the riskiest thing we run: keep the song safe first
        worker = InfillWorker(self.backend, request)
        worker.progress.connect(w.prompt_panel.set_progress)
        worker.finished.connect(self._on_finished)
        worker.errored.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self._request_serial = doc.song_serial
        self.infill_job = WorkerThread(worker, [worker.finished, worker.errored, worker.cancelled])
        self.infill_job.thread.finished.connect(self._on_thread_done)
        w.prompt_panel.set_busy(True, request.prompts.steps)
        if self.model_state == "loading":  # the job waits for it: the first press after start-up sat on "Starting…"
            w.prompt_panel.progress.setFormat("Waiting for the model to load…")
        w.update_actions()
        w.statusBar().showMessage(f"Regenerating {request.selection.describe(doc.track_names())}…")
        self.infill_job.start()

    def cancel(self) -> None:
        if self.infill_job is not None:
            worker = self.infill_job.worker
            if isinstance(worker, InfillWorker):
                worker.cancel()
            self.window.prompt_panel.progress.setFormat("Cancelling…")

    def _current(self) -> bool:
        """False when the song the request was made for is no longer open (its results go nowhere)."""
        return self._request_serial == self.doc.song_serial

    def _on_finished(self, scores: list[Score], request: InfillRequest) -> None:
        if not self._current():
            return
        self.window.prompt_panel.set_idle(f"{len(scores)} variation{'s' * (len(scores) != 1)} ready")
        self.doc.set_variations(scores, request.score, request.prompts.seed)
        self.window.statusBar().showMessage("Variations ready: click one to audition, Accept to keep it.", 8000)

    def _on_failed(self, message: str, details: str) -> None:
        if not self._current():
            return
        self.window.prompt_panel.set_idle("Failed")
        self.window.show_error("Regenerate failed", message, details)

    def _on_cancelled(self) -> None:
        if not self._current():
            return
        self.window.prompt_panel.set_idle("Cancelled")
        self.window.statusBar().showMessage("Regeneration cancelled; the song is unchanged.", 5000)

    def _on_thread_done(self) -> None:
        if self.infill_job is not None:
            self.infill_job.join()
        self.infill_job = None
        self.window.prompt_panel.set_busy(False)
        self.window.update_actions()
        self._apply_pending_device()

    def song_opened(self) -> None:
        """A new song: stop work for the old one, and show the prompts and progress as fresh."""
        if self.infill_job is not None:
            self.cancel()
        self.window.prompt_panel.set_prompts(self.doc.prompts)
        self.window.prompt_panel.set_idle("Idle")

    # ------------------------------------------------------------------------------ accept
    def accept_variation(self, index: int) -> None:
        doc = self.doc
        if not 0 <= index < len(doc.variations):
            return
        current = doc.score
        swapped = any(current is v for v in doc.variations)  # trying another take is not an edit
        if doc.variation_base is not None and doc.variation_base is not current and not swapped:
            if not self.window.ask("Song changed", "The song was edited after these variations were made. Accepting replaces those edits. Continue?"):
                return
        self.window.undo_stack.push(AcceptVariationCommand(doc, index))
        self.window.statusBar().showMessage(f"Accepted variation {index + 1} (Ctrl+Z to undo).", 5000)

    def accept_previewed(self) -> None:
        if self.doc.preview_index is not None:
            self.accept_variation(self.doc.preview_index)

    def step_preview(self, step: int) -> None:
        n = len(self.doc.variations)
        if n:
            current = -1 if self.doc.preview_index is None else self.doc.preview_index
            self.doc.set_preview((current + step) % n)

    def shutdown(self, wait_ms: int) -> None:
        for job in (self.infill_job, self.loader_job):
            if job is not None:
                job.stop(wait_ms)
        self.infill_job = None
