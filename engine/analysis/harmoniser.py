"""A learned melody harmoniser (issue 16): chords for a bare melody by decoding a small HMM.

A songwriter who brings only a melody needs chords before a band can play, and a band follows the chord
rows it is given almost exactly, so the chords decide everything. The rule-based detector
(``analysis/chords.py``) finds chord tones in what sounds; a melody sounds one note at a time, full of
passing tones, so it finds the right root on about one beat in ten. A harmoniser instead asks which chord
sequence *a pop song* would put under this melody, with statistics learned from POP909's annotated chords:

- frames are the beats of the song's grid (``grid.beat_grid``); a chord may change on any beat, with a
  learned probability per place in the bar (bar start, half bar, other beat), so changes fall where
  POP909 puts them;
- states are (chord root relative to the song's key, quality), the key estimated from the whole melody
  by Krumhansl-Schmuckler correlation (a minor key is read as its relative major: same pitch set);
  everything is therefore transposition invariant and pop's mostly diatonic harmony is learned as such;
- emissions: per frame, the melody's pitch classes relative to the key in two channels, how long each
  sounds in the beat and which one sounds at the beat's onset (the metrically strong note), scored as a
  weighted multinomial under each state's learned pitch-class distribution;
- transitions: P(change | place in bar) and P(next state | state, change), both counted from training
  songs with additive smoothing;
- decoding: each beat takes its most probable state given the whole melody (forward-backward posterior),
  which matched POP909's valid split better than the single best path (Viterbi, also available: root
  match per beat 0.44 vs 0.42) and changes chord about as often (every 4.3 vs 4.6 beats).

Choices made on POP909's valid split (``bench/harmoniser_eval.py``, mostly read from the raw folder: the
same songs): beat frames with changes allowed anywhere (bar or half-bar frames: lower root match), seven
qualities (the two triads alone or all ten: no better), key-relative emissions per state (root-relative
per quality: 0.35), the onset channel at half the duration channel's weight, no extra change bias.

The tables are small (15 kB) and saved as ``.npz`` (``save``/``load``); ``fit`` builds
them from (melody, grid, chords) songs, and ``harmonise`` decodes a region while clamping the frames
outside it to known context chords so the region's chords connect to them. Pure numpy; the corpus
reading lives in ``engine/data/harmony_corpus.py`` and the command line at the bottom of this file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from engine.analysis.chord_vocab import QUALITIES, chord_pitch_classes, is_minor_family
from engine.analysis.grid import POSITIONS_PER_BEAT, BeatGrid, beat_pieces
from engine.score import ChordLabel, Note, Score

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "resources" / "models" / "harmoniser"
MODEL_FILE = "harmoniser.npz"
FORMAT = "popdiffuseq-harmoniser"
VERSION = 1
PLACES = ("bar start", "half bar", "other beat")  # where in the bar a frame (beat) starts
CHANNELS = ("duration", "onset")  # emission channels: time sounding in the beat, note sounding at its onset
# Krumhansl-Kessler key profiles (Krumhansl 1990, "Cognitive Foundations of Musical Pitch", table 2.1).
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# A quality outside the chosen set is read as the nearest one inside it (first that is chosen).
FALLBACK: dict[str, tuple[str, ...]] = {
    "": ("",), "m": ("m",), "+": ("",), "dim": ("m",), "7": ("",), "maj7": ("",), "m7": ("m",),
    "m7b5": ("m7", "dim", "m"), "sus2": ("",), "sus4": ("",),
}  # fmt: skip


class HarmoniserError(ValueError):
    """A harmoniser table file that cannot be used (missing, another format, inconsistent shapes)."""


@dataclass(frozen=True)
class HarmoniserConfig:
    """What to learn and how to decode; saved with the tables so a file says how it was made."""

    qualities: tuple[str, ...] = ("", "m", "7", "maj7", "m7", "sus2", "sus4")
    smoothing: float = 0.5  # additive count added to every table cell (transitions, emissions)
    emission_weight: tuple[float, float] = (1.0, 0.5)  # per CHANNELS: scale of each channel's log-likelihood
    change_places: tuple[str, ...] = PLACES  # places where a chord may change ("bar start" only = bar frames)
    decode: str = "posterior"  # "posterior": each beat's most probable state (forward-backward), best per-beat
    # agreement on POP909 valid (root 0.45 vs 0.42) without flicker; "viterbi": the single best sequence
    change_bias: float = 0.0  # added to a change's log-probability: Viterbi's single best path changes
    # chord less often than the data (a change pays for the spread of P(next | state)); tuned on valid


@dataclass
class HarmoniserModel:
    """The learned tables. S = 12 * len(qualities) states; state = (root - tonic) % 12 * Q + quality."""

    config: HarmoniserConfig
    log_change: np.ndarray  # (len(PLACES),) log P(chord changes at a frame | its place)
    log_stay: np.ndarray  # (len(PLACES),) log P(chord stays | place)
    log_next: np.ndarray  # (S, S) log P(next state | state, change); diagonal -inf
    log_emit: np.ndarray  # (S, 2, 12) log P(melody pitch class relative to the tonic | state, channel)
    log_prior: np.ndarray  # (S,) log P(state) for the first frame
    info: dict = field(default_factory=dict)  # how the tables were made (data, songs, frames)

    @property
    def n_states(self) -> int:
        return 12 * len(self.config.qualities)


@dataclass
class HarmonyCounts:
    """Raw counts a model is made of; songs add to them one at a time (``add_song``)."""

    qualities: tuple[str, ...]
    change: np.ndarray  # (len(PLACES), 2): [place, stayed / changed]
    next: np.ndarray  # (S, S) state -> next state at a change
    emit: np.ndarray  # (S, 2, 12) melody weight per state, channel, pitch class relative to the tonic
    prior: np.ndarray  # (S,) frames per state
    songs: int = 0
    frames: int = 0

    @classmethod
    def empty(cls, qualities: tuple[str, ...]) -> HarmonyCounts:
        s = 12 * len(qualities)
        return cls(qualities, np.zeros((len(PLACES), 2)), np.zeros((s, s)), np.zeros((s, 2, 12)), np.zeros(s))


# -- features ---------------------------------------------------------------------------------------------
def frame_places(grid: BeatGrid, n_frames: int) -> np.ndarray:
    """int (n_frames,): index into PLACES of each beat of ``grid``: 0 on a bar's first beat, 1 on the
    middle beat of a bar with an even number of beats (beat 3 of 4/4), 2 elsewhere."""
    pos = np.arange(n_frames) * POSITIONS_PER_BEAT
    bar = np.asarray(grid.bar_of_position(pos), dtype=np.int64).reshape(-1)
    offset = pos - grid.bar_starts[bar]
    length = grid.bar_starts[bar + 1] - grid.bar_starts[bar]
    beats = length // POSITIONS_PER_BEAT
    half = (beats % 2 == 0) & (beats >= 4) & (offset * 2 == length)
    return np.where(offset == 0, 0, np.where(half, 1, 2)).astype(np.int64)


def melody_arrays(melody: Score | Sequence[Note], grid: BeatGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, end, pitch) of the melody's notes, start/end in 32nd positions of ``grid`` (floats).

    A Score gives the notes of its MELODY tracks (``track_category``), or of all pitched tracks when none
    is marked as melody; a sequence of ``Note`` is taken as it is."""
    if isinstance(melody, Score):
        from engine.analysis.categories import track_category

        tracks = [t for t in melody.tracks if track_category(t) == "MELODY"] or \
                 [t for t in melody.tracks if not t.is_drum]
        notes: list[Note] = [n for t in tracks for n in t.notes]
    else:
        notes = list(melody)
    if not notes:
        z = np.zeros(0)
        return z, z, np.zeros(0, dtype=np.int64)
    start = np.asarray(grid.tick_to_position(np.fromiter((n.start for n in notes), float, len(notes))))
    end = np.asarray(grid.tick_to_position(np.fromiter((n.end for n in notes), float, len(notes))))
    pitch = np.fromiter((n.pitch for n in notes), np.int64, len(notes))
    return start.reshape(-1), end.reshape(-1), pitch


