"""The learned melody harmoniser (issue 16): hand-made songs where the right chords are obvious, models that
must get them and wrong models that must not, transposition, context clamping and the table file."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.analysis import harmoniser as H
from engine.analysis.grid import beat_grid
from engine.score import ChordLabel, Note, Score, Track

BAR = 1920  # 4/4 at 480 ticks per beat
MAJOR, MINOR = (0, 4, 7), (0, 3, 7)
# Diatonic progressions as (degree above the tonic, quality) per bar: the tiny training corpus.
PROGRESSIONS = [
    [(0, ""), (9, "m"), (5, ""), (7, "")],  # I vi IV V
    [(0, ""), (7, ""), (9, "m"), (5, "")],  # I V vi IV
    [(9, "m"), (5, ""), (0, ""), (7, "")],  # vi IV I V
    [(5, ""), (7, ""), (4, "m"), (9, "m")],  # IV V iii vi
    [(2, "m"), (7, ""), (0, ""), (0, "")],  # ii V I I
]
PATTERNS = [(0, 1, 2, 3), (2, 1, 0, 1), (1, 2, 3, 2), (0, 2, 1, 0)]  # chord-tone orders per bar (3 = octave)


def arpeggio(chords: list[tuple[int, str]], pattern: tuple[int, ...] = (0, 1, 2, 3), base: int = 60,
             skip_bars: tuple[int, ...] = ()) -> list[Note]:
    """One quarter note per beat on the chord tones of each bar's chord (root, third, fifth, octave)."""
    notes = []
    for b, (root, quality) in enumerate(chords):
        if b in skip_bars:
            continue
        tones = [base + root + i for i in (MAJOR if quality == "" else MINOR)] + [base + root + 12]
        for k, idx in enumerate(pattern):
            t = b * BAR + k * 480
            notes.append(Note(t, t + 440, tones[idx]))
    return notes


def song(chords: list[tuple[int, str]], notes: list[Note]) -> tuple[Score, list[ChordLabel]]:
    score = Score(tracks=[Track("Melody", 73, False, notes, category="MELODY")], length=len(chords) * BAR)
    labels = [ChordLabel(b * BAR, (b + 1) * BAR, r, q) for b, (r, q) in enumerate(chords)]
    return score, labels


def corpus(shift: int = 0) -> list[tuple[Score, object, list[ChordLabel]]]:
    """Songs in five keys, each progression played twice with two melody patterns; chord labels moved
    ``shift`` semitones from what the melody outlines (a corpus that teaches wrong chords when not 0)."""
    out = []
    for key in (0, 2, 5, 7, 9):
        for p, prog in enumerate(PROGRESSIONS):
            chords = [((key + d) % 12, q) for d, q in prog] * 2
            notes = arpeggio(chords[:4], PATTERNS[p % 4]) + [replace(n, start=n.start + 4 * BAR, end=n.end + 4 * BAR)
                                                            for n in arpeggio(chords[4:], PATTERNS[(p + 1) % 4])]
            score, labels = song(chords, notes)
            moved = [replace(c, root=(c.root + shift) % 12) for c in labels]
            out.append((score, beat_grid(score), moved))
    return out


CONFIG = H.HarmoniserConfig(qualities=("", "m", "7"))
C_AM_F_G = [(0, ""), (9, "m"), (5, ""), (7, "")]


@pytest.fixture(scope="module")
def model() -> H.HarmoniserModel:
    return H.fit(corpus(), CONFIG)


def bar_chords(labels: list[ChordLabel], n_bars: int) -> list[tuple[int | None, str]]:
    """The chord sounding at the middle of each bar (ticks of a 4/4, 480-tick grid)."""
    out = []
    for b in range(n_bars):
        t = b * BAR + BAR // 2
        hit = [(c.root, c.quality) for c in labels if c.start <= t < c.end]
        out.append(hit[0] if hit else (None, ""))
    return out


