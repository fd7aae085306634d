"""Offline rendering of a Score to audio with FluidSynth, and WAV writing.

The synth is driven directly: note events sorted by frame, and ``fs.get_samples(n)`` for the frames
between two events. This needs no audio device and no temporary MIDI file, runs far faster than real time,
and honours the score's own tempo map, mute/solo and a tick range, which FluidSynth's file player cannot.
Timing is exact to FluidSynth's internal 64-frame block (1.5 ms at 44.1 kHz).
"""

from __future__ import annotations

import io
import os
import wave
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import StudioError
from engine.files import atomic_write_bytes
from engine.score import Score
from engine.synth.events import DRUM_CHANNEL, NOTE_OFF, NOTE_ON, Schedule, audible_tracks, build_schedule
from engine.synth.soundfont import SynthConfig, new_synth, select_program

_CHUNK = 1 << 16  # frames per get_samples call in long silent stretches (keeps buffers small)


def program_channels(fs: Any, sfid: int, schedule: Schedule) -> None:
    """Send the plan's program (and drum bank) to every used channel, before any note."""
    for channel, (bank, program) in schedule.plan.channel_program.items():
        select_program(fs, sfid, channel, bank, program)
    if DRUM_CHANNEL not in schedule.plan.channel_program:
        select_program(fs, sfid, DRUM_CHANNEL, 128, 0)


def _pull(fs: Any, out: np.ndarray, begin: int, stop: int) -> None:
    """Fill ``out[begin:stop]`` (int16 frames x 2) from the synth."""
    pos = begin
    while pos < stop:
        n = min(stop - pos, _CHUNK)
        out[pos : pos + n] = fs.get_samples(n).reshape(n, 2)
        pos += n


def _range_events(
    schedule: Schedule, origin: int, stop: int, tracks: frozenset[int]
) -> list[tuple[int, ...]]:
    """Events of the audible notes overlapping [origin, stop), shifted so that ``origin`` is frame 0.

    A note held across ``origin`` is struck at frame 0 (what a musician expects when starting from the
    middle of a sustained chord); a note held across ``stop`` is released there so the tail is a release.
    """
    keep = (schedule.start < stop) & (schedule.end > origin)
    if len(tracks) < len(schedule.plan.track_channel):
        keep &= np.isin(schedule.track, np.array(sorted(tracks), dtype=np.int64))
    on = np.maximum(schedule.start[keep], origin) - origin
    off = np.minimum(schedule.end[keep], stop) - origin
    ch, pitch, vel = schedule.channel[keep], schedule.pitch[keep], schedule.velocity[keep]
    frames = np.concatenate((on, off))
    kinds = np.concatenate((np.full(len(on), NOTE_ON), np.full(len(off), NOTE_OFF)))
    order = np.lexsort((kinds, frames))
    cols = (
        frames[order].tolist(),
        kinds[order].tolist(),
        np.concatenate((ch, ch))[order].tolist(),
        np.concatenate((pitch, pitch))[order].tolist(),
        np.concatenate((vel, vel))[order].tolist(),
    )
    return list(zip(*cols, strict=True))


def render_score(
    score: Score,
    soundfont: str | os.PathLike[str] | None = None,
    sample_rate: int = 44100,
    start_tick: int = 0,
    end_tick: int | None = None,
    muted: Collection[int] = frozenset(),
    solo: Collection[int] = frozenset(),
    tail_seconds: float = 1.0,
    config: SynthConfig | None = None,
) -> np.ndarray:
    """Audio of ``score`` between two ticks as float32 frames x 2 (stereo), in [-1, 1].

    ``end_tick`` defaults to the last note-off; ``tail_seconds`` of release/reverb follow it. The length is
    ``round((seconds(end) - seconds(start) + tail) * sample_rate)`` frames. ``muted``/``solo`` are track
    indices (mute wins over solo). Raises SoundFontError when no SoundFont or FluidSynth is available.
    """
    if end_tick is None:
        end_tick = max(score.end_tick, start_tick)
    if start_tick < 0 or end_tick < start_tick:
        raise ValueError(f"bad render range: ticks {start_tick}..{end_tick}")
    if tail_seconds < 0:
        raise ValueError(f"tail_seconds must be >= 0, got {tail_seconds}")
    cfg = replace(config or SynthConfig(), sample_rate=int(sample_rate))
    schedule = build_schedule(score, cfg.sample_rate)
    origin, stop = schedule.tick_to_frame(start_tick), schedule.tick_to_frame(end_tick)
    n_frames = stop - origin + int(round(tail_seconds * cfg.sample_rate))
    events = _range_events(schedule, origin, stop, audible_tracks(len(score.tracks), muted, solo))

    fs, sfid = new_synth(soundfont, cfg)
    try:
        program_channels(fs, sfid, schedule)
        out = np.zeros((n_frames, 2), dtype=np.int16)
        pos = 0
        for frame, kind, channel, pitch, velocity in events:
            if frame > pos:
                _pull(fs, out, pos, frame)
                pos = frame
            if kind == NOTE_ON:
                fs.noteon(channel, pitch, velocity)
            else:
                fs.noteoff(channel, pitch)
        _pull(fs, out, pos, n_frames)
    finally:
        fs.delete()
    return out.astype(np.float32) * np.float32(1.0 / 32768.0)


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] (clipped beyond) as int16; int16 input is passed through."""
    if audio.dtype == np.int16:
        return audio
    return np.rint(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


def write_wav(audio: np.ndarray, path: str | os.PathLike[str], sample_rate: int = 44100) -> Path:
    """Write ``audio`` (frames x channels, or mono frames) as a 16-bit PCM WAV, atomically.

    Through ``engine.files.atomic_write_bytes``: an existing file is never left half-written (a crash or
    a full disk keeps the old one), and the new file gets the usual permissions.
    """
    target = Path(path)
    data = to_int16(np.asarray(audio))
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[1] not in (1, 2):
        raise ValueError(f"audio must be frames x 1 or 2 channels, got shape {data.shape}")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(data.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(int(sample_rate))
        wav.writeframes(np.ascontiguousarray(data, dtype="<i2").tobytes())
    try:
        atomic_write_bytes(target, buf.getvalue())
    except OSError as exc:
        raise StudioError(f"Could not write the WAV file {target}: {exc.strerror or exc}") from exc
    return target


def render_to_wav(
    score: Score,
    path: str | os.PathLike[str],
    soundfont: str | os.PathLike[str] | None = None,
    sample_rate: int = 44100,
    **kwargs: Any,
) -> Path:
    """Render ``score`` (same keyword arguments as :func:`render_score`) and write it to ``path``."""
    audio = render_score(score, soundfont=soundfont, sample_rate=sample_rate, **kwargs)
    return write_wav(audio, path, sample_rate)
