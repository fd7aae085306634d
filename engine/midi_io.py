"""Reading and writing Standard MIDI Files.

``read_midi`` is the editor's and the command line's path: it reads the whole file into a song document
(``engine.midi_document``: every event kept) and returns the ``Score`` view of it; ``write_midi`` patches
the score's edits onto that document, so everything the edit did not touch is written back as it was.
``read_midi_fast`` (symusic, C++) is the bulk path for dataset building only: faster still, but it drops
events and ignores program changes kept in another track. Every read failure becomes ``MidiReadError``
with a reason, so a corrupt download never shows a traceback; ``write_midi`` writes atomically
(temporary file + rename), so a crash mid-write never leaves a half-written song behind.
"""

from __future__ import annotations

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
    """Checks shared by both readers; sorts notes so every consumer can rely on their order."""
    if len(score.tracks) > MAX_TRACKS:
        raise MidiReadError(f"{name}: {len(score.tracks)} tracks with notes is more than the {MAX_TRACKS} supported")
    if score.n_notes > max_notes:
        raise MidiReadError(f"{name}: {score.n_notes:,} notes is more than the {max_notes:,} supported")
    for track in score.tracks:
        track.notes.sort(key=lambda n: (n.start, n.pitch, n.end))
    hours = score.tick_to_seconds(score.end_tick) / 3600.0
    if hours > MAX_SONG_HOURS:
        raise MidiReadError(
            f"{name}: its notes run for {hours:,.0f} hours, more than the {MAX_SONG_HOURS:.0f} supported "
            "(usually a corrupt time value in the file)"
        )
    return score


def read_midi(
    source: Source, *, backend: str = "document", max_bytes: int = MAX_FILE_BYTES, max_notes: int = MAX_NOTES
) -> Score:
    """Load a MIDI file (type 0, 1 or 2). Raises MidiReadError with the reason.

    ``backend``: "document" (default; the lossless song document, engine.midi_document) or "symusic" (the
    dataset path, ``read_midi_fast``). The document reader loads what a damaged file still holds and lists
    what it skipped in ``load_warnings(score)``; it refuses a file only when its header is unusable or
    nothing in it can be read.
    """
    if backend not in ("document", "symusic"):
        raise ValueError(f"unknown MIDI backend {backend!r}")
    data, name = _load_bytes(source, max_bytes)
    if backend == "symusic":
        return _read_symusic(data, name, max_notes)
    return _read_document(data, name, max_notes)


def _read_document(data: bytes, name: str, max_notes: int) -> Score:
    from engine.midi_document import read_document
    from engine.smf import SmfError

    try:
        doc, score = read_document(data)
    except SmfError as exc:
        raise MidiReadError(f"{name}: {exc}") from exc
    if not doc.smf.tracks and not doc.smf.problems:
        doc.warnings.append("the file holds no tracks: it opens as an empty song")
    elif doc.smf.problems and score.n_notes == 0:
        raise MidiReadError(f"{name}: damaged MIDI file ({doc.smf.problems[0]})")
    return _finish(score, name, max_notes)


def load_warnings(score: Score) -> list[str]:
    """What reading the score's file skipped or could not understand (empty for a clean file)."""
    return list(score.document.warnings) if score.document is not None else []


def read_midi_fast(source: Source, *, max_bytes: int = MAX_FILE_BYTES, max_notes: int = MAX_NOTES) -> Score:
    """Load a MIDI file with symusic (C++): the bulk path for dataset building.

    Same tempo and meter rules as ``read_midi`` (the SMF defaults before the first event), but no document
    and symusic's own program rule (a program change in another track is not seen)."""
    return read_midi(source, backend="symusic", max_bytes=max_bytes, max_notes=max_notes)


def _clean_tempos(tempos: list[TempoChange]) -> list[TempoChange]:
    """One tempo per tick, the SMF default 120 BPM before the first (not the first stretched to tick 0)."""
    by_tick = {max(int(t.tick), 0): float(t.bpm) for t in sorted(tempos, key=lambda t: t.tick) if t.bpm > 0}
    out = [TempoChange(k, v) for k, v in sorted(by_tick.items())]
    if not out or out[0].tick != 0:
        out.insert(0, TempoChange(0, 120.0))
    return out


def _clean_signatures(sigs: list[TimeSignature]) -> list[TimeSignature]:
    """One time signature per tick, the SMF default 4/4 before the first one."""
    by_tick: dict[int, TimeSignature] = {}
    for s in sorted(sigs, key=lambda s: s.tick):
        if 1 <= s.numerator <= 64 and s.denominator in (1, 2, 4, 8, 16, 32, 64):
            by_tick[max(int(s.tick), 0)] = TimeSignature(max(int(s.tick), 0), int(s.numerator), int(s.denominator))
    out = [by_tick[k] for k in sorted(by_tick)]
    if not out or out[0].tick != 0:
        out.insert(0, TimeSignature(0, 4, 4))
    return out


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
        notes = [
            Note(max(int(s), 0), max(int(s + d), int(s), 0), int(p), int(min(max(v, 1), 127)))
            for s, d, p, v in zip(starts, durs, pitches, vels, strict=True)
        ]
        tracks.append(Track(name=(t.name or "").strip(), program=int(t.program), is_drum=bool(t.is_drum), notes=notes))
    score = Score(
        ticks_per_beat=int(midi.ticks_per_quarter),
        tracks=tracks,
        tempos=_clean_tempos([TempoChange(int(t.time), float(t.qpm)) for t in midi.tempos]),
        time_signatures=_clean_signatures(
            [TimeSignature(int(s.time), int(s.numerator), int(s.denominator)) for s in midi.time_signatures]
        ),
    )
    return _finish(score, name, max_notes)


def encode_midi(score: Score) -> tuple[bytes, list[str]]:
    """The file for ``score`` and what could not be written as asked: its document patched with its
    edits (everything else as read), or a fresh type-1 file when it has none (engine.midi_document)."""
    from engine.midi_document import document_bytes

    return document_bytes(score)


def score_to_midi_bytes(score: Score) -> bytes:
    """``encode_midi`` without the warnings."""
    return encode_midi(score)[0]


def write_midi(score: Score, path: str | os.PathLike) -> list[str]:
    """Write a score as a MIDI file, atomically. Returns warnings (e.g. the MIDI channels ran out).

    Raises MidiWriteError on failure; the old file, if any, is left as it was."""
    try:
        data, warnings = encode_midi(score)
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise MidiWriteError(f"{Path(path).name}: cannot be written ({exc.strerror or exc})") from exc
    return warnings
