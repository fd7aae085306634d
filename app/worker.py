"""Background work: model loading and regeneration run in QThreads, reporting through signals.

As in napari's ``qthreading``, a worker is a QObject moved to its own thread; it never touches a widget.
The window connects to its signals (delivered queued, on the GUI thread) and asks it to stop through a
thread-safe flag that the engine polls via the ``cancel`` callback.
"""

from __future__ import annotations

import threading
import traceback

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.backends import Cancelled, InfillBackend
from app.document import InfillRequest
from engine.errors import StudioError


def describe_error(exc: BaseException) -> str:
    """A message a musician can act on: our own errors speak for themselves, others get their type."""
    if isinstance(exc, StudioError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Not enough memory to regenerate this region. Try a shorter selection or fewer variations."
    return f"The engine failed: {type(exc).__name__}: {exc}"


class InfillWorker(QObject):
    """Runs one ``backend.infill`` call. Emits exactly one of finished / errored / cancelled."""

    started = Signal()
    progress = Signal(int, int)  # (done, total)
    finished = Signal(object, object)  # (list[Score], InfillRequest)
    errored = Signal(str, str)  # (message, traceback text for the details box)
    cancelled = Signal()

    def __init__(self, backend: InfillBackend, request: InfillRequest) -> None:
        super().__init__()
        self.backend, self.request = backend, request
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Called from the GUI thread; the backend sees it at its next ``cancel()`` poll."""
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    @Slot()
    def run(self) -> None:
        self.started.emit()
        try:
            result = self.backend.infill(self.request, self.progress.emit, self._cancel.is_set)
        except Cancelled:
            self.cancelled.emit()
            return
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the user, not kill the thread
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.errored.emit(describe_error(exc), traceback.format_exc())
            return
        if self._cancel.is_set():
            self.cancelled.emit()
        elif not result:
            self.errored.emit("The engine returned no variations.", "")
        else:
            self.finished.emit(result, self.request)


class LoadWorker(QObject):
    """Loads the backend (torch, weights) after the window is up, so start-up stays fast."""

    loaded = Signal()
    errored = Signal(str)

    def __init__(self, backend: InfillBackend) -> None:
        super().__init__()
        self.backend = backend

    @Slot()
    def run(self) -> None:
        try:
            self.backend.load()
        except BaseException as exc:  # noqa: BLE001
            self.errored.emit(describe_error(exc))
            return
        self.loaded.emit()


class WorkerThread:
    """Owns a QThread + worker pair and tears both down when the work ends.

    Keeping the pair together avoids the classic crash of a QThread being garbage-collected while it runs.
    """

    def __init__(self, worker: QObject, done_signals: list[Signal]) -> None:
        self.thread = QThread()
        self.worker = worker
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)  # type: ignore[attr-defined]
        for sig in done_signals:
            sig.connect(self.thread.quit)
        self.thread.finished.connect(worker.deleteLater)

    def start(self) -> None:
        self.thread.start()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def join(self) -> None:
        """Wait for the thread to return. Call it in a ``finished`` handler before dropping the last
        reference: ``finished`` is emitted just before the thread returns, and a QThread destroyed in that
        window crashes the process (seen once in CI's window tests)."""
        self.thread.wait()

    def stop(self, wait_ms: int = 5000) -> bool:
        """Ask the worker to cancel (if it can) and wait for the thread; True if it ended."""
        cancel = getattr(self.worker, "cancel", None)
        if cancel is not None:
            try:
                cancel()
            except RuntimeError:  # the worker was already deleted
                pass
        self.thread.quit()
        return self.thread.wait(wait_ms)
