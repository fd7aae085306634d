"""The command line: each subcommand on small files the tests write; errors exit non-zero in one line."""

from __future__ import annotations

import pytest

from engine.analysis.categories import CATEGORIES, DEFAULT_PROGRAM, program_category
from engine.cli import main
from engine.midi_io import read_midi
from engine.model.checkpoint import save_checkpoint
from tests.midi_fixtures import pop_band, write
from tests.model_fixtures import plausible_model


@pytest.fixture()
def song(tmp_path):
    return write(pop_band(8), tmp_path, "band.mid")


@pytest.fixture()
def tiny_model(tmp_path):
    return save_checkpoint(tmp_path / "tiny", plausible_model().model)


def test_default_programs_stay_in_their_category():
    for c in CATEGORIES:
        if c not in ("MELODY", "DRUMS"):
            assert program_category(DEFAULT_PROGRAM[c]) == c


def test_analyze_prints_tracks_tempo_melody_and_chords(song, capsys):
    assert main(["analyze", str(song)]) == 0
    out = capsys.readouterr().out
    assert "5 tracks, 280 notes, 8 bars" in out
    assert "andante" in out and "melody track: 1" in out
    assert "bar   1: C" in out and "bar   3: Am" in out


def test_infill_writes_one_file_per_variation_and_keeps_the_rest(song, tiny_model, tmp_path, capsys):
    out = tmp_path / "new.mid"
    rc = main(["infill", str(song), "--bars", "3-6", "--tracks", "bass,4", "--instruments", "bass,brass",
               "--variations", "2", "--seed", "1", "--model", str(tiny_model), "-o", str(out)])
    assert rc == 0
    files = [tmp_path / "new-1.mid", tmp_path / "new-2.mid"]
    assert capsys.readouterr().out.split() == [str(f) for f in files]
    original = read_midi(song)
    for f in files:
        result = read_midi(f)
        assert [t.name for t in result.tracks][-1] == "Brass"  # brass was not in the song: a new track
        for t in (0, 1, 4):
            assert result.tracks[t].notes == original.tracks[t].notes