def beat_features(start: np.ndarray, end: np.ndarray, pitch: np.ndarray, n_frames: int) -> np.ndarray:
    """float (n_frames, 2, 12): per beat, how long (in beats) each pitch class sounds in it (channel 0)
    and which pitch classes sound at its onset (channel 1, one per note); positions in 32nds."""
    out = np.zeros((n_frames, 2, 12))
    if len(pitch) == 0 or n_frames == 0:
        return out
    idx, beat, lo, hi = beat_pieces(start, end, n_frames)
    np.add.at(out, (beat, 0, pitch[idx] % 12), np.maximum(hi - lo, 0.0) / POSITIONS_PER_BEAT)
    onset_pos = beat * POSITIONS_PER_BEAT
    at_onset = (start[idx] <= onset_pos) & (end[idx] > onset_pos)
    np.add.at(out, (beat[at_onset], 1, pitch[idx][at_onset] % 12), 1.0)
    return out


def estimate_tonic(duration_histogram: np.ndarray) -> int:
    """Tonic (0-11) of the major key whose scale best fits a pitch-class duration histogram, by the
    Krumhansl-Schmuckler correlation over 24 keys; a minor key answers its relative major (tonic + 3),
    which shares its pitch set. C (0) for an empty or flat histogram."""
    h = np.asarray(duration_histogram, dtype=np.float64)
    if h.sum() <= 0 or np.allclose(h, h[0]):
        return 0
    best, tonic = -np.inf, 0
    for profile, shift in ((KK_MAJOR, 0), (KK_MINOR, 3)):
        for t in range(12):
            r = float(np.corrcoef(h, np.roll(profile, t))[0, 1])
            if r > best:
                best, tonic = r, (t + shift) % 12
    return tonic


