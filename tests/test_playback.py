"""Live playback: the callback logic in-process (driven by hand, no device), then a real PortAudio stream on
ALSA's null device in a subprocess, and audio_available() without devices.

PortAudio reads the ALSA configuration once per process, so anything that depends on ~/.asoundrc runs in
a child Python with HOME pointing at a temporary folder. On a null device the callback runs as fast as the
CPU allows: assertions are on callback counters and positions, never on wall time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from engine.errors import AudioUnavailableError
from engine.score import Note, Score, TempoChange, Track
from engine.synth import playback
from engine.synth.playback import Player, PlayerConfig, audio_available
from engine.synth.probe import probe_score
from engine.synth.render import render_score
from engine.synth.soundfont import SynthConfig

REPO = Path(__file__).resolve().parents[1]
SR = 44100
BLOCK = 256


class _Stop(Exception):
    pass


class _Status:
    output_underflow = False


def _start(player: Player, from_tick: int = 0) -> None:
    """Put the player in the playing state without a stream, so blocks can be pulled by hand."""
    player.prepare()
    player._sd = types.SimpleNamespace(CallbackStop=_Stop)
    with player._lock:
        player._seek(player._sched.tick_to_frame(from_tick))
        player._running = True


def _pull(player: Player, blocks: int, block: int = BLOCK) -> tuple[np.ndarray, bool]:
    """Call the audio callback ``blocks`` times; the concatenated output and whether it asked to stop."""
    out = []
    for _ in range(blocks):
        buf = np.full((block, 2), np.nan, dtype=np.float32)
        try:
            player._callback(buf, block, None, _Status())
        except _Stop:
            out.append(buf)
            return np.concatenate(out), True
        out.append(buf)
    return np.concatenate(out), False


def _rms(audio: np.ndarray, t0: float, t1: float) -> float:
    seg = audio[int(t0 * SR) : int(t1 * SR)]
    return float(np.sqrt(np.mean(seg.astype(np.float64) ** 2)))


# ----- callback logic, in-process ------------------------------------------------------------------------


def test_live_output_equals_offline_render(sf: str) -> None:
    """Sample-accurate scheduling: the blocks the callback produces are the offline render, sample for sample."""
    score = probe_score(bars=2)
    config = PlayerConfig(tail_seconds=0.5)
    player = Player(score, sf, config)
    try:
        _start(player)
        live, stopped = _pull(player, 10_000)
    finally:
        player.close()
    offline = render_score(score, sf, SR, tail_seconds=0.5, config=config.synth)
    assert stopped, "the stream should stop by itself after the tail"
    assert not np.isnan(live).any()
    assert len(live) - len(offline) in range(0, BLOCK), "live length = song + tail, rounded up to a block"
    assert np.array_equal(live[: len(offline)], offline)
    assert not live[len(offline) :].any()
    assert player.stats.callbacks == -(-len(offline) // BLOCK)


def test_loop_mute_and_position(sf: str) -> None:
    score = probe_score(bars=4)
    player = Player(score, sf, PlayerConfig(synth=SynthConfig(reverb=False, chorus=False)))
    try:
        player.set_loop(0, 1920)  # bar 1 = 2 s at 120 BPM
        _start(player)
        _pull(player, 10)
        assert player.position_tick == pytest.approx(10 * BLOCK / SR * 960, abs=0.01)
        _, stopped = _pull(player, 2 * SR // BLOCK)  # 2 s more: wrapped once
        assert not stopped and player.stats.loops == 1
        assert 0 <= player.position_tick < 1920
        player.set_mute_solo(solo={1})  # bass only
        audio, _ = _pull(player, SR // BLOCK)
        assert player.active_voices() > 0
        player.set_mute_solo(muted={0, 1, 2})
        audio, _ = _pull(player, SR // BLOCK)
        assert _rms(audio, 0.5, 1.0) < 1e-4, "muting everything while playing must silence held notes"
        player.set_muted({0})  # the one-sided setters build on the last request, even before it applies
        player.set_soloed({0, 2})
        _pull(player, 1)
        assert player._audible == {2}
    finally:
        player.close()


def test_set_score_swaps_at_next_block_without_hanging_notes(sf: str) -> None:
    held = Score(tracks=[Track("pad", program=48, notes=[Note(0, 100_000, 60, 100)])])
    player = Player(held, sf)
    try:
        player.set_loop(0, 1920)
        _start(player, 480)
        _pull(player, 20)
        assert player.active_voices() > 0
        tick = player.position_tick
        player.set_score(Score(tracks=[Track("pad", program=48)]))  # the variation without the note
        assert player.stats.swaps == 0, "the swap waits for the callback"
        _pull(player, 1)
        assert player.stats.swaps == 1
        assert player.position_tick == pytest.approx(tick + BLOCK / SR * 960, abs=0.01)
        audio, stopped = _pull(player, 5 * SR // BLOCK)  # string releases linger (inaudibly) up to 3 s
        assert not stopped, "still looping after the swap"
        assert player.active_voices() == 0 and _rms(audio, 3.5, 4.5) < 1e-4, "the old note hangs"
        player.set_score(held)  # back to A: the held note is struck again at the playhead
        _pull(player, 1)
        assert player.active_voices() > 0
    finally:
        player.close()


def test_tempo_change_in_playback(sf: str) -> None:
    score = Score(
        tracks=[Track("piano", notes=[Note(1920, 2000, 64, 110)])],
        tempos=[TempoChange(0, 120.0), TempoChange(960, 240.0)],
    )
    player = Player(score, sf, PlayerConfig(synth=SynthConfig(reverb=False, chorus=False)))
    try:
        _start(player)
        audio, _ = _pull(player, int(2 * SR) // BLOCK)
        loud = np.flatnonzero(np.abs(audio).max(axis=1) > 0.01)
        assert loud[0] / SR == pytest.approx(1.5, abs=0.01)
        assert player.position_tick == pytest.approx(score.seconds_to_tick(len(audio) / SR), abs=1)
    finally:
        player.close()


def test_commands_while_stopped_apply_at_once(sf: str) -> None:
    player = Player(probe_score(bars=2), sf)
    player.seek(960)
    assert player.position_tick == pytest.approx(960)
    assert not player.is_playing and player.stats.callbacks == 0
    with pytest.raises(ValueError):
        player.set_loop(100, 100)
    player.close()


# ----- real stream on the null device, in a subprocess -----------------------------------------------------


def _child_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["HOME"] = str(home)
    env.pop("ALSA_CONFIG_PATH", None)
    env["PYTHONPATH"] = str(REPO)
    return env


def _run(home: Path, args: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=_child_env(home), capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_playback_on_null_alsa_device(sf: str, tmp_path: Path) -> None:
    (tmp_path / ".asoundrc").write_text("pcm.!default { type null }\n")
    result = _run(tmp_path, ["-m", "engine.synth.probe", sf])
    if not result["available"] and "PortAudio library" in result["reason"]:
        pytest.skip(result["reason"])
    assert result["available"], result["reason"]
    assert result["started"] and result["stats"]["callbacks"] > 100
    assert result["output_latency_s"] is not None and 0 < result["output_latency_s"] < 1
    assert result["first_callback_latency_s"] is not None
    first, second = result["position_ticks"]
    assert second > first > 0, "the playhead must advance with the callbacks"
    assert result["looped"] and result["position_in_loop"]
    assert result["muted_silence"] and result["unmuted_sound"]
    assert result["swapped"] and result["same_stream"] and result["callbacks_continue"]
    assert result["no_hanging_notes"]
    assert result["ended_by_itself"]
    assert 0 <= result["song_frames"] - result["expected_song_frames"] < 2 * BLOCK
    assert result["stopped"]


def _no_sound_cards() -> bool:
    cards = Path("/proc/asound/cards")
    return not cards.exists() or "no soundcards" in cards.read_text()


_NO_DEVICE_CHILD = """
import json
from engine.synth.playback import Player, audio_available
from engine.errors import AudioUnavailableError
ok, reason = audio_available()
try:
    Player().play(0)
    play = "played"
