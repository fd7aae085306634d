"""Dataset builder: folders of MIDI (POP909 with its annotations, or any GM MIDI) -> split, sharded SA data.

Each song is read, analysed (melody detection, chords) and encoded once, in parallel worker processes;
the main process files the results into train/valid/test shards (``engine.data.shards``) in song order,
so the output does not depend on the number of workers. Everything dropped is counted by reason in
``report.json``, because a silent filter is how the seed ended up with dead checks.

Layout of ``--out``::

    dataset.json              splits -> shard folders, counts, build settings
    report.json               kept/dropped per reason, split counts, timing
    train/shard-00000/ ...    see engine.data.shards
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine.data.shards import SongRecord, record_from_encoding, write_shard
from engine.data.split import DEFAULT_FRACTIONS, SPLITS, parse_fractions, split_of

MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".rmi")
DEFAULT_MIN_BARS = 4
DEFAULT_SHARD_SONGS = 512


@dataclass(frozen=True)
class SongJob:
    """One song to encode. ``split_key`` decides the split (derived songs share their source's key)."""

    song_id: str
    kind: str  # "pop909" (song folder) or "midi" (a file)
    path: str
    split_key: str
    groove: str | None = None  # MMA groove for a band-layer variant of a POP909 song
    split: str | None = None  # a fixed split (validation-only sources) instead of the hash of split_key


@dataclass
class Dropped:
    song_id: str
    reason: str
    detail: str = ""


@dataclass
class BuildOptions:
    out: Path
    seed: int = 0
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
    workers: int = 1
    min_bars: int = DEFAULT_MIN_BARS
    shard_songs: int = DEFAULT_SHARD_SONGS
    progress: bool = True


@dataclass
class BuildReport:
    n_jobs: int = 0
    n_kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> songs
    dropped_songs: list[dict[str, str]] = field(default_factory=list)
    splits: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> songs, rows, notes
    notes_dropped: dict[str, int] = field(default_factory=dict)  # per-note reasons inside kept songs
    seconds: float = 0.0
    bytes: int = 0

    def summary(self) -> str:
        lines = [f"{self.n_kept} of {self.n_jobs} songs kept in {self.seconds:.1f} s, {self.bytes / 1e6:.1f} MB"]
        for name in SPLITS:
            s = self.splits.get(name, {})
            lines.append(f"  {name:<5}: {s.get('songs', 0):>6} songs {s.get('rows', 0):>10,} rows {s.get('notes', 0):>10,} notes")
        for reason, n in sorted(self.dropped.items(), key=lambda kv: -kv[1]):
            lines.append(f"  dropped {n:>5}: {reason}")
        for reason, n in sorted(self.notes_dropped.items(), key=lambda kv: -kv[1]):
            lines.append(f"  notes dropped in kept songs {n:>7}: {reason}")
        return "\n".join(lines)


# -- discovering songs ------------------------------------------------------------------------------------
def pop909_jobs(root: str | Path, mma_grooves: int = 0, seed: int = 0) -> list[SongJob]:
    """One job per POP909 song folder, plus ``mma_grooves`` band-layer variants per song."""
    from engine.data.pop909 import pop909_songs

    jobs: list[SongJob] = []
    grooves: list[str] = []
    if mma_grooves > 0:
        from engine.data.mma import DEFAULT_GROOVES, MMAError, available_grooves, mma_executable, pick_grooves

        grooves = available_grooves(DEFAULT_GROOVES)
        if not grooves:  # asked for band layers: building none and exiting 0 would hide it
            raise MMAError("--mma-grooves needs mma, which is not installed (Debian/Ubuntu: apt-get install mma)"
                           if mma_executable() is None else
                           f"mma defines none of the grooves {', '.join(DEFAULT_GROOVES)} (is its library installed?)")
    for folder in pop909_songs(root):
        sid = f"pop909/{folder.name}"
        jobs.append(SongJob(sid, "pop909", str(folder), sid))
        if grooves:
            for g in pick_grooves(grooves, mma_grooves, sid, seed):
                jobs.append(SongJob(f"{sid}+mma:{g}", "pop909", str(folder), sid, g))
    return jobs


def midi_folder_jobs(root: str | Path, split: str | None = None) -> list[SongJob]:
    """Every MIDI file under ``root`` (recursive, Lakh-style nesting), id = relative path without suffix.
    ``split`` puts every song in that split (e.g. real band MIDI kept for validation only)."""
    root = Path(root)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in MIDI_SUFFIXES)
    jobs = []
    for p in files:
        sid = f"midi/{root.name}/{p.relative_to(root).with_suffix('').as_posix()}"
        jobs.append(SongJob(sid, "midi", str(p), sid, split=split))
    return jobs