def quality_index(quality: str, qualities: tuple[str, ...]) -> int:
    """Index of ``quality`` in the chosen set, through FALLBACK when the set lacks it (major if nothing fits)."""
    for q in (quality, *FALLBACK.get(quality, ())):
        if q in qualities:
            return qualities.index(q)
    return qualities.index("") if "" in qualities else 0


def beat_chords(chords: Sequence[ChordLabel], grid: BeatGrid, n_frames: int) -> list[tuple[int | None, str]]:
    """(root, quality) of the chord sounding at each beat's onset tick; (None, '') where none does."""
    ticks = np.asarray(grid.position_to_tick(np.arange(n_frames) * POSITIONS_PER_BEAT)).reshape(-1)
    ordered = sorted(chords, key=lambda c: c.start)
    starts = np.asarray([c.start for c in ordered], dtype=np.int64)
    k = np.searchsorted(starts, ticks, side="right") - 1
    out: list[tuple[int | None, str]] = []
    for t, i in zip(ticks.tolist(), k.tolist(), strict=True):
        c = ordered[i] if i >= 0 else None
        out.append((c.root, c.quality) if c is not None and t < c.end and c.root is not None else (None, ""))
    return out


def chord_states(chords: Sequence[tuple[int | None, str]], tonic: int, qualities: tuple[str, ...]) -> np.ndarray:
    """int (n,): state of each (root, quality) relative to ``tonic``; -1 for N.C."""
    q = len(qualities)
    return np.asarray([-1 if r is None else ((r - tonic) % 12) * q + quality_index(s, qualities)
                       for r, s in chords], dtype=np.int64)


def _relative(features: np.ndarray, tonic: int) -> np.ndarray:
    """Features with pitch classes counted from the tonic (index i = tonic + i)."""
    return np.roll(features, -tonic, axis=-1)


