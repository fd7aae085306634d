"""Offline rendering, channel plan, tempo map, WAV writing and SoundFont discovery (no audio device needed)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from engine.errors import SoundFontError, StudioError
from engine.score import Note, Score, TempoChange, Track
from engine.synth import soundfont as sfmod
from engine.synth.events import DRUM_BANK, DRUM_CHANNEL, PITCHED_CHANNELS, TempoMap, assign_channels
from engine.synth.render import render_score, render_to_wav, write_wav
from engine.synth.soundfont import SynthConfig, SynthUnavailableError, find_soundfont, fluidsynth_available

REPO = Path(__file__).resolve().parents[1]
SR = 44100
TPB = 480  # at 120 BPM one second is 960 ticks
TIM = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
DRY = SynthConfig(reverb=False, chorus=False)


def rms(audio: np.ndarray, t0: float, t1: float) -> float:
    seg = audio[int(t0 * SR) : int(t1 * SR)]
    return float(np.sqrt(np.mean(seg.astype(np.float64) ** 2))) if len(seg) else 0.0


def onset(audio: np.ndarray, threshold: float = 0.01) -> float:
    """Seconds of the first frame louder than ``threshold``."""
    loud = np.flatnonzero(np.abs(audio).max(axis=1) > threshold)
    return float(loud[0]) / SR if len(loud) else float("inf")


def known_score() -> Score:
    """Piano C4 from 0 to 1 s, silence 1-2 s, a snare hit at 2 s on a drum track (120 BPM)."""
    return Score(
        ticks_per_beat=TPB,
        tracks=[
            Track("piano", program=0, notes=[Note(0, 960, 60, 100)]),
            Track("drums", is_drum=True, notes=[Note(1920, 2040, 38, 120)]),
        ],
    )


# ----- rendering -------------------------------------------------------------------------------------


def test_render_known_score_loud_where_notes_are_silent_elsewhere(sf: str) -> None:
    audio = render_score(known_score(), sf, SR)
    assert audio.dtype == np.float32 and audio.ndim == 2 and audio.shape[1] == 2
    assert np.abs(audio).max() <= 1.0
    assert rms(audio, 0.05, 0.9) > 5e-3, "the piano note should sound"
    assert rms(audio, 1.6, 1.95) < 5e-4, "silence after the piano's release tail"
    assert rms(audio, 2.0, 2.2) > 5e-3, "the drum hit should sound"


def test_duration_is_range_plus_tail(sf: str) -> None:
    score = known_score()
    audio = render_score(score, sf, SR, tail_seconds=0.5)
    expected = (score.tick_to_seconds(score.end_tick) + 0.5) * SR
    assert abs(len(audio) - expected) <= 64
    part = render_score(score, sf, SR, start_tick=480, end_tick=1440, tail_seconds=0.25)
    assert abs(len(part) - (1.0 + 0.25) * SR) <= 64


def test_range_strikes_held_notes_and_skips_notes_outside(sf: str) -> None:
    # start in the middle of the piano note: it is struck at frame 0; the drum at 2 s is outside the range
    part = render_score(known_score(), sf, SR, start_tick=480, end_tick=1440, tail_seconds=0.5, config=DRY)
    assert rms(part, 0.0, 0.4) > 5e-3
    assert rms(part, 0.8, 1.0) < 5e-4


def test_drums_use_the_drum_bank(sf: str) -> None:
    notes = [Note(i * 240, i * 240 + 120, p, 110) for i, p in enumerate((36, 38, 42, 46))]
    drums = render_score(
        Score(ticks_per_beat=TPB, tracks=[Track("kit", is_drum=True, notes=list(notes))]), sf, SR
    )
    piano = render_score(
        Score(ticks_per_beat=TPB, tracks=[Track("piano", program=0, notes=list(notes))]), sf, SR
    )
    assert rms(drums, 0.0, 0.5) > 5e-3
    assert drums.shape == piano.shape
    difference = np.linalg.norm(drums - piano) / max(np.linalg.norm(piano), 1e-9)
    assert difference > 0.5, "drum notes rendered like piano notes: the drum channel/bank is not used"


def test_mute_and_solo(sf: str) -> None:
    score = Score(
        ticks_per_beat=TPB,
        tracks=[
            Track("piano", program=0, notes=[Note(0, 480, 72, 100)]),  # 0 - 0.5 s
            Track("bass", program=33, notes=[Note(1920, 2400, 40, 110)]),  # 2 - 2.5 s
        ],
    )
    full = render_score(score, sf, SR, config=DRY)
    assert rms(full, 0.0, 0.4) > 5e-3 and rms(full, 2.0, 2.4) > 5e-3
    muted = render_score(score, sf, SR, muted={0}, config=DRY)
    assert rms(muted, 0.0, 1.5) < 1e-4 and rms(muted, 2.0, 2.4) > 5e-3
    solo = render_score(score, sf, SR, solo={0}, config=DRY)
    assert rms(solo, 0.0, 0.4) > 5e-3 and rms(solo, 2.0, 3.0) < 1e-4
    both = render_score(score, sf, SR, muted={0}, solo={0}, config=DRY)  # mute wins over solo
    assert np.abs(both).max() < 1e-3


def test_tempo_change_moves_later_notes(sf: str) -> None:
    # 120 BPM, then 240 BPM from tick 960 (1.0 s): tick 1920 is at 1.5 s (it would be 2.0 s at 120 BPM)
    score = Score(
        ticks_per_beat=TPB,
        tracks=[Track("piano", notes=[Note(1920, 2400, 64, 110)])],
        tempos=[TempoChange(0, 120.0), TempoChange(960, 240.0)],
    )
    assert score.tick_to_seconds(1920) == pytest.approx(1.5)
    audio = render_score(score, sf, SR, config=DRY)
    assert onset(audio) == pytest.approx(1.5, abs=0.01)
    assert abs(len(audio) - (score.tick_to_seconds(2400) + 1.0) * SR) <= 64


def test_render_empty_score_is_silent_tail(sf: str) -> None:
    audio = render_score(Score(), sf, SR, tail_seconds=0.2)
    assert audio.shape == (int(0.2 * SR), 2) and np.abs(audio).max() < 1e-3


def test_bad_range_raises(sf: str) -> None:
    with pytest.raises(ValueError):
        render_score(known_score(), sf, SR, start_tick=500, end_tick=100)


# ----- WAV ---------------------------------------------------------------------------------------------


def test_render_to_wav_readable_and_atomic(sf: str, tmp_path: Path) -> None:
    out = tmp_path / "song.wav"
    out.write_bytes(b"old contents")
    render_to_wav(known_score(), out, sf, sample_rate=22050, tail_seconds=0.5)
    with wave.open(str(out), "rb") as wav:
        assert wav.getnchannels() == 2
        assert wav.getsampwidth() == 2
        assert wav.getframerate() == 22050
        frames = wav.getnframes()
        data = np.frombuffer(wav.readframes(frames), dtype="<i2")
    assert abs(frames - 2.125 * 22050 - 0.5 * 22050) <= 64
    assert np.abs(data).max() > 1000
    assert [p.name for p in tmp_path.iterdir()] == ["song.wav"], "temporary file left behind"


def test_write_wav_mono_and_clipping(tmp_path: Path) -> None:
    path = write_wav(np.array([0.0, 0.5, 2.0, -2.0], dtype=np.float32), tmp_path / "m.wav", 8000)
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 1
        values = np.frombuffer(wav.readframes(4), dtype="<i2").tolist()
    assert values == [0, 16384, 32767, -32767]


def test_write_wav_error_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(StudioError):
        write_wav(np.zeros((10, 2), np.float32), tmp_path / "missing-dir" / "x.wav", SR)
    assert list(tmp_path.iterdir()) == []


# ----- channel plan and tempo map ------------------------------------------------------------------------


def _tracks(programs: list[int], drums: int = 0) -> list[Track]:
    out = [Track(f"t{i}", program=p, notes=[Note(0, 10, 60)]) for i, p in enumerate(programs)]
    out += [Track(f"d{i}", is_drum=True, program=0, notes=[Note(0, 10, 36)]) for i in range(drums)]
    return out


def test_channel_plan_one_channel_per_track_and_drums_on_9() -> None:
    tracks = _tracks(list(range(15)), drums=2)
    tracks.insert(3, Track("empty", program=5))
    plan = assign_channels(tracks)
    pitched = [c for t, c in zip(tracks, plan.track_channel, strict=True) if not t.is_drum and t.notes]
    assert sorted(pitched) == sorted(PITCHED_CHANNELS)
    assert plan.track_channel[3] is None
    assert plan.track_channel[-1] == plan.track_channel[-2] == DRUM_CHANNEL
    assert plan.channel_program[DRUM_CHANNEL] == (DRUM_BANK, 0)
    assert plan.mismatched_tracks == ()


def test_channel_plan_many_tracks_share_by_program() -> None:
    plan = assign_channels(_tracks([0, 33, 48, 0, 33, 48] * 4))  # 24 tracks, 3 programs
    assert len(set(plan.track_channel)) == 3 and plan.mismatched_tracks == ()
    assert all(bank == 0 for bank, _ in plan.channel_program.values())
    assert plan.track_channel[0] == plan.track_channel[3]


def test_channel_plan_too_many_programs_round_robin() -> None:
    plan = assign_channels(_tracks(list(range(20))))
    assert set(plan.track_channel) == set(PITCHED_CHANNELS)
    assert plan.mismatched_tracks == tuple(range(15, 20))
    assert DRUM_CHANNEL not in plan.track_channel


def test_tempo_map_matches_score() -> None:
    rng = random.Random(7)
    for _ in range(20):
        tempos = [TempoChange(rng.choice([0, 0, 100, 333]), rng.uniform(40, 200))]
        tempos += [
            TempoChange(rng.randrange(0, 20000), rng.uniform(40, 200)) for _ in range(rng.randrange(0, 6))
        ]
        score = Score(ticks_per_beat=rng.choice([96, 480, 960]), tempos=tempos)
        ticks = [rng.randrange(0, 30000) for _ in range(50)] + [t.tick for t in tempos]
        got = TempoMap(score).to_seconds(np.array(ticks))
        want = [score.tick_to_seconds(t) for t in ticks]
        assert np.allclose(got, want, rtol=0, atol=1e-9)
        for t in ticks[:10]:
            assert TempoMap(score).to_ticks(score.tick_to_seconds(t)) == pytest.approx(t, abs=1e-6)


# ----- discovery and missing dependencies -----------------------------------------------------------------


def test_find_soundfont_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a.sf2", tmp_path / "b.sf2"
    for p in (a, b):
        p.write_bytes(b"RIFF\x00\x00\x00\x00sfbk" + b"\x00" * 20)
    monkeypatch.setenv(sfmod.ENV_VAR, str(b))
    assert find_soundfont(str(a)) == a.resolve()
    assert find_soundfont() == b.resolve()
    monkeypatch.delenv(sfmod.ENV_VAR)
    monkeypatch.setattr(sfmod, "SYSTEM_SOUNDFONTS", (tmp_path / "none.sf2", a))
    assert find_soundfont() == a.resolve()


def test_missing_soundfont_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sfmod.ENV_VAR, raising=False)
    monkeypatch.setattr(sfmod, "SYSTEM_SOUNDFONTS", (tmp_path / "FluidR3_GM.sf2",))
    monkeypatch.setattr(sfmod, "pretty_midi_soundfont", lambda: None)
    with pytest.raises(SoundFontError, match="apt-get install fluid-soundfont-gm"):
        find_soundfont()
    with pytest.raises(SoundFontError, match="does not exist"):
        find_soundfont(str(tmp_path / "nope.sf2"))
    if fluidsynth_available()[0]:  # without the library, that error comes first (tested below)
        with pytest.raises(SoundFontError, match="fluid-soundfont-gm"):
            render_score(known_score())


def test_not_a_soundfont(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"MThd not a soundfont")
    with pytest.raises(SoundFontError, match="not a SoundFont"):
        find_soundfont(str(bad))


def test_missing_libfluidsynth_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-import pyfluidsynth with the library search failing, as on a machine without libfluidsynth3."""
    import ctypes.util

    monkeypatch.delitem(sys.modules, "fluidsynth", raising=False)
    monkeypatch.delenv("HOMEBREW_PREFIX", raising=False)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    with pytest.raises(SynthUnavailableError, match="libfluidsynth3"):
        sfmod.import_fluidsynth()
    ok, reason = fluidsynth_available()
    assert not ok and "libfluidsynth3" in reason
    with pytest.raises(SoundFontError, match="libfluidsynth3"):
        render_score(known_score(), str(TIM))
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # the Python binding itself missing
    with pytest.raises(SynthUnavailableError, match="pyfluidsynth"):
        sfmod.import_fluidsynth()


def test_importing_the_package_loads_no_audio_library() -> None:
    code = "import sys, engine.synth; print('fluidsynth' in sys.modules, 'sounddevice' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_wav_files_get_normal_permissions(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        out = write_wav(np.zeros((100, 2), dtype=np.float32), tmp_path / "quiet.wav")
        assert stat.S_IMODE(out.stat().st_mode) == 0o644
    finally:
        os.umask(old)