except AudioUnavailableError as exc:
    play = "AudioUnavailableError: " + str(exc)
print(json.dumps({"available": ok, "reason": reason, "play": play}))
"""


def test_audio_available_false_without_devices(sf: str, tmp_path: Path) -> None:
    if not _no_sound_cards():
        pytest.skip("this machine has a sound card; covered by the monkeypatched tests below")
    result = _run(tmp_path, ["-c", _NO_DEVICE_CHILD])
    assert result["available"] is False
    assert result["reason"]
    assert result["play"].startswith("AudioUnavailableError")


def test_audio_available_without_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_portaudio() -> None:
        raise AudioUnavailableError("The PortAudio library is not installed ... libportaudio2")

    monkeypatch.setattr(playback, "_import_sounddevice", no_portaudio)
    ok, reason = audio_available()
    assert not ok and "libportaudio2" in reason
    with pytest.raises(AudioUnavailableError):
        Player().play()


def test_import_sounddevice_maps_oserror(monkeypatch: pytest.MonkeyPatch) -> None:
    """`import sounddevice` raises OSError when libportaudio2 is missing; it becomes a clear error."""
    import builtins

    real_import = builtins.__import__

    def fake_import(name: str, *args: object, **kwargs: object) -> object:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(AudioUnavailableError, match="libportaudio2"):
        playback._import_sounddevice()
    ok, reason = audio_available()
    assert not ok and "libportaudio2" in reason


def test_audio_available_no_output_device(monkeypatch: pytest.MonkeyPatch) -> None:
    class PortAudioError(Exception):
        pass

    def query_devices(device: object = None, kind: str | None = None) -> dict:
        raise PortAudioError("Error querying device -1")

    fake = types.SimpleNamespace(PortAudioError=PortAudioError, query_devices=query_devices)
    monkeypatch.setattr(playback, "_import_sounddevice", lambda: fake)
    ok, reason = audio_available()
    assert not ok and "No audio output device" in reason and "-1" in reason

    fake.query_devices = lambda device=None, kind=None: {"name": "HDMI", "max_output_channels": 0}
    ok, reason = audio_available()
    assert not ok and "HDMI" in reason

    fake.query_devices = lambda device=None, kind=None: {"name": "Speakers", "max_output_channels": 2}
    assert audio_available() == (True, "Speakers")