# -- fitting ----------------------------------------------------------------------------------------------
def add_song(counts: HarmonyCounts, features: np.ndarray, places: np.ndarray, states: np.ndarray,
             tonic: int) -> None:
    """Count one song: ``features`` (n, 2, 12) from ``beat_features``, ``places`` (n,) from
    ``frame_places``, ``states`` (n,) from ``chord_states`` relative to ``tonic`` (-1 = N.C., not counted)."""
    rel = _relative(features, tonic)
    known = states >= 0
    np.add.at(counts.emit, states[known], rel[known])
    np.add.at(counts.prior, states[known], 1.0)
    both = known[1:] & known[:-1]
    changed = states[1:] != states[:-1]
    np.add.at(counts.change, (places[1:][both], changed[both].astype(np.int64)), 1.0)
    pairs = both & changed
    np.add.at(counts.next, (states[:-1][pairs], states[1:][pairs]), 1.0)
    counts.songs += 1
    counts.frames += int(known.sum())


def count_song(counts: HarmonyCounts, melody: Score | Sequence[Note], grid: BeatGrid,
               chords: Sequence[ChordLabel]) -> None:
    """Add one annotated song (its melody, grid and chord labels in ticks) to ``counts``."""
    n = max(len(grid.beat_ticks) - 1, 0)
    feats = beat_features(*melody_arrays(melody, grid), n)
    tonic = estimate_tonic(feats[:, 0].sum(axis=0))
    states = chord_states(beat_chords(chords, grid, n), tonic, counts.qualities)
    add_song(counts, feats, frame_places(grid, n), states, tonic)


def tables_from_counts(counts: HarmonyCounts, config: HarmoniserConfig, info: dict | None = None) -> HarmoniserModel:
    """Normalised log tables (additive smoothing ``config.smoothing``) from ``counts``."""
    if tuple(config.qualities) != tuple(counts.qualities):
        raise HarmoniserError("the counts were made for another quality set than the config's")
    a = config.smoothing
    change = (counts.change + a) / (counts.change + a).sum(axis=1, keepdims=True)
    nxt = counts.next + a
    np.fill_diagonal(nxt, 0.0)
    nxt = nxt / nxt.sum(axis=1, keepdims=True)
    emit = counts.emit + a
    emit = emit / emit.sum(axis=2, keepdims=True)
    prior = (counts.prior + a) / (counts.prior + a).sum()
    with np.errstate(divide="ignore"):
        log_next = np.log(nxt)
    return HarmoniserModel(config, np.log(change[:, 1]), np.log(change[:, 0]), log_next, np.log(emit),
                           np.log(prior), dict(info or {}, songs=counts.songs, frames=counts.frames))


def fit(songs: Iterable[tuple[Score | Sequence[Note], BeatGrid, Sequence[ChordLabel]]],
        config: HarmoniserConfig = HarmoniserConfig(), info: dict | None = None) -> HarmoniserModel:
    """A model from (melody, grid, annotated chords) songs. Raises HarmoniserError without any chord frame."""
    counts = HarmonyCounts.empty(tuple(config.qualities))
    for melody, grid, chords in songs:
        count_song(counts, melody, grid, chords)
    if counts.frames == 0:
        raise HarmoniserError("no song with both a melody and chords to learn from")
    return tables_from_counts(counts, config, info)


# -- decoding ---------------------------------------------------------------------------------------------
def _transitions(model: HarmoniserModel) -> list[np.ndarray]:
    """(S, S) log transition matrix into a frame at each place of PLACES."""
    out = []
    for p, place in enumerate(PLACES):
        allowed = place in model.config.change_places
        t = model.log_next + (model.log_change[p] + model.config.change_bias if allowed else -np.inf)
        np.fill_diagonal(t, model.log_stay[p] if allowed else 0.0)
        out.append(t)
    return out


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def posterior(log_emit: np.ndarray, places: np.ndarray, model: HarmoniserModel) -> np.ndarray:
    """(n, S) unnormalised log posterior of each state at each frame (forward-backward); arguments as
    ``viterbi``'s. Its argmax per frame maximises the expected number of beats with the right chord."""
    n, s = log_emit.shape
    trans = _transitions(model)
    fw = np.zeros((n, s))
    bw = np.zeros((n, s))
    if n == 0:
        return fw
    fw[0] = model.log_prior + log_emit[0]
    for k in range(1, n):
        fw[k] = _logsumexp(fw[k - 1][:, None] + trans[int(places[k])], axis=0) + log_emit[k]
    for k in range(n - 2, -1, -1):
        bw[k] = _logsumexp(trans[int(places[k + 1])] + (log_emit[k + 1] + bw[k + 1])[None, :], axis=1)
    return fw + bw