def test_arpeggios_get_their_chords(model: H.HarmoniserModel) -> None:
    score, _ = song(C_AM_F_G, arpeggio(C_AM_F_G))
    assert bar_chords(H.harmonise(score, beat_grid(score), model=model), 4) == C_AM_F_G


def test_viterbi_decoding_gets_them_too(model: H.HarmoniserModel) -> None:
    score, _ = song(C_AM_F_G, arpeggio(C_AM_F_G))
    vit = replace(model, config=replace(model.config, decode="viterbi"))
    assert bar_chords(H.harmonise(score, beat_grid(score), model=vit), 4) == C_AM_F_G


def test_a_model_taught_wrong_chords_fails() -> None:
    """Fitted on labels a whole tone above the melody's chords, it answers D Bm G A: the test above can
    tell a wrong model from a right one."""
    wrong = H.fit(corpus(shift=2), CONFIG)
    score, _ = song(C_AM_F_G, arpeggio(C_AM_F_G))
    got = bar_chords(H.harmonise(score, beat_grid(score), model=wrong), 4)
    assert got != C_AM_F_G
    assert got == [(2, ""), (11, "m"), (7, ""), (9, "")]


def test_flat_emissions_ignore_the_melody(model: H.HarmoniserModel) -> None:
    deaf = replace(model, log_emit=np.full_like(model.log_emit, -np.log(12)))
    score, _ = song(C_AM_F_G, arpeggio(C_AM_F_G))
    assert bar_chords(H.harmonise(score, beat_grid(score), model=deaf), 4) != C_AM_F_G


@pytest.mark.parametrize("shift", [1, 5, 7, 10])
def test_transposing_the_melody_transposes_the_chords(model: H.HarmoniserModel, shift: int) -> None:
    score, _ = song(C_AM_F_G, arpeggio(C_AM_F_G))
    moved, _ = song(C_AM_F_G, [replace(n, pitch=n.pitch + shift) for n in arpeggio(C_AM_F_G)])
    a = H.harmonise(score, beat_grid(score), model=model)
    b = H.harmonise(moved, beat_grid(moved), model=model)
    assert [(c.start, c.end, (c.root + shift) % 12, c.quality) for c in a] == [(c.start, c.end, c.root, c.quality) for c in b]


def test_context_chords_are_clamped_outside_the_region(model: H.HarmoniserModel) -> None:
    """Bars 0-1 and 6-7 given as Dm (against a melody saying C Am): they stay Dm; the region's silent
    bars 2-3 lead from the context's Dm to the sung C as the corpus's ii-V-I does (G), which they do not
    without the context; its sung bars 4-5 follow their melody."""
    chords = C_AM_F_G * 2
    score, _ = song(chords, arpeggio(chords, skip_bars=(2, 3)))
    grid = beat_grid(score)
    context = [ChordLabel(0, 8 * BAR, 2, "m")]
    free = np.zeros(32, dtype=bool)
    free[8:24] = True
    path, tonic = H.harmonise_beats(score, grid, free, context, model)
    beats = [H.state_chord(s, tonic, model.config.qualities) for s in path]
    assert all(beats[k] == (2, "m") for k in range(32) if not free[k])
    region = bar_chords(H.harmonise(score, grid, 2, 6, context, model), 8)
    assert region[2:6] == [(7, ""), (7, ""), (0, ""), (9, "m")]
    assert region[:2] == region[6:] == [(None, "")] * 2  # only the region's labels come back
    free_run = bar_chords(H.harmonise(score, grid, 2, 6, None, model), 8)
    assert free_run[4:6] == [(0, ""), (9, "m")]
    assert free_run[2:4] != region[2:4]