# -- one song (runs in a worker process) ----------------------------------------------------------------
def encode_job(job: SongJob, min_bars: int = DEFAULT_MIN_BARS) -> SongRecord | Dropped:
    """Read, analyse and encode one song; a reason instead of an exception for anything that fails."""
    from engine.errors import MidiReadError, StudioError
    from engine.representation.encode import encode

    try:
        if job.kind == "pop909":
            from engine.data.pop909 import load_pop909_song

            score = load_pop909_song(job.path)
        else:
            from engine.midi_io import read_midi_fast

            score = read_midi_fast(job.path)
    except (MidiReadError, OSError, ValueError) as e:
        return Dropped(job.song_id, "unreadable file", str(e)[:200])
    if job.groove:
        from engine.data.mma import MMAError, add_band

        try:
            score = add_band(score, job.groove, seed=hash_seed(job.song_id))
        except MMAError as e:
            return Dropped(job.song_id, "MMA band layer failed", str(e)[:200])
    if score.n_notes == 0:
        return Dropped(job.song_id, "no notes")
    try:
        enc = encode(score)
    except (StudioError, ValueError, IndexError) as e:
        return Dropped(job.song_id, "cannot encode", f"{type(e).__name__}: {e}"[:200])
    if enc.end_bar - enc.first_bar < min_bars:
        return Dropped(job.song_id, f"fewer than {min_bars} bars")
    if enc.report.n_encoded == 0:
        return Dropped(job.song_id, "no encodable notes (all out of range or off the grid)")
    tracks = [{"name": t.name, "program": int(t.program), "is_drum": bool(t.is_drum), "generated": bool(t.generated),
               "notes": len(t.notes)} for t in score.tracks]
    meta = {"source": job.kind, "path": job.path, "split_key": job.split_key, "groove": job.groove,
            "tracks": tracks, "notes_dropped": enc.report.drop_counts()}
    try:
        return record_from_encoding(job.song_id, enc, meta)
    except ValueError as e:
        return Dropped(job.song_id, "values out of storage range", str(e)[:200])


def hash_seed(text: str) -> int:
    """A stable 32-bit seed from a string (Python's hash() is salted per process)."""
    from engine.data.split import unit_hash

    return int(unit_hash(text, 0) * 2**32)


def _encode_star(args: tuple[SongJob, int]) -> SongRecord | Dropped:
    return encode_job(*args)


# -- the build --------------------------------------------------------------------------------------------
class _ShardSink:
    """Collects records per split and writes a shard every ``shard_songs`` songs."""

    def __init__(self, out: Path, shard_songs: int, extra: dict[str, object]) -> None:
        self.out, self.shard_songs, self.extra = out, shard_songs, extra
        self.pending: dict[str, list[SongRecord]] = {s: [] for s in SPLITS}
        self.shards: dict[str, list[str]] = {s: [] for s in SPLITS}

    def add(self, split: str, rec: SongRecord) -> None:
        self.pending[split].append(rec)
        if len(self.pending[split]) >= self.shard_songs:
            self.flush(split)

    def flush(self, split: str) -> None:
        if not self.pending[split]:
            return
        rel = f"{split}/shard-{len(self.shards[split]):05d}"
        write_shard(self.out / rel, self.pending[split], {"split": split, **self.extra})
        self.shards[split].append(rel)
        self.pending[split] = []