def viterbi(log_emit: np.ndarray, places: np.ndarray, model: HarmoniserModel) -> np.ndarray:
    """Most likely state sequence. ``log_emit`` (n, S) frame scores (-inf forbids a state: clamps);
    ``places`` (n,) PLACES index of each frame. Changes are only allowed at ``config.change_places``."""
    n, s = log_emit.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    trans = _transitions(model)
    delta = model.log_prior + log_emit[0]
    back = np.zeros((n, s), dtype=np.int64)
    for k in range(1, n):
        cand = delta[:, None] + trans[int(places[k])]
        back[k] = np.argmax(cand, axis=0)
        delta = cand[back[k], np.arange(s)] + log_emit[k]
    path = np.zeros(n, dtype=np.int64)
    path[-1] = int(np.argmax(delta))
    for k in range(n - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    return path


def frame_scores(features: np.ndarray, tonic: int, model: HarmoniserModel) -> np.ndarray:
    """(n, S) emission log-likelihood of each frame under each state (0 for a silent frame)."""
    rel = _relative(features, tonic)
    w = np.asarray(model.config.emission_weight, dtype=np.float64)
    return np.einsum("nck,sck,c->ns", rel, model.log_emit, w)


def harmonise_beats(melody: Score | Sequence[Note], grid: BeatGrid, free: np.ndarray | None = None,
                    context_chords: Sequence[ChordLabel] | None = None, model: HarmoniserModel | None = None,
                    ) -> tuple[np.ndarray, int]:
    """(state per beat of the whole grid, tonic): the decoding ``harmonise`` cuts its region from.

    ``free`` bool (n_beats,): beats to decide; every other beat that ``context_chords`` covers is clamped to
    that chord (N.C. and uncovered beats stay free). ``free`` None = every beat. States are key-relative:
    root = (state // Q + tonic) % 12, quality = ``config.qualities[state % Q]``."""
    model = model or load()
    n = max(len(grid.beat_ticks) - 1, 0)
    feats = beat_features(*melody_arrays(melody, grid), n)
    tonic = estimate_tonic(feats[:, 0].sum(axis=0))
    scores = frame_scores(feats, tonic, model)
    if context_chords:
        given = chord_states(beat_chords(context_chords, grid, n), tonic, model.config.qualities)
        outside = np.ones(n, dtype=bool) if free is None else ~np.asarray(free, dtype=bool)
        clamp = np.flatnonzero(outside & (given >= 0))
        scores[clamp] = -np.inf
        scores[clamp, given[clamp]] = 0.0
    places = frame_places(grid, n)
    if model.config.decode == "viterbi":
        return viterbi(scores, places, model), tonic
    if model.config.decode == "posterior":
        return np.argmax(posterior(scores, places, model), axis=1), tonic
    raise HarmoniserError(f"unknown decoding {model.config.decode!r} (viterbi or posterior)")


def harmonise(melody: Score | Sequence[Note], grid: BeatGrid, start_bar: int = 0, end_bar: int | None = None,
              context_chords: Sequence[ChordLabel] | None = None, model: HarmoniserModel | None = None,
              ) -> list[ChordLabel]:
    """Chords for bars [start_bar, end_bar) of a melody, as labels in ticks of ``grid`` (repeats merged).

    ``melody``: a Score (its MELODY tracks, see ``melody_arrays``) or notes in ticks. The key comes from
    the whole melody; the whole song is decoded at once, with every beat outside the region that
    ``context_chords`` covers clamped to that chord (``harmonise_beats``), so the region's chords lead
    from and into the song's. ``end_bar`` None = the grid's last bar. ``model`` None loads the shipped
    tables (``load()``). Raises ValueError for an empty or inverted bar range; never returns N.C.
    """
    model = model or load()
    end_bar = grid.n_bars if end_bar is None else end_bar
    if not 0 <= start_bar < end_bar <= grid.n_bars:
        raise ValueError(f"bars [{start_bar}, {end_bar}) are not a region of a {grid.n_bars}-bar song")
    n = max(len(grid.beat_ticks) - 1, 0)
    lo = int(grid.bar_starts[start_bar]) // POSITIONS_PER_BEAT
    hi = min(int(np.ceil(int(grid.bar_starts[end_bar]) / POSITIONS_PER_BEAT)), n)
    free = np.zeros(n, dtype=bool)
    free[lo:hi] = True
    path, tonic = harmonise_beats(melody, grid, free, context_chords, model)
    return _labels(path[lo:hi], lo, tonic, grid, model.config.qualities)


def state_chord(state: int, tonic: int, qualities: tuple[str, ...]) -> tuple[int, str]:
    """(root, quality) of a key-relative state."""
    rel, qi = divmod(int(state), len(qualities))
    return (rel + tonic) % 12, qualities[qi]


def _labels(states: np.ndarray, first_beat: int, tonic: int, grid: BeatGrid,
            qualities: tuple[str, ...]) -> list[ChordLabel]:
    """Merge runs of one state into ChordLabels spanning their beats, in ticks."""
    out: list[ChordLabel] = []
    k = 0
    while k < len(states):
        j = k
        while j < len(states) and states[j] == states[k]:
            j += 1
        root, quality = state_chord(int(states[k]), tonic, qualities)
        t0, t1 = (int(grid.position_to_tick((first_beat + b) * POSITIONS_PER_BEAT)) for b in (k, j))
        out.append(ChordLabel(t0, t1, root, quality))
        k = j
    return out


# -- comparing chord sequences ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChordMatch:
    """Per-beat agreement of chosen chords with reference chords over a span of beats."""

    root: float  # share of the reference's chord beats whose root the chosen chord shares
    family: float  # ... whose root and major/minor family (``is_minor_family``) it shares
    tones: float  # mean share of the chosen chord's tones that are tones of the reference chord
    beats: int  # beats with a reference chord


def chord_match(chosen: Sequence[ChordLabel], reference: Sequence[ChordLabel], grid: BeatGrid,
                start_bar: int, end_bar: int) -> ChordMatch:
    """Root and family match per beat in bars [start_bar, end_bar) (as ``band_from_melody.root_match``:
    a beat counts where the reference has a chord; N.C. chosen never matches). NaN without such a beat."""
    n = max(len(grid.beat_ticks) - 1, 0)
    lo = int(grid.bar_starts[start_bar]) // POSITIONS_PER_BEAT
    hi = min(int(grid.bar_starts[end_bar]) // POSITIONS_PER_BEAT, n)
    a = beat_chords(chosen, grid, n)[lo:hi]
    b = beat_chords(reference, grid, n)[lo:hi]
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if y[0] is not None]
    if not pairs:
        return ChordMatch(float("nan"), float("nan"), float("nan"), 0)
    root = [x[0] == y[0] for x, y in pairs]
    fam = [x[0] == y[0] and is_minor_family(x[1]) == is_minor_family(y[1]) for x, y in pairs]
    tones = [0.0 if x[0] is None else len(chord_pitch_classes(x[0], x[1]) & chord_pitch_classes(y[0], y[1]))
             / len(QUALITIES[x[1]]) for x, y in pairs]
    return ChordMatch(float(np.mean(root)), float(np.mean(fam)), float(np.mean(tones)), len(pairs))


# -- files ------------------------------------------------------------------------------------------------
def save(model: HarmoniserModel, folder: str | Path) -> Path:
    """Write the tables to ``folder/harmoniser.npz`` (created); returns the file."""
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    path = d / MODEL_FILE
    meta = {"format": FORMAT, "version": VERSION, "config": asdict(model.config), "info": model.info}
    np.savez_compressed(path, meta=np.asarray(json.dumps(meta)), log_change=model.log_change,
                        log_stay=model.log_stay, log_next=model.log_next.astype(np.float32),
                        log_emit=model.log_emit.astype(np.float32), log_prior=model.log_prior)
    return path


def available() -> bool:
    """True when the shipped tables are installed (``DEFAULT_MODEL_DIR``): ``load()`` without a path works."""
    return (DEFAULT_MODEL_DIR / MODEL_FILE).is_file()


def load(path: str | Path | None = None) -> HarmoniserModel:
    """Tables from a file or a folder holding ``harmoniser.npz`` (default: the shipped ones).

    Raises HarmoniserError when the file is missing, of another format, or its shapes disagree."""
    p = Path(path) if path is not None else DEFAULT_MODEL_DIR
    if p.is_dir():
        p = p / MODEL_FILE
    if not p.is_file():
        raise HarmoniserError(f"no harmoniser tables at {p}; fit them with 'python -m engine.analysis.harmoniser fit'")
    with np.load(p, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise HarmoniserError(f"{p} is not a version-{VERSION} harmoniser table file")
        c = meta["config"]
        config = HarmoniserConfig(tuple(c["qualities"]), float(c["smoothing"]), tuple(c["emission_weight"]),
                                  tuple(c["change_places"]), str(c.get("decode", "posterior")),
                                  float(c.get("change_bias", 0.0)))
        model = HarmoniserModel(config, z["log_change"], z["log_stay"], z["log_next"].astype(np.float64),
                                z["log_emit"].astype(np.float64), z["log_prior"], meta.get("info", {}))
    s = model.n_states
    unknown = [q for q in config.qualities if q not in QUALITIES]
    if unknown or model.log_next.shape != (s, s) or model.log_emit.shape != (s, 2, 12) or model.log_prior.shape != (s,):
        raise HarmoniserError(f"{p}: tables do not match {len(config.qualities)} known qualities")
    return model


# -- command line -----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """``fit``: learn the tables from the TRAIN split of a built dataset (or raw POP909) and save them."""
    import argparse
    import time
    from dataclasses import replace

    from engine.data.harmony_corpus import corpus_songs

    ap = argparse.ArgumentParser(prog="python -m engine.analysis.harmoniser", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fit", help="learn the chord tables from annotated songs of a train split")
    src = f.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="built dataset folder: its train split's POP909 songs (MMA copies left out)")
    src.add_argument("--pop909", help="raw POP909 folder: songs whose id hashes into the train split")
    f.add_argument("--split-seed", type=int, default=0, help="with --pop909: the dataset builder's --seed")
    f.add_argument("--out", default=str(DEFAULT_MODEL_DIR))
    f.add_argument("--qualities", default=",".join(q or "maj" for q in HarmoniserConfig().qualities),
                   help="comma list of chord qualities to keep ('maj' = major triad)")
    f.add_argument("--emission-weight", default="1,0.5", help="scale of the duration and onset channels")
    f.add_argument("--decode", default="posterior", choices=("posterior", "viterbi"))
    f.add_argument("--change-places", default="all", help="'all', or 'bar' / 'half' for bar or half-bar frames")
    args = ap.parse_args(argv)
    places = {"all": PLACES, "bar": PLACES[:1], "half": PLACES[:2]}[args.change_places]
    qualities = tuple("" if q.strip() == "maj" else q.strip() for q in args.qualities.split(","))
    config = replace(HarmoniserConfig(), qualities=qualities, change_places=places, decode=args.decode,
                     emission_weight=tuple(float(x) for x in args.emission_weight.split(",")))
    t0 = time.perf_counter()
    source = {"data": args.data} if args.data else {"pop909": args.pop909, "split_seed": args.split_seed}
    songs = corpus_songs(args.data, args.pop909, "train", args.split_seed)
    model = fit(((s.melody, s.grid, s.chords) for s in songs), config, {"source": source, "split": "train"})
    path = save(model, args.out)
    print(f"fitted on {model.info['songs']} songs, {model.info['frames']} chord beats in "
          f"{time.perf_counter() - t0:.0f} s -> {path} ({path.stat().st_size / 1024:.0f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