def test_chord_match_counts_roots_families_and_shared_tones() -> None:
    score, truth = song(C_AM_F_G, arpeggio(C_AM_F_G))
    grid = beat_grid(score)
    chosen = [ChordLabel(0, BAR, 0, ""), ChordLabel(BAR, 2 * BAR, 0, ""), ChordLabel(2 * BAR, 3 * BAR, 5, "m")]
    m = H.chord_match(chosen, truth, grid, 0, 4)
    assert m.beats == 16
    assert m.root == pytest.approx(8 / 16)  # C right, C for Am wrong, Fm root right, nothing in bar 4
    assert m.family == pytest.approx(4 / 16)
    assert m.tones == pytest.approx((4 * 1 + 4 * 2 / 3 + 4 * 2 / 3 + 0) / 16)


def test_region_bounds_are_checked(model: H.HarmoniserModel) -> None:
    score, _ = song(C_AM_F_G, arpeggio(C_AM_F_G))
    with pytest.raises(ValueError):
        H.harmonise(score, beat_grid(score), 3, 3, model=model)


def test_table_file_round_trips(model: H.HarmoniserModel, tmp_path) -> None:  # noqa: ANN001
    path = H.save(model, tmp_path / "tables")
    back = H.load(path.parent)
    assert back.config == model.config
    for name in ("log_change", "log_stay", "log_prior"):
        np.testing.assert_allclose(getattr(back, name), getattr(model, name))
    np.testing.assert_allclose(back.log_emit, model.log_emit, rtol=1e-5)
    score, _ = song(C_AM_F_G, arpeggio(C_AM_F_G))
    grid = beat_grid(score)
    assert H.harmonise(score, grid, model=back) == H.harmonise(score, grid, model=model)