def build_dataset(jobs: list[SongJob], opts: BuildOptions, sources: dict[str, str] | None = None) -> BuildReport:
    """Encode ``jobs`` with ``opts.workers`` processes and write the split shards under ``opts.out``."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    out = Path(opts.out)
    if (out / "dataset.json").exists():
        raise FileExistsError(f"{out} already holds a dataset; choose another --out or delete it")
    out.mkdir(parents=True, exist_ok=True)
    report = BuildReport(n_jobs=len(jobs))
    sink = _ShardSink(out, opts.shard_songs, {"seed": opts.seed})
    splits = {s: {"songs": 0, "rows": 0, "notes": 0} for s in SPLITS}
    reasons: Counter[str] = Counter()
    note_reasons: Counter[str] = Counter()
    args = [(j, opts.min_bars) for j in jobs]
    bar = tqdm(total=len(jobs), desc="encoding songs", unit="song", disable=not opts.progress)
    if opts.workers > 1:
        import multiprocessing as mp

        ctx = mp.get_context("spawn" if os.name == "nt" else "fork")
        with ctx.Pool(opts.workers) as pool:
            results = pool.imap(_encode_star, args, chunksize=4)
            _collect(results, jobs, opts, sink, splits, reasons, note_reasons, report, bar)
    else:
        _collect(map(_encode_star, args), jobs, opts, sink, splits, reasons, note_reasons, report, bar)
    bar.close()
    for s in SPLITS:
        sink.flush(s)
    report.splits, report.dropped, report.notes_dropped = splits, dict(reasons), dict(note_reasons)
    report.n_kept = sum(v["songs"] for v in splits.values())
    index = {
        "format": "popdiffuseq-dataset", "version": 1, "seed": opts.seed, "fractions": list(opts.fractions),
        "min_bars": opts.min_bars, "sources": sources or {}, "shards": sink.shards, "counts": splits,
    }
    (out / "dataset.json").write_text(json.dumps(index, indent=1))
    report.seconds = time.perf_counter() - t0
    report.bytes = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    (out / "report.json").write_text(json.dumps(asdict(report), indent=1))
    return report


def _collect(results, jobs, opts, sink, splits, reasons, note_reasons, report, bar) -> None:  # noqa: ANN001
    for job, res in zip(jobs, results, strict=True):
        bar.update(1)
        if isinstance(res, Dropped):
            reasons[res.reason] += 1
            report.dropped_songs.append(asdict(res))
            continue
        split = job.split or split_of(job.split_key, opts.seed, opts.fractions)
        res.meta["split"] = split
        sink.add(split, res)
        splits[split]["songs"] += 1
        splits[split]["rows"] += res.n_rows
        splits[split]["notes"] += int(res.meta["report"]["n_encoded"])  # type: ignore[index]
        note_reasons.update(res.meta.get("notes_dropped") or {})  # type: ignore[arg-type]


# -- command line -----------------------------------------------------------------------------------------
def dataset_main(argv: list[str] | None = None) -> int:
    """``popdiffuseq dataset build ...``: see --help."""
    from engine.data.pop909 import POP909_ROOT

    ap = argparse.ArgumentParser(prog="popdiffuseq dataset", description="Build training data from MIDI folders.")
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="encode songs into split, memory-mappable shards")
    b.add_argument("--pop909", type=Path, nargs="?", const=POP909_ROOT, default=None,
                   help=f"POP909 folder (song folders with annotations); default {POP909_ROOT} when no source is given")
    b.add_argument("--midi-folder", type=Path, action="append", default=[], help="any folder of GM MIDI files (recursive); repeatable")
    b.add_argument("--valid-folder", type=Path, action="append", default=[],
                   help="a folder of GM MIDI whose songs all go to the validation split, never to training "
                        "(e.g. Debian's real band MIDI: /usr/share/games/openttd/baseset/openmsx, "
                        "/usr/share/planetblupi/music); repeatable")
    b.add_argument("--out", type=Path, required=True, help="output folder (must not hold a dataset yet)")
    b.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    b.add_argument("--seed", type=int, default=0, help="split seed")
    b.add_argument("--split", default="90/5/5", help="train/valid/test shares, e.g. 90/5/5")
    b.add_argument("--min-bars", type=int, default=DEFAULT_MIN_BARS)
    b.add_argument("--shard-songs", type=int, default=DEFAULT_SHARD_SONGS)
    b.add_argument("--mma-grooves", type=int, default=0, help="MMA band-layer versions per POP909 song (0 = off)")
    b.add_argument("--limit", type=int, default=0, help="only the first N songs of each source (for trials)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)

    pop909 = args.pop909 if (args.pop909 is not None or args.midi_folder or args.valid_folder) else POP909_ROOT
    jobs: list[SongJob] = []
    sources: dict[str, str] = {}
    if pop909 is not None:
        if not Path(pop909).is_dir():
            print(f"error: POP909 folder {pop909} not found")
            return 2
        from engine.data.mma import MMAError

        try:
            found = pop909_jobs(pop909, args.mma_grooves, args.seed)
        except MMAError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        jobs += found[: args.limit * (1 + args.mma_grooves)] if args.limit else found
        sources["pop909"] = str(pop909)
    for folder, split in [(f, None) for f in args.midi_folder] + [(f, "valid") for f in args.valid_folder]:
        if not folder.is_dir():
            print(f"error: MIDI folder {folder} not found")
            return 2
        found = midi_folder_jobs(folder, split)
        jobs += found[: args.limit] if args.limit else found
        sources[f"midi/{folder.name}"] = str(folder) + (" (validation only)" if split else "")
    if not jobs:
        print("error: no songs found in the given sources")
        return 2
    opts = BuildOptions(out=args.out, seed=args.seed, fractions=parse_fractions(args.split), workers=args.workers,
                        min_bars=args.min_bars, shard_songs=args.shard_songs, progress=not args.quiet)
    try:
        report = build_dataset(jobs, opts, sources)
    except FileExistsError as e:
        print(f"error: {e}")
        return 2
    print(report.summary())
    print(f"wrote {args.out} (report.json lists every dropped song)")
    return 0
