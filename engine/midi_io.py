"""Reading and writing Standard MIDI Files.

``read_midi`` (miditoolkit, the design card's choice) is the editor's path; ``read_midi_fast`` (symusic,
~100x faster) is for bulk dataset work. Both return the same ``Score`` and both turn every failure into
``MidiReadError`` with a reason, so a corrupt download never shows a traceback. ``write_midi`` writes
atomically (temporary file + rename), so a crash mid-write never leaves a half-written song behind.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from engine.errors import MidiReadError, MidiWriteError
from engine.files import atomic_write_bytes
from engine.score import Note, Score, TempoChange, TimeSignature, Track

MAX_FILE_BYTES = 64 * 1024 * 1024  # far above any real song (POP909's largest is ~50 kB)
MAX_NOTES = 2_000_000
MAX_TRACKS = 2_048  # tracks that hold notes; empty tracks are dropped and do not count
MAX_TICKS_PER_BEAT = 32_768
MAX_SONG_HOURS = 3.0  # a note hours past the rest is almost always a corrupt delta time

Source = str | os.PathLike | bytes


def _load_bytes(source: Source, max_bytes: int) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), "<bytes>"
    else:
        path = Path(source)
        name = path.name
        if not path.exists():
            raise MidiReadError(f"{name}: file not found")
        if path.is_dir():
            raise MidiReadError(f"{name}: is a folder, not a MIDI file")
        size = path.stat().st_size
        if size > max_bytes:
            raise MidiReadError(f"{name}: {size / 1e6:.0f} MB is too large for a MIDI file (limit {max_bytes / 1e6:.0f} MB)")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise MidiReadError(f"{name}: cannot be read ({exc.strerror or exc})") from exc
    if not data:
        raise MidiReadError(f"{name}: the file is empty")
    if len(data) > max_bytes:
        raise MidiReadError(f"{name}: too large for a MIDI file")
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":  # RIFF-wrapped MIDI (.rmi): unwrap the data chunk
        start = data.find(b"MThd")
        if start < 0:
            raise MidiReadError(f"{name}: RIFF file without MIDI data")
        data = data[start:]
    if data[:4] != b"MThd":
        raise MidiReadError(f"{name}: not a MIDI file (no 'MThd' header)")
    if len(data) < 14:
        raise MidiReadError(f"{name}: truncated MIDI header")
    fmt = int.from_bytes(data[8:10], "big")
    division = int.from_bytes(data[12:14], "big")
    if fmt > 2:
        raise MidiReadError(f"{name}: unknown MIDI format {fmt}")
    if division & 0x8000:
        raise MidiReadError(f"{name}: SMPTE (frame-based) timing is not supported; re-save it with ticks per beat")
    if division == 0 or division > MAX_TICKS_PER_BEAT:
        raise MidiReadError(f"{name}: invalid resolution of {division} ticks per beat")
    return data, name


def _finish(score: Score, name: str, max_notes: int) -> Score:
    """Checks shared by both parsers; sorts events so every consumer can rely on order."""
    if len(score.tracks) > MAX_TRACKS:
        raise MidiReadError(f"{name}: {len(score.tracks)} tracks with notes is more than the {MAX_TRACKS} supported")
    if score.n_notes > max_notes:
        raise MidiReadError(f"{name}: {score.n_notes:,} notes is more than the {max_notes:,} supported")
    for track in score.tracks:
        track.notes.sort(key=lambda n: (n.start, n.pitch, n.end))
    score.tempos = _clean_tempos(score.tempos)
    score.time_signatures = _clean_signatures(score.time_signatures)
    hours = score.tick_to_seconds(score.end_tick) / 3600.0
    if hours > MAX_SONG_HOURS:
        raise MidiReadError(
            f"{name}: its notes run for {hours:,.0f} hours, more than the {MAX_SONG_HOURS:.0f} supported "
            "(usually a corrupt time value in the file)"
        )
    return score


def _clean_tempos(tempos: list[TempoChange]) -> list[TempoChange]:
    by_tick: dict[int, float] = {}
    for t in sorted(tempos, key=lambda t: t.tick):
        if 1.0 <= t.bpm <= 1000.0:  # a zero or absurd tempo would make times meaningless
            by_tick[max(int(t.tick), 0)] = float(t.bpm)
    if not by_tick:
        return [TempoChange(0, 120.0)]
    out = [TempoChange(k, v) for k, v in sorted(by_tick.items())]
    if out[0].tick != 0:
        out.insert(0, TempoChange(0, out[0].bpm))
    return out


def _clean_signatures(sigs: list[TimeSignature]) -> list[TimeSignature]:
    by_tick: dict[int, TimeSignature] = {}
    for s in sorted(sigs, key=lambda s: s.tick):
        if 1 <= s.numerator <= 64 and s.denominator in (1, 2, 4, 8, 16, 32, 64):
            by_tick[max(int(s.tick), 0)] = TimeSignature(max(int(s.tick), 0), int(s.numerator), int(s.denominator))
    if not by_tick:
        return [TimeSignature(0, 4, 4)]
    out = [by_tick[k] for k in sorted(by_tick)]
    if out[0].tick != 0:
        out.insert(0, TimeSignature(0, out[0].numerator, out[0].denominator))
    return out


def _make_note(start: int, end: int, pitch: int, velocity: int) -> Note:
    start = max(int(start), 0)
    return Note(start, max(int(end), start + 1), int(pitch), int(min(max(velocity, 1), 127)))


FAST_PATH_BYTES = 512 * 1024


def read_midi(
    source: Source, *, backend: str = "auto", max_bytes: int = MAX_FILE_BYTES, max_notes: int = MAX_NOTES
) -> Score:
    """Load a MIDI file (type 0, 1 or 2). Raises MidiReadError with the reason.

    ``backend``: "miditoolkit" (the card's parser), "symusic" (C++, ~50x faster) or "auto": miditoolkit for
    ordinary files and symusic above 512 kB, where miditoolkit would keep a musician waiting seconds
    (a 1e6-note file: 15 s vs 1.8 s). Both give the same Score (tests/test_midi_io.py checks they agree).
    """
    if backend not in ("auto", "miditoolkit", "symusic"):
        raise ValueError(f"unknown MIDI backend {backend!r}")
    data, name = _load_bytes(source, max_bytes)
    if backend == "symusic" or (backend == "auto" and len(data) > FAST_PATH_BYTES):
        return _read_symusic(data, name, max_notes)
    return _read_miditoolkit(data, name, max_notes)


def _read_miditoolkit(data: bytes, name: str, max_notes: int) -> Score:
    import miditoolkit  # lazy: keeps the window's start-up fast

    try:
        midi = miditoolkit.MidiFile(file=io.BytesIO(data))
    except Exception as exc:  # mido/miditoolkit raise many types (EOFError, KeyError, ValueError, OSError ...)
        raise MidiReadError(f"{name}: corrupt or unsupported MIDI data ({type(exc).__name__}: {exc})") from exc
    tracks = []
    for inst in midi.instruments:
        if not inst.notes:
            continue
        notes = [_make_note(n.start, n.end, n.pitch, n.velocity) for n in inst.notes]
        tracks.append(Track(name=(inst.name or "").strip(), program=int(inst.program), is_drum=bool(inst.is_drum), notes=notes))
        if sum(len(t.notes) for t in tracks) > max_notes:
            raise MidiReadError(f"{name}: more than the {max_notes:,} notes supported")
    score = Score(
        ticks_per_beat=int(midi.ticks_per_beat),
        tracks=tracks,
        tempos=[TempoChange(int(t.time), float(t.tempo)) for t in midi.tempo_changes],
        time_signatures=[TimeSignature(int(s.time), int(s.numerator), int(s.denominator)) for s in midi.time_signature_changes],
    )
    return _finish(score, name, max_notes)


def read_midi_fast(source: Source, *, max_bytes: int = MAX_FILE_BYTES, max_notes: int = MAX_NOTES) -> Score:
    """Load a MIDI file with symusic (C++): the bulk path for dataset building. Same Score as read_midi."""
    return read_midi(source, backend="symusic", max_bytes=max_bytes, max_notes=max_notes)


def _read_symusic(data: bytes, name: str, max_notes: int) -> Score:
    import symusic

    try:
        midi = symusic.Score.from_midi(data)
    except Exception as exc:
        raise MidiReadError(f"{name}: corrupt or unsupported MIDI data ({type(exc).__name__}: {exc})") from exc
    tracks = []
    total = 0
    for t in midi.tracks:
        if len(t.notes) == 0:
            continue
        arr = t.notes.numpy()
        total += len(arr["time"])
        if total > max_notes:
            raise MidiReadError(f"{name}: more than the {max_notes:,} notes supported")
        starts, durs, pitches, vels = (arr[k].tolist() for k in ("time", "duration", "pitch", "velocity"))
        notes = [_make_note(s, s + d, p, v) for s, d, p, v in zip(starts, durs, pitches, vels, strict=True)]
        tracks.append(Track(name=(t.name or "").strip(), program=int(t.program), is_drum=bool(t.is_drum), notes=notes))
    score = Score(
        ticks_per_beat=int(midi.ticks_per_quarter),
        tracks=tracks,
        tempos=[TempoChange(int(t.time), float(t.qpm)) for t in midi.tempos],
        time_signatures=[TimeSignature(int(s.time), int(s.numerator), int(s.denominator)) for s in midi.time_signatures],
    )
    return _finish(score, name, max_notes)


def score_to_midi_bytes(score: Score) -> bytes:
    """Serialise a score to Standard MIDI File bytes (type 1). Drum tracks go to channel 10."""
    import miditoolkit

    midi = miditoolkit.MidiFile(ticks_per_beat=score.ticks_per_beat)
    midi.tempo_changes = [miditoolkit.TempoChange(float(t.bpm), int(t.tick)) for t in score.tempos]
    midi.time_signature_changes = [
        miditoolkit.TimeSignature(int(s.numerator), int(s.denominator), int(s.tick)) for s in score.time_signatures
    ]
    for track in score.tracks:
        inst = miditoolkit.Instrument(program=int(track.program), is_drum=bool(track.is_drum), name=track.name)
        inst.notes = [miditoolkit.Note(int(n.velocity), int(n.pitch), int(n.start), int(n.end)) for n in track.sorted_notes()]
        midi.instruments.append(inst)
    buf = io.BytesIO()
    midi.dump(file=buf)
    return buf.getvalue()


def write_midi(score: Score, path: str | os.PathLike) -> None:
    """Write a score as a type-1 MIDI file, atomically. Raises MidiWriteError on failure."""
    try:
        data = score_to_midi_bytes(score)
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise MidiWriteError(f"{Path(path).name}: cannot be written ({exc.strerror or exc})") from exc
