"""Where regenerated music comes from: a small protocol between the editor and the infill engine.

The window only knows ``InfillBackend``; the default one imports ``engine.infill`` lazily (torch and the
weights take seconds, so they load in a worker thread after the window is shown), and translates the
editor's Qt-free ``InfillRequest`` into the engine's ``Selection``/``Prompts``. Tests and screenshots use
stand-ins with the same two methods, so the editor can be exercised without a model.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from app.document import InfillRequest, region_ticks
from engine.analysis.categories import DEFAULT_PROGRAM
from engine.analysis.grid import beat_grid
from engine.device import DEVICE_CHOICES
from engine.errors import StudioError
from engine.score import Note, Score, Track
from engine.threads import gil_handoff, prefer_passive_wait, preload_torch_libraries

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


class BackendUnavailable(StudioError):
    """The infill engine (or its model) is missing from this installation."""


class Cancelled(StudioError):
    """Raised by a backend that stops early because the user pressed Cancel."""


class InfillBackend(Protocol):
    """What the editor needs from a music generator."""

    name: str

    def load(self) -> None:
        """Make the backend ready (load weights). Slow; called from a worker thread. Idempotent."""

    def infill(self, request: InfillRequest, progress: ProgressFn | None, cancel: CancelFn | None) -> list[Score]:
        """``request.prompts.n_variations`` new scores, equal to ``request.score`` outside the region."""


class EngineBackend:
    """The real thing: ``engine.infill`` with the default model, imported only when first needed."""

    name = "engine"

    def __init__(self, device: str = "auto") -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self.device = device  # the setting: auto, cpu, cuda or mps (engine.device.DEVICE_CHOICES)
        prefer_passive_wait()  # before the worker thread imports torch (engine.threads)

    @property
    def device_label(self) -> str:
        """Where the model runs, for the status bar ("GPU: NVIDIA ...", "CPU (2 threads)"); "" until loaded."""
        model = self._model
        return "" if model is None else str(model.device.label)

    def set_device(self, device: str) -> None:
        """Change the device setting; a loaded model is dropped and the next ``load`` (or infill) reloads it
        there. Raises ValueError for a name that is not one of engine.device.DEVICE_CHOICES."""
        if device not in DEVICE_CHOICES:
            raise ValueError(f"unknown device {device!r}; choose one of {', '.join(DEVICE_CHOICES)}")
        with self._lock:
            if device != self.device:
                self.device, self._model = device, None

    @staticmethod
    def _import_engine() -> Any:
        try:
            import engine.infill as infill_module  # noqa: PLC0415 - heavy (torch); deliberately lazy
        except ImportError as exc:
            raise BackendUnavailable(
                "The music engine (engine.infill) is not installed in this build, so Regenerate cannot run.\n"
                f"Details: {exc}"
            ) from exc
        return infill_module

    @property
    def writes_chords(self) -> bool | None:
        """Whether the loaded model can write a region's chords (None until it is loaded)."""
        return None if self._model is None else bool(getattr(self._model, "writes_chords", False))

    def prepare(self) -> None:
        """Import torch and the engine now, on the calling thread, before the window first paints.

        ``import torch`` holds the GIL for single C calls of ~30 ms (torch's op registrations) that no
        switch interval can split; done in the background it stalled the window's event loop 36-39 ms at
        a time (bench.editor_speed). Done before the window shows, it costs start-up ~0.7 s instead
        (first paint ~1 s, target 2 s) and the background load that remains reads weights only."""
        with gil_handoff():
            preload_torch_libraries()
            self._import_engine()
            import torch  # noqa: F401 - the import is the point

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            with gil_handoff():  # the window thread gets the GIL back often while torch imports (engine.threads)
                preload_torch_libraries()  # map torch with the GIL released: the window stays smooth
                module = self._import_engine()
                loader = getattr(module, "load_default_model", None)
                if loader is None:
                    raise BackendUnavailable("engine.infill has no load_default_model(); the engine is incomplete.")
                self._model = loader(self.device)

    def infill(self, request: InfillRequest, progress: ProgressFn | None, cancel: CancelFn | None) -> list[Score]:
        self.load()
        module = self._import_engine()
        selection_cls, prompts_cls = _engine_types(module)
        sel = request.selection
        selection = selection_cls(
            start_bar=sel.start_bar,
            end_bar=sel.end_bar,
            tracks=sel.tracks,
            attributes=request.prompts.attributes,
            new_tracks=tuple(request.prompts.new_tracks),
            locked_notes=frozenset(request.locked),
            chords=sel.chords,  # the region includes the chord lane: the model rewrites its chords too
        )
        prompts = prompts_cls(tempo_class=request.prompts.tempo_class, instruments=request.instruments,
                              register=request.prompts.register,
                              line={"auto": None, "on": True, "off": False}[request.prompts.one_line],
                              novelty=request.prompts.novelty, melody_scale=request.prompts.melody_scale)
        p = request.prompts
        return list(
            module.infill(
                request.score,
                selection,
                prompts,
                n_variations=p.n_variations,
                guidance=p.guidance,
                steps=p.steps,
                seed=p.seed,
                temperature=p.temperature,
                model=self._model,
                progress=progress,
                cancel=cancel,
            )
        )


