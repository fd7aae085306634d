"""From a Score to timed synthesizer events: channel plan, tempo map and note schedule (no FluidSynth here).

Offline rendering and live playback share this module so that what the user hears while playing is
exactly what "Render to WAV" writes.

Channel plan (General MIDI has 16 channels, channel 10 -- index 9 -- is the drum channel):

* every drum track plays on channel 9 with bank 128 (the GM percussion bank); the kit is the program of
  the first drum track with notes, since one channel holds one kit;
* pitched tracks get the other 15 channels, one each, in track order, when there are at most 15;
* with more than 15 pitched tracks, tracks with the same GM program share a channel (this sounds the same:
  the notes go to the same preset; the only loss is that two tracks playing the same pitch at once cut
  each other's note-off). Only when there are more than 15 distinct programs are the program groups
  assigned to channels round-robin, and a group that lands on an occupied channel plays with that
  channel's (first group's) instrument -- the plan records this in ``mismatched_tracks`` so the UI can
  say so. We keep 16 channels rather than using FluidSynth's 256 so that a preview sounds like the
  exported MIDI file played on any GM synth.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.score import Score, Track

N_CHANNELS = 16
DRUM_CHANNEL = 9
DRUM_BANK = 128
PITCHED_CHANNELS: tuple[int, ...] = tuple(c for c in range(N_CHANNELS) if c != DRUM_CHANNEL)

NOTE_OFF = 0  # sorts before NOTE_ON at the same frame so a repeated pitch is released, then struck again
NOTE_ON = 1


@dataclass(frozen=True, slots=True)
class ChannelPlan:
    """Which MIDI channel each track plays on and which (bank, program) each used channel has."""

    track_channel: tuple[int | None, ...]  # per track index; None for a track without notes
    channel_program: dict[int, tuple[int, int]] = field(default_factory=dict)  # channel -> (bank, program)
    mismatched_tracks: tuple[int, ...] = ()  # tracks that play with another track's instrument

    @property
    def used_channels(self) -> tuple[int, ...]:
        return tuple(sorted(self.channel_program))


def assign_channels(tracks: Sequence[Track]) -> ChannelPlan:
    """The channel plan for ``tracks`` (see the module docstring for the policy and its reasons)."""
    track_channel: list[int | None] = [None] * len(tracks)
    channel_program: dict[int, tuple[int, int]] = {}
    mismatched: list[int] = []

    drums = [i for i, t in enumerate(tracks) if t.is_drum and t.notes]
    if drums:
        channel_program[DRUM_CHANNEL] = (DRUM_BANK, int(tracks[drums[0]].program))
        for i in drums:
            track_channel[i] = DRUM_CHANNEL

    pitched = [i for i, t in enumerate(tracks) if not t.is_drum and t.notes]
    if len(pitched) <= len(PITCHED_CHANNELS):
        for slot, i in zip(PITCHED_CHANNELS, pitched, strict=False):
            track_channel[i] = slot
            channel_program[slot] = (0, int(tracks[i].program))
    else:
        groups: dict[int, list[int]] = {}
        for i in pitched:
            groups.setdefault(int(tracks[i].program), []).append(i)
        for g, (program, members) in enumerate(groups.items()):
            slot = PITCHED_CHANNELS[g % len(PITCHED_CHANNELS)]
            if slot in channel_program:
                mismatched.extend(members)
            else:
                channel_program[slot] = (0, program)
            for i in members:
                track_channel[i] = slot
    return ChannelPlan(tuple(track_channel), channel_program, tuple(sorted(mismatched)))


class TempoMap:
    """Vectorised tick <-> seconds conversion that agrees with ``Score.tick_to_seconds``.

    ``Score.tick_to_seconds`` walks the tempo list per call; a song has thousands of note times, so the
    piecewise-linear map is precomputed once (knots at each tempo change, 120 BPM before the first one,
    a later change at the same tick wins -- the same rules).
    """

    def __init__(self, score: Score) -> None:
        tpb = float(score.ticks_per_beat)
        knots: list[list[float]] = [[0.0, 120.0]]
        for change in sorted(score.tempos, key=lambda t: t.tick):
            tick = float(max(change.tick, 0))
            if tick == knots[-1][0]:
                knots[-1][1] = float(change.bpm)
            else:
                knots.append([tick, float(change.bpm)])
        self.ticks = np.array([k[0] for k in knots], dtype=np.float64)
        self.sec_per_tick = np.array([60.0 / (k[1] * tpb) for k in knots], dtype=np.float64)
        spans = np.diff(self.ticks) * self.sec_per_tick[:-1]
        self.seconds = np.concatenate(([0.0], np.cumsum(spans)))
        self._seconds_list: list[float] = self.seconds.tolist()

    def to_seconds(self, ticks: np.ndarray | float) -> np.ndarray:
        t = np.asarray(ticks, dtype=np.float64)
        i = np.clip(np.searchsorted(self.ticks, t, side="right") - 1, 0, len(self.ticks) - 1)
        return self.seconds[i] + (t - self.ticks[i]) * self.sec_per_tick[i]

    def to_ticks(self, seconds: float) -> float:
        """Fractional tick at ``seconds`` (the playhead wants sub-tick smoothness, not rounding)."""
        i = max(bisect.bisect_right(self._seconds_list, seconds) - 1, 0)
        return float(self.ticks[i] + (seconds - self.seconds[i]) / self.sec_per_tick[i])


@dataclass(slots=True)
class Schedule:
    """A score's notes in audio frames from tick 0, ready to be dispatched to a synth.

    Note arrays are parallel and sorted by start frame; ``events`` is the merged on/off list sorted by
    (frame, off-before-on), as plain tuples because the audio callback walks it in Python and indexing a
    list is several times faster than indexing numpy arrays one element at a time.
    """

    sample_rate: int
    plan: ChannelPlan
    tempo: TempoMap
    start: np.ndarray  # int64 frames
    end: np.ndarray
    channel: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    track: np.ndarray
    events: list[tuple[int, int, int, int, int, int]]  # (frame, kind, channel, pitch, velocity, track)
    event_frames: list[int]
    end_frame: int  # frame of the last note-off (0 without notes)

    def tick_to_frame(self, tick: float) -> int:
        return int(round(float(self.tempo.to_seconds(tick)) * self.sample_rate))

    def frame_to_tick(self, frame: float) -> float:
        return self.tempo.to_ticks(frame / self.sample_rate)

    def first_event_at_or_after(self, frame: int) -> int:
        return bisect.bisect_left(self.event_frames, frame)

    def sounding_at(self, frame: int, tracks: Collection[int] | None = None) -> np.ndarray:
        """Indices of notes struck before ``frame`` and still held at it (to re-strike after a seek)."""
        mask = (self.start < frame) & (self.end > frame)
        if tracks is not None:
            mask &= np.isin(self.track, np.fromiter(tracks, dtype=np.int64, count=len(tracks)))
        return np.flatnonzero(mask)


def audible_tracks(n_tracks: int, muted: Collection[int] = (), solo: Collection[int] = ()) -> frozenset[int]:
    """Tracks that sound: not muted, and soloed when any track is soloed (mute wins over solo, as in
    most DAWs, so a soloed-and-muted track is silent)."""
    everyone = range(n_tracks)
    chosen = [i for i in everyone if i in solo] if solo else list(everyone)
    return frozenset(i for i in chosen if i not in muted)


def build_schedule(score: Score, sample_rate: int, tracks: Collection[int] | None = None) -> Schedule:
    """The schedule of ``score`` (only ``tracks`` when given), frames counted from tick 0.

    Notes are timed through the tempo map, so tempo changes are honoured to the sample; a note that would
    round to zero length keeps one frame so its note-off still follows its note-on.
    """
    plan = assign_channels(score.tracks)
    tempo = TempoMap(score)
    rows: list[tuple[int, int, int, int, int]] = []  # (start_tick, end_tick, pitch, velocity, track)
    for ti, trk in enumerate(score.tracks):
        if plan.track_channel[ti] is None or (tracks is not None and ti not in tracks):
            continue
        rows.extend((n.start, n.end, n.pitch, n.velocity, ti) for n in trk.notes)
    arr = np.array(rows, dtype=np.int64).reshape(-1, 5)
    start = np.rint(tempo.to_seconds(arr[:, 0]) * sample_rate).astype(np.int64)
    end = np.rint(tempo.to_seconds(arr[:, 1]) * sample_rate).astype(np.int64)
    end = np.maximum(end, start + 1)
    order = np.argsort(start, kind="stable")
    start, end, arr = start[order], end[order], arr[order]
    channel = np.array([plan.track_channel[t] for t in arr[:, 4]], dtype=np.int64)
    pitch = np.clip(arr[:, 2], 0, 127)
    velocity = np.clip(arr[:, 3], 1, 127)
    track = arr[:, 4]

    ons = zip(
        start.tolist(), channel.tolist(), pitch.tolist(), velocity.tolist(), track.tolist(), strict=True
    )
    offs = zip(end.tolist(), channel.tolist(), pitch.tolist(), track.tolist(), strict=True)
    events = [(f, NOTE_ON, c, p, v, t) for f, c, p, v, t in ons]
    events += [(f, NOTE_OFF, c, p, 0, t) for f, c, p, t in offs]
    events.sort(key=lambda e: (e[0], e[1]))
    return Schedule(
        sample_rate=int(sample_rate),
        plan=plan,
        tempo=tempo,
        start=start,
        end=end,
        channel=channel,
        pitch=pitch,
        velocity=velocity,
        track=track,
        events=events,
        event_frames=[e[0] for e in events],
        end_frame=int(end.max()) if len(end) else 0,
    )
