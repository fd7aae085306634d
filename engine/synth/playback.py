"""Live playback: FluidSynth pulled by a sounddevice output callback, with sample-accurate event dispatch.

Why not ``fs.start()``? FluidSynth's own audio driver needs a working device at start-up, gives no hook
for per-block scheduling, and cannot swap a score without stopping. Here the PortAudio callback asks the
synth for exactly the frames between two events, so timing follows the audio clock (not a Qt timer),
mute/solo and A/B score swaps take effect at the next block, and the UI only polls ``position_tick``.

Threading: the UI thread never touches the synth while the stream runs. Commands (seek, loop, mute/solo,
set_score) are queued under a lock and applied by the callback at the start of its next block; heavy
work (building a schedule) happens in the caller's thread before queuing. No Qt here.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from engine.errors import AudioUnavailableError
from engine.score import Score
from engine.synth.events import N_CHANNELS, NOTE_ON, Schedule, audible_tracks, build_schedule
from engine.synth.render import program_channels
from engine.synth.soundfont import SynthConfig, new_synth

PORTAUDIO_PACKAGE = "libportaudio2"
_SCALE = np.float32(1.0 / 32768.0)


def _import_sounddevice() -> Any:
    """The sounddevice module, or AudioUnavailableError (its import raises OSError without PortAudio)."""
    try:
        import sounddevice
    except OSError as exc:
        raise AudioUnavailableError(
            f"The PortAudio library is not installed, so live playback is off (Render to WAV still works). "
            f"Install it with: sudo apt-get install {PORTAUDIO_PACKAGE}"
        ) from exc
    except ImportError as exc:
        raise AudioUnavailableError(
            "The Python package sounddevice is missing: .venv/bin/pip install sounddevice==0.5.6"
        ) from exc
    return sounddevice


def audio_available(device: int | str | None = None) -> tuple[bool, str]:
    """(True, the output device's name) when live playback can start, else (False, a reason for a tooltip).

    Never raises: the app calls it at start-up to enable or disable Play. PortAudio scans devices once per
    process, so a device plugged in later needs a restart to appear.
    """
    try:
        sd = _import_sounddevice()
    except AudioUnavailableError as exc:
        return False, str(exc)
    try:
        info = sd.query_devices(device, kind="output")
        channels = int(info["max_output_channels"])
    except (sd.PortAudioError, ValueError, KeyError, TypeError) as exc:
        return False, f"No audio output device found ({exc}). Use Render to WAV to listen instead."
    if channels < 1:
        return (
            False,
            f"The audio device {info.get('name', device)!r} has no outputs. Use Render to WAV instead.",
        )
    return True, str(info.get("name", "default output"))


@dataclass(frozen=True, slots=True)
class PlayerConfig:
    """Live playback settings.

    256 frames (5.8 ms at 44.1 kHz) and ``latency='low'`` keep Play and A/B switches snappy; a machine that
    crackles can raise ``blocksize`` or pass a latency in seconds. ``device`` None is PortAudio's default.
    """

    sample_rate: int = 44100
    blocksize: int = 256
    latency: str | float = "low"
    device: int | str | None = None
    tail_seconds: float = 1.0  # release/reverb played after the last note before stopping by itself
    synth: SynthConfig = field(default_factory=SynthConfig)


@dataclass(frozen=True, slots=True)
class PlayerStats:
    """Counters of the audio callback, for tests and diagnostics (wall time means nothing on a null device)."""

    callbacks: int
    frames: int
    events: int
    underflows: int
    swaps: int
    loops: int
    first_callback_latency_s: float | None


class Player:
    """Plays a Score through the default output device; see the module docstring for the design."""

    def __init__(
        self,
        score: Score | None = None,
        soundfont: str | os.PathLike[str] | None = None,
        config: PlayerConfig | None = None,
    ) -> None:
        self.config = config or PlayerConfig()
        self._soundfont = soundfont
        self._lock = threading.Lock()
        self._pending: list[Callable[[], None]] = []
        self._running = False  # True from play() until stop() or the song's end: the callback owns state
        self._sd: Any = None
        self._stream: Any = None
        self._fs: Any = None
        self._sfid = -1
        self._score = score or Score()
        self._sched = build_schedule(self._score, self.config.sample_rate)
        self._muted: frozenset[int] = frozenset()
        self._solo: frozenset[int] = frozenset()
        self._audible = audible_tracks(len(self._score.tracks))
        # what the UI last asked for, which may not be applied yet (set_muted/set_soloed build on it)
        self._requested_mix: tuple[frozenset[int], frozenset[int]] = (frozenset(), frozenset())
        self._loop_ticks: tuple[int, int] | None = None
        self._loop: tuple[int, int] | None = None  # in frames of the current schedule
        self._cursor = 0  # next frame to synthesise, in frames from tick 0
        self._ev = 0  # index of the first event not yet dispatched (events before _cursor are done)
        self._snapshot: tuple[Schedule, int] = (self._sched, 0)  # read by position_tick without the lock
        self._callbacks = self._frames = self._events = self._underflows = self._swaps = self._loops = 0
        self._play_started = 0.0
        self._first_latency: float | None = None

    # ----- queries (any thread) -------------------------------------------------------------------

    @property
    def position_tick(self) -> float:
        """The playhead in (fractional) ticks: where synthesis is, at most one output latency ahead of
        what is heard."""
        sched, cursor = self._snapshot
        return sched.frame_to_tick(cursor)

    @property
    def is_playing(self) -> bool:
        return self._running

    @property
    def score(self) -> Score:
        return self._score

    @property
    def output_latency_s(self) -> float | None:
        """The stream's reported output latency in seconds (None while no stream is open)."""
        stream = self._stream
        return None if stream is None else float(stream.latency)

    @property
    def stats(self) -> PlayerStats:
        return PlayerStats(
            self._callbacks,
            self._frames,
            self._events,
            self._underflows,
            self._swaps,
            self._loops,
            self._first_latency,
        )

    def active_voices(self) -> int:
        """Voices sounding in the synth (0 once every note has been released and has decayed)."""
        fs = self._fs
        return 0 if fs is None else int(fs.get_active_voice_count())

    # ----- commands (UI thread) -------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the synth and load the SoundFont now (0.02-0.1 s) instead of at the first Play."""
        if self._fs is not None:
            return
        fs, sfid = new_synth(self._soundfont, replace(self.config.synth, sample_rate=self.config.sample_rate))
        with self._lock:
            self._fs, self._sfid = fs, sfid
            program_channels(fs, sfid, self._sched)

    def play(self, from_tick: float | None = None) -> None:
        """Start playing at ``from_tick`` (None: where it stopped; at the end: from the loop start or 0).

        While playing, this seeks instead. Raises AudioUnavailableError without a device, SoundFontError
        without a SoundFont or FluidSynth.
        """
        if self._running and self._stream is not None:
            if from_tick is not None:
                self.seek(from_tick)
            return
        sd = self._sd = _import_sounddevice()
        self.prepare()
        self._close_stream()
        with self._lock:
            self._apply_pending()
            if from_tick is not None:
                frame = self._sched.tick_to_frame(from_tick)
            elif self._cursor >= self._song_end():
                frame = self._loop[0] if self._loop else 0
            else:
                frame = self._cursor
            self._seek(frame)
            self._running = True
            self._first_latency = None
            self._play_started = time.perf_counter()
        try:
            self._stream = sd.OutputStream(
                samplerate=self.config.sample_rate,
                blocksize=self.config.blocksize,
                latency=self.config.latency,
                device=self.config.device,
                channels=2,
                dtype="float32",
                callback=self._callback,
                finished_callback=self._on_finished,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            with self._lock:
                self._running = False
            self._close_stream()
            raise AudioUnavailableError(f"Could not open the audio output: {exc}") from exc

    def stop(self) -> None:
        """Stop at once (pending buffers are dropped) and silence every voice; the position is kept."""
        self._close_stream()
        with self._lock:
            self._running = False
            self._apply_pending()
            if self._fs is not None:
                for ch in range(N_CHANNELS):
                    self._fs.all_sounds_off(ch)

    def close(self) -> None:
        """Stop and free the synth. The player can still be used: the next play() creates a new synth."""
        self.stop()
        with self._lock:
            fs, self._fs = self._fs, None
        if fs is not None:
            fs.delete()

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def seek(self, tick: float) -> None:
        self._submit(lambda: self._seek(self._sched.tick_to_frame(tick)))

    def set_loop(self, start_tick: int, end_tick: int) -> None:
        """Loop over [start_tick, end_tick): on reaching the end, play jumps back to the start.

        Playing from after the loop end plays on to the end of the song (as in most DAWs).
        """
        if end_tick <= start_tick or start_tick < 0:
            raise ValueError(f"bad loop range: ticks {start_tick}..{end_tick}")
        self._submit(lambda: self._set_loop((int(start_tick), int(end_tick))))

    def clear_loop(self) -> None:
        self._submit(lambda: self._set_loop(None))

    def set_mute_solo(self, muted: Collection[int] = (), solo: Collection[int] = ()) -> None:
        """Change which tracks sound; held notes of newly silenced tracks are released, held notes of newly
        audible tracks are struck, so the change is heard at once and not at the next note."""
        muted, solo = frozenset(muted), frozenset(solo)
        with self._lock:
            self._requested_mix = (muted, solo)
        self._submit(lambda: self._set_mix(muted, solo))

    def set_muted(self, muted: Collection[int]) -> None:
        """Change only the muted set (the solo set stays as last requested)."""
        self.set_mute_solo(muted, self._requested_mix[1])

    def set_soloed(self, solo: Collection[int]) -> None:
        """Change only the solo set (the muted set stays as last requested)."""
        self.set_mute_solo(self._requested_mix[0], solo)

    def set_score(self, score: Score) -> None:
        """Swap the score (A/B audition of a variation) at the next block without stopping.

        The playhead keeps its tick, the loop keeps its ticks, all notes of the old score are released (so
        none hangs) and the new score's notes held at the playhead are struck.
        """
        sched = build_schedule(score, self.config.sample_rate)
        self._submit(lambda: self._swap(score, sched))

    # ----- internals (callback thread, or caller thread while stopped; always under the lock) ----------

    def _submit(self, command: Callable[[], None]) -> None:
        with self._lock:
            if self._running:
                self._pending.append(command)
            else:
                command()

    def _apply_pending(self) -> None:
        commands, self._pending = self._pending, []
        for command in commands:
            command()

    def _song_end(self) -> int:
        return self._sched.end_frame + int(round(self.config.tail_seconds * self.config.sample_rate))

    def _set_loop(self, ticks: tuple[int, int] | None) -> None:
        self._loop_ticks = ticks
        if ticks is None:
            self._loop = None
        else:
            self._loop = (self._sched.tick_to_frame(ticks[0]), self._sched.tick_to_frame(ticks[1]))

    def _notes_off(self) -> None:
        if self._fs is not None:
            for ch in range(N_CHANNELS):
                self._fs.all_notes_off(ch)

    def _strike_held(self, frame: int, tracks: Collection[int]) -> None:
        """Note-on for notes of ``tracks`` that started before ``frame`` and are still held there."""
        fs, s = self._fs, self._sched
        if fs is None or not tracks:
            return
        for i in s.sounding_at(frame, tracks).tolist():
            fs.noteon(int(s.channel[i]), int(s.pitch[i]), int(s.velocity[i]))

    def _seek(self, frame: int) -> None:
        self._notes_off()
        self._cursor = max(int(frame), 0)
        self._ev = self._sched.first_event_at_or_after(self._cursor)
        self._strike_held(self._cursor, self._audible)
        self._snapshot = (self._sched, self._cursor)

    def _set_mix(self, muted: frozenset[int], solo: frozenset[int]) -> None:
        self._muted, self._solo = muted, solo
        old, new = self._audible, audible_tracks(len(self._score.tracks), muted, solo)
        self._audible = new
        if self._fs is not None and old - new:
            s = self._sched
            for i in s.sounding_at(self._cursor, old - new).tolist():
                self._fs.noteoff(int(s.channel[i]), int(s.pitch[i]))
        self._strike_held(self._cursor, new - old)

    def _swap(self, score: Score, sched: Schedule) -> None:
        tick = self._sched.frame_to_tick(self._cursor)
        self._notes_off()
        self._score, self._sched = score, sched
        self._audible = audible_tracks(len(score.tracks), self._muted, self._solo)
        if self._fs is not None:
            program_channels(self._fs, self._sfid, sched)
        self._set_loop(self._loop_ticks)
        self._seek(sched.tick_to_frame(tick))
        self._swaps += 1

    def _dispatch_due(self) -> None:
        events, fs, cursor = self._sched.events, self._fs, self._cursor
        ev, audible = self._ev, self._audible
        while ev < len(events) and events[ev][0] <= cursor:
            _, kind, channel, pitch, velocity, track = events[ev]
            if kind == NOTE_ON:
                if track in audible:
                    fs.noteon(channel, pitch, velocity)
            else:
                fs.noteoff(channel, pitch)
            ev += 1
        self._events += ev - self._ev
        self._ev = ev

    def _render(self, outdata: np.ndarray, frames: int) -> bool:
        """Fill ``outdata``; True when the song (not looping) has ended and the stream should stop."""
        pos = 0
        song_end = self._song_end()
        while pos < frames:
            cursor, loop = self._cursor, self._loop
            in_loop = loop is not None and cursor < loop[1]
            if cursor >= song_end and not in_loop:
                outdata[pos:] = 0.0
                return True
            self._dispatch_due()
            n = frames - pos
            events = self._sched.events
            if self._ev < len(events):
                n = min(n, events[self._ev][0] - cursor)
            n = min(n, loop[1] - cursor) if in_loop else min(n, song_end - cursor)
            n = max(n, 1)
            chunk = self._fs.get_samples(n).reshape(n, 2)
            np.multiply(chunk, _SCALE, out=outdata[pos : pos + n], casting="unsafe")
            pos += n
            self._cursor = cursor + n
            if in_loop and self._cursor >= loop[1]:
                self._seek(loop[0])
                self._loops += 1
        return False

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        now = time.perf_counter()
        with self._lock:
            if status.output_underflow:
                self._underflows += 1
            if self._first_latency is None:
                self._first_latency = now - self._play_started
            self._callbacks += 1
            self._apply_pending()
            if self._fs is None or not self._running:
                outdata.fill(0.0)
                finished = True
            else:
                finished = self._render(outdata, frames)
            self._frames += frames
            self._snapshot = (self._sched, self._cursor)
        if finished:
            raise self._sd.CallbackStop

    def _on_finished(self) -> None:
        with self._lock:
            self._running = False
            self._apply_pending()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
            finally:
                stream.close()