def test_bad_table_files_are_refused(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(H.HarmoniserError):
        H.load(tmp_path / "missing")
    np.savez(tmp_path / "other.npz", meta=np.asarray('{"format": "something else"}'))
    with pytest.raises(H.HarmoniserError):
        H.load(tmp_path / "other.npz")


def test_key_estimate_reads_minor_as_relative_major() -> None:
    c_major = np.zeros(12)
    c_major[[0, 2, 4, 5, 7, 9, 11]] = [4, 1, 2, 1, 3, 1, 1]
    assert H.estimate_tonic(c_major) == 0
    a_minor = np.zeros(12)
    a_minor[[9, 11, 0, 2, 4, 5, 7]] = [4, 1, 2, 1, 3, 1, 1]
    assert H.estimate_tonic(a_minor) == 0


def test_frame_places_of_a_four_four_grid() -> None:
    score, _ = song(C_AM_F_G, arpeggio(C_AM_F_G))
    assert H.frame_places(beat_grid(score), 8).tolist() == [0, 2, 1, 2, 0, 2, 1, 2]


def test_shipped_tables_harmonise_the_arpeggios() -> None:
    """The tables in resources/models/harmoniser, learned from POP909, on the obvious case."""
    if not (H.DEFAULT_MODEL_DIR / H.MODEL_FILE).is_file():
        pytest.skip(f"no shipped harmoniser tables at {H.DEFAULT_MODEL_DIR}")
    chords = C_AM_F_G * 2
    score, _ = song(chords, arpeggio(chords))
    assert [(r, q[:1]) for r, q in bar_chords(H.harmonise(score, beat_grid(score)), 8)] == \
           [(r, q[:1]) for r, q in chords]


def test_pop909_folder_split_is_the_builders(pop909_root) -> None:  # noqa: ANN001
    from itertools import islice

    from engine.data.harmony_corpus import pop909_folder_songs
    from engine.data.split import split_of

    songs = list(islice(pop909_folder_songs(pop909_root, "test"), 3))
    assert songs and all(split_of(s.song_id, 0) == "test" and s.chords and s.melody.tracks for s in songs)


def test_a_band_for_a_bare_melody_is_generated_on_the_harmonisers_chords(monkeypatch) -> None:  # noqa: ANN001
    """infill: a band added to a melody without chords is conditioned on the harmoniser's chords (not the
    detector's, not the network's), and the song's own chords (its file's markers) stay as they were."""
    import engine.representation.encode as encode_module
    from engine.infill import infill
    from engine.representation.masks import Selection
    from tests.model_fixtures import plausible_model

    chords = [(0, ""), (9, "m"), (5, ""), (7, "")] * 2
    score, _ = song(chords, arpeggio(chords[:4]) + [replace(n, start=n.start + 4 * BAR, end=n.end + 4 * BAR)
                                                     for n in arpeggio(chords[4:])])
    expected = H.harmonise(score, beat_grid(score), 2, 6)
    monkeypatch.setattr(encode_module, "_score_chords", lambda *_: pytest.fail("the detector ran on the melody"))
    seen: list[list[ChordLabel]] = []
    real = encode_module.encode

    def spy(s, *args, **kwargs):  # noqa: ANN001, ANN202
        seen.append(list(kwargs.get("chords") or []))
        return real(s, *args, **kwargs)

    monkeypatch.setattr(encode_module, "encode", spy)
    out = infill(score, Selection(2, 6, (), new_tracks=("PIANO",)), model=plausible_model(), seed=1, steps=2)[0]
    assert out.chords == []  # the song's chords stay as they were: no markers added to its file
    assert seen and all(s == seen[0] for s in seen)  # every window is encoded on the same chords
    inside = [(c.start, c.end, c.root, c.quality) for c in seen[0] if 2 * BAR <= c.start < 6 * BAR]
    assert inside == [(c.start, c.end, c.root, c.quality) for c in expected]  # the region's chords, as decoded
    assert [x[2:] for x in inside] == [(5, ""), (7, ""), (0, ""), (9, "m")]  # F G C Am
    assert [(c.root, c.quality) for c in seen[0] if c.start < 2 * BAR or c.start >= 6 * BAR] == \
        [(0, ""), (9, "m"), (5, ""), (7, "")]  # around it: what the chord lane shows for the melody
    assert out.tracks[0].notes == score.tracks[0].notes and len(out.tracks) == 2


def test_the_chord_lane_suggests_the_harmonisers_chords_for_a_melody_alone() -> None:
    """What the lane shows and Detect Chords fills in: the harmoniser for a melody alone (one chord per cell
    at bar resolution, the lane's chords outside the span kept), the detector once a band plays."""
    from app.chord_lane import detect_in_span
    from engine.representation.chord_source import suggested_chords

    chords = [(0, ""), (9, "m"), (5, ""), (7, "")] * 2
    score, labels = song(chords, arpeggio(chords[:4]) + [replace(n, start=n.start + 4 * BAR, end=n.end + 4 * BAR)
                                                          for n in arpeggio(chords[4:])])
    grid = beat_grid(score)
    shown, source = suggested_chords(score, grid)
    assert source == "harmoniser" and [(c.root, c.quality) for c in shown] == [(r, q) for r, q in chords]
    lane = [ChordLabel(0, 8 * BAR, 2, "m")]  # whatever the user had: Dm everywhere
    filled = detect_in_span(score, grid, lane, 2 * BAR, 4 * BAR, "bar")
    assert [(c.start, c.end, c.root, c.quality) for c in filled] == [
        (0, 2 * BAR, 2, "m"), (2 * BAR, 3 * BAR, 5, ""), (3 * BAR, 4 * BAR, 7, ""), (4 * BAR, 8 * BAR, 2, "m")]
    piano = Track("Piano", 0, False, [Note(b * BAR, (b + 1) * BAR, 48 + 2 + i) for b in range(8) for i in (0, 3, 7)])
    banded = replace(score, tracks=[*score.tracks, piano])  # a band plays D minor: the detector reads it
    shown, source = suggested_chords(banded, grid)
    assert source == "detected" and {(c.root, c.quality) for c in shown if c.root is not None} == {(2, "m")}