def test_infill_refuses_to_overwrite(song, tiny_model, capsys):
    assert main(["infill", str(song), "--model", str(tiny_model), "-o", str(song)]) == 1
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bars", "3-60"], "the song has 8 bars"),
        (["--bars", "x"], "range like 9-12"),
        (["--tracks", "viola"], "no track 'viola'"),
        (["--instruments", "kazoo"], "unknown instrument category"),
        (["--novelty", "2"], "novelty must be between 0 and 1"),
    ],
)
def test_infill_bad_arguments(song, tiny_model, tmp_path, capsys, args, message):
    assert main(["infill", str(song), "--model", str(tiny_model), "-o", str(tmp_path / "o.mid"), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_missing_model_is_a_clear_error(song, tmp_path, capsys):
    assert main(["infill", str(song), "--model", str(tmp_path / "none"), "-o", str(tmp_path / "o.mid")]) == 1
    assert "no model found" in capsys.readouterr().err


def test_corrupt_midi_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd garbage")
    assert main(["analyze", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: bad.mid") and err.count("\n") == 1


def test_render_writes_a_wav(song, tmp_path):
    pytest.importorskip("fluidsynth", reason="pyfluidsynth / libfluidsynth3 not installed")
    from engine.errors import SoundFontError
    from engine.synth import find_soundfont

    try:
        find_soundfont()
    except SoundFontError as exc:
        pytest.skip(str(exc))
    out = tmp_path / "band.wav"
    assert main(["render", str(song), "-o", str(out)]) == 0
    assert out.stat().st_size > 44100 * 2 * 2 * 10  # > 10 s of 16-bit stereo: the song is 19 s


def test_infill_keeps_every_event_outside_the_region_and_prints_load_warnings(tiny_model, tmp_path, capsys):
    from engine.midi_compare import Region, compare_outside
    from tests import midi_kinds as kinds

    src = tmp_path / "karaoke.mid"
    src.write_bytes(kinds.karaoke())
    out = tmp_path / "out.mid"
    assert main(["infill", str(src), "--bars", "2-3", "--tracks", "1", "--model", str(tiny_model), "-o", str(out)]) == 0
    part = read_midi(src).tracks[0].source
    region = Region(part[0], part[1], kinds.BAR - 30, 3 * kinds.BAR - 30)
    cmp = compare_outside(src.read_bytes(), out.read_bytes(), [region])
    assert cmp.ok, cmp.summary()

    odd = tmp_path / "odd.mid"
    odd.write_bytes(kinds.odd_events())
    assert main(["render", str(odd), "-o", str(tmp_path / "odd.wav")]) in (0, 1)  # no synth is fine here
    assert "warning: odd.mid:" in capsys.readouterr().err


def _track_chunks(data: bytes) -> list[bytes]:
    from engine.smf import parse_smf

    parsed = parse_smf(data)
    return [parsed.chunks[i][1] for i in parsed.track_chunk]


def test_add_creates_new_tracks_and_leaves_every_existing_track_byte_for_byte(song, tiny_model, tmp_path, capsys):
    out = tmp_path / "added.mid"
    assert main(["infill", str(song), "--add", "strings,drums", "--bars", "3-6", "--model", str(tiny_model), "-o", str(out)]) == 0
    before, after = _track_chunks(song.read_bytes()), _track_chunks(out.read_bytes())
    assert after[: len(before)] == before and len(after) == len(before) + 2
    result = read_midi(out)
    assert [t.name for t in result.tracks][-2:] == ["Strings", "Drums"]


def test_chords_set_the_regions_chords_and_are_written_as_markers(song, tiny_model, tmp_path):
    out = tmp_path / "chords.mid"
    assert main(["infill", str(song), "--tracks", "2", "--bars", "3-6", "--chords", "Eb Bb Cm Ab",
                 "--model", str(tiny_model), "-o", str(out)]) == 0
    result = read_midi(out)
    region = [c for c in result.chords if 2 * 1920 <= c.start < 6 * 1920]
    assert [(c.start, c.root, c.quality) for c in region] == [(3840, 3, ""), (5760, 10, ""), (7680, 0, "m"), (9600, 8, "")]
    assert result.chords == region  # the detected chords the model was given elsewhere are not written as markers


def test_extend_adds_bars_and_generates_them(song, tiny_model, tmp_path):
    out = tmp_path / "longer.mid"
    assert main(["infill", str(song), "--extend", "4", "--tracks", "1,3", "--model", str(tiny_model), "-o", str(out)]) == 0
    original, result = read_midi(song), read_midi(out)
    assert max(n.start for t in result.tracks for n in t.notes) >= 8 * 1920  # something was written in bars 9-12
    for t in range(len(original.tracks)):
        assert [n for n in result.tracks[t].notes if n.start < 8 * 1920] == original.tracks[t].notes


@pytest.mark.parametrize("args, message", [
    (["--chords", "C Q"], "unknown chord"),
    (["--add", "kazoo"], "--add"),
    (["--bars", "9-12"], "--extend N adds bars"),
])
def test_add_chords_extend_errors_are_one_line(song, tiny_model, tmp_path, capsys, args, message):
    assert main(["infill", str(song), "--model", str(tiny_model), "-o", str(tmp_path / "x.mid"), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_track_name_shared_by_two_tracks_is_refused_with_the_matches(tmp_path, capsys):
    """Issue 18, item 14: --tracks "MIDI 02" matched two tracks and silently regenerated both."""
    from dataclasses import replace

    score = pop_band(4)
    score = replace(score, tracks=[replace(t, name="MIDI 02") if i in (1, 4) else t for i, t in enumerate(score.tracks)])
    src = write(score, tmp_path, "dup.mid")
    assert main(["infill", str(src), "--model", str(tmp_path / "none"), "--tracks", "MIDI 02", "-o", str(tmp_path / "o.mid")]) == 1
    err = capsys.readouterr().err
    assert "names 2 tracks (2:MIDI 02, 5:MIDI 02)" in err and "--tracks 2" in err and err.count("\n") == 1


def test_meter_and_a_pop909_beat_map_put_the_bar_grid_right(tmp_path, capsys):
    """Issue 18, item 16: a file declaring 2/4 for a 4/4 song (C G Am F, one chord a bar) numbers its bars
    twice as fast until its grid is put right, by --meter or by a POP909 beat map beside it."""
    import re
    from dataclasses import replace

    from engine.score import TimeSignature

    def analyze(*extra):
        assert main(["analyze", str(src), *extra]) == 0
        out = capsys.readouterr().out
        return out, int(re.search(r"(\d+) bars", out).group(1))

    score = replace(pop_band(8), time_signatures=[TimeSignature(0, 2, 4)])
    folder = tmp_path / "001"
    folder.mkdir()
    src = write(score, folder, "001.mid")
    out, bars = analyze()
    assert bars == 16 and "bar   3: G" in out  # the wrong declared meter: bar 3 is the second chord
    out, bars = analyze("--meter", "4/4")
    assert bars in (8, 9) and "bar   3: Am" in out  # (a beat map's grid runs one beat past the last note)
    from engine.analysis.grid import beat_grid
    from engine.analysis.meter import with_meter

    analyze("--meter", "4/4", "--downbeat", "2")
    pickup = beat_grid(with_meter(score, 4, 4, first_downbeat=480))
    assert pickup.bar_starts[:3].tolist() == [0, 8, 40]  # one beat of pickup, then 4/4 bars (in 32nds)
    waltz = beat_grid(with_meter(score, 3, 4))
    assert waltz.bar_starts[:3].tolist() == [0, 24, 48]
    # A POP909 beat map beside the file: seconds, beat number, downbeat flag (100 BPM: 0.6 s a beat).
    rows = [f"{0.6 * i:.3f} {i % 4 + 1} {1.0 if i % 4 == 0 else 0.0}" for i in range(33)]
    (folder / "beat_midi.txt").write_text("\n".join(rows))
    out, bars = analyze()
    assert bars in (8, 9) and "bar   3: Am" in out
    assert main(["analyze", str(src), "--meter", "5"]) == 1
    assert "4/4" in capsys.readouterr().err


def test_infill_at_novelty_0_plays_each_part_s_repeat(song, tiny_model, tmp_path):
    """--novelty 0: the drums of bars 5-6 are the groove the song plays around them, note for note."""
    out = tmp_path / "kept.mid"
    assert main(["infill", str(song), "--bars", "5-6", "--tracks", "drums", "--novelty", "0", "--model", str(tiny_model),
                 "-o", str(out)]) == 0
    original, result = read_midi(song), read_midi(out)
    drums = next(t for t, tr in enumerate(original.tracks) if tr.is_drum)

    def bar(score, b):  # noqa: ANN001, ANN202
        return sorted((n.start - b * 1920, n.pitch) for n in score.tracks[drums].notes if b * 1920 <= n.start < (b + 1) * 1920)

    assert bar(result, 4) and bar(result, 4) in [bar(original, b) for b in range(8) if b not in (4, 5)]
    assert bar(result, 5) in [bar(original, b) for b in range(8) if b not in (4, 5)]


def test_infill_progress_is_one_line_per_step_when_redirected() -> None:
    """A log of a redirected run read "sampling 1/10sampling 2/10..." (a fresh-user run)."""
    import io

    from engine.cli import _progress_printer

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    log, tty = io.StringIO(), Terminal()
    for stream in (log, tty):
        progress = _progress_printer(stream)
        progress(1, 2)
        progress(2, 2)
    assert log.getvalue().splitlines() == ["sampling 1/2", "sampling 2/2"]
    assert tty.getvalue() == "\rsampling 1/2\rsampling 2/2"  # a terminal: one line rewritten in place