def _engine_types(module: Any) -> tuple[Any, Any]:
    """Find Selection and Prompts wherever the engine defines them (infill re-exports, or masks)."""
    selection_cls = getattr(module, "Selection", None)
    prompts_cls = getattr(module, "Prompts", None)
    if selection_cls is None or prompts_cls is None:
        try:
            from engine.representation import masks  # type: ignore[attr-defined]
        except ImportError as exc:
            raise BackendUnavailable(f"engine.representation.masks is missing: {exc}") from exc
        selection_cls = selection_cls or getattr(masks, "Selection", None)
        prompts_cls = prompts_cls or getattr(masks, "Prompts", None)
    if selection_cls is None or prompts_cls is None:
        raise BackendUnavailable("The engine defines no Selection/Prompts types; it is incomplete.")
    return selection_cls, prompts_cls


class PlaceholderBackend:
    """A stand-in that needs no model: re-rolls the region's pitches inside each chord's scale, per seed.

    Used by the screenshot script and the speed bench when the real model is absent, and clearly named
    so nobody mistakes its output for the model's. ``load_seconds`` simulates weight loading.
    """

    name = "placeholder (no model)"

    def __init__(self, load_seconds: float = 0.0, step_seconds: float = 0.0) -> None:
        self.load_seconds, self.step_seconds = load_seconds, step_seconds
        self.loaded = threading.Event()

    def load(self) -> None:
        if not self.loaded.is_set():
            time.sleep(self.load_seconds)
            self.loaded.set()

    def infill(self, request: InfillRequest, progress: ProgressFn | None, cancel: CancelFn | None) -> list[Score]:
        self.load()
        p = request.prompts
        total = max(p.steps, 1)
        for step in range(total):
            if cancel is not None and cancel():
                raise Cancelled("cancelled")
            time.sleep(self.step_seconds)
            if progress is not None:
                progress(step + 1, total)
        return [reroll_region(request, p.seed + i) for i in range(p.n_variations)]


_MAJOR = (0, 2, 4, 5, 7, 9, 11)


def reroll_region(request: InfillRequest, seed: int) -> Score:
    """A cheap, deterministic 'variation': region notes get new in-scale pitches (rhythm kept), and each
    requested new category gets a simple part. Locked notes and everything outside the region stay."""
    rng = random.Random(seed)
    score = request.score
    grid = beat_grid(score)
    t0, t1 = region_ticks(grid, request.selection)
    tracks: list[Track] = []
    for i, track in enumerate(score.tracks):
        if not request.selection.covers_track(i) or track.is_drum:
            tracks.append(track)
            continue
        notes = []
        for n in track.notes:
            if t0 <= n.start < t1 and (i, n.start, n.pitch) not in request.locked:
                if request.prompts.attributes in ("all", "pitch"):
                    octave, pc = divmod(n.pitch, 12)
                    step = min(range(7), key=lambda k: abs(_MAJOR[k] - pc))
                    step = (step + rng.choice((-2, -1, 1, 2))) % 7
                    n = Note(n.start, n.end, min(127, max(0, octave * 12 + _MAJOR[step])), n.velocity)
                if request.prompts.attributes in ("all", "rhythm") and rng.random() < 0.3:
                    n = Note(n.start, n.start + max(30, n.duration // 2), n.pitch, n.velocity)
            notes.append(n)
        tracks.append(replace(track, notes=notes))
    tpb = score.ticks_per_beat
    for category in request.prompts.new_tracks:
        notes = []
        for beat_start in range(t0, t1, 2 * tpb):
            root = rng.choice((0, 7, 9, 5))
            notes += [Note(beat_start, beat_start + 2 * tpb - 20, 60 + root + iv, 64) for iv in (0, 4, 7)]
        tracks.append(Track(category.replace("_", " ").title(), DEFAULT_PROGRAM.get(category, 0), category == "DRUMS", notes, category=category, generated=True))
    return replace(score, tracks=tracks)
