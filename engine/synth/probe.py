"""A scripted playback session on the default output device, reporting callback counters as JSON.

``python -m engine.synth.probe`` checks live playback end to end (play, loop, mute, A/B swap, natural end,
stop). The tests run it in a subprocess with ALSA's null device (PortAudio reads the ALSA configuration
once per process, hence the subprocess) and the speed benchmark uses it for the Play-to-first-callback
latency. On a null device the callback runs as fast as the CPU allows, so every wait here is on callback
counters, with a generous wall-clock timeout only as a safety net.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from engine.score import Note, Score, TempoChange, Track
from engine.synth.playback import Player, PlayerConfig, audio_available

TPB = 480
BAR = 4 * TPB


def probe_score(bars: int = 32, pitch_shift: int = 0) -> Score:
    """Piano chords held a whole bar, a bass note per beat and a drum per beat, 120 then 90 BPM at bar 2."""
    piano = Track("piano", program=0)
    bass = Track("bass", program=33)
    drums = Track("drums", is_drum=True)
    for bar in range(bars):
        t0 = bar * BAR
        piano.notes += [Note(t0, t0 + BAR, 60 + pitch_shift + d, 80) for d in (0, 4, 7)]
        for beat in range(4):
            b = t0 + beat * TPB
            bass.notes.append(Note(b, b + TPB // 2, 36 + pitch_shift, 90))
            drums.notes.append(Note(b, b + TPB // 4, 36 if beat % 2 == 0 else 38, 100))
    return Score(
        ticks_per_beat=TPB,
        tracks=[piano, bass, drums],
        tempos=[TempoChange(0, 120.0), TempoChange(2 * BAR, 90.0)],
    )


def _wait(cond: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.0005)
    return True


def run_probe(soundfont: str | None = None, timeout_s: float = 20.0) -> dict[str, Any]:
    """Play through the scenario and return what was observed (see the keys for what is checked)."""
    ok, reason = audio_available()
    result: dict[str, Any] = {"available": ok, "reason": reason}
    if not ok:
        return result
    config = PlayerConfig()
    player = Player(probe_score(), soundfont, config)
    player.prepare()
    try:
        # 1. position advances with the callbacks
        player.play(0)
        result["output_latency_s"] = player.output_latency_s
        result["blocksize"] = config.blocksize
        result["started"] = _wait(lambda: player.stats.callbacks >= 20, timeout_s)
        result["first_callback_latency_s"] = player.stats.first_callback_latency_s
        cb1, pos1 = player.stats.callbacks, player.position_tick
        _wait(lambda: player.stats.callbacks >= cb1 + 100, timeout_s)
        result["position_ticks"] = [pos1, player.position_tick]

        # 2. loop over the first bar (held chord crosses nothing; the loop restarts it)
        player.set_loop(0, BAR)
        player.seek(0)
        loops0 = player.stats.loops
        result["looped"] = _wait(lambda: player.stats.loops >= loops0 + 3, timeout_s)
        result["position_in_loop"] = 0 <= player.position_tick <= BAR

        # 3. muting every track releases what sounds: voices decay to zero while the stream runs on
        player.set_mute_solo(muted={0, 1, 2})
        result["muted_silence"] = _wait(lambda: player.active_voices() == 0, timeout_s)
        player.set_mute_solo()
        result["unmuted_sound"] = _wait(lambda: player.active_voices() > 0, timeout_s)

        # 4. A/B swap while looping: same stream, no restart, counters keep going
        stream = player._stream
        cb_before, swaps0 = player.stats.callbacks, player.stats.swaps
        player.set_score(probe_score(pitch_shift=2))
        result["swapped"] = _wait(lambda: player.stats.swaps >= swaps0 + 1, timeout_s)
        result["same_stream"] = player._stream is stream and player.is_playing
        result["callbacks_continue"] = _wait(lambda: player.stats.callbacks > cb_before + 10, timeout_s)
        # swapping to a score without notes must leave nothing hanging
        player.set_score(Score(ticks_per_beat=TPB, tracks=[Track("piano")]))
        result["no_hanging_notes"] = _wait(lambda: player.active_voices() == 0, timeout_s)

        # 5. natural end: a 2 s song (120 BPM then 60 BPM) stops by itself after its tail
        player.clear_loop()
        short = Score(
            ticks_per_beat=TPB,
            tracks=[Track("piano", notes=[Note(0, TPB, 60, 90), Note(2 * TPB, 3 * TPB, 64, 90)])],
            tempos=[TempoChange(0, 120.0), TempoChange(2 * TPB, 60.0)],
        )
        player.stop()
        player.set_score(short)
        frames0 = player.stats.frames
        player.play(0)
        result["ended_by_itself"] = _wait(lambda: not player.is_playing, timeout_s)
        result["song_frames"] = player.stats.frames - frames0
        result["expected_song_frames"] = int(
            round((0.5 + 0.5 + 1.0 + config.tail_seconds) * config.sample_rate)
        )

        # 6. stop
        player.play(0)
        player.stop()
        result["stopped"] = not player.is_playing
        stats = player.stats
        result["stats"] = {
            "callbacks": stats.callbacks,
            "frames": stats.frames,
            "events": stats.events,
            "underflows": stats.underflows,
            "swaps": stats.swaps,
            "loops": stats.loops,
        }
    finally:
        player.close()
    return result


def measure_start_latency(
    soundfont: str | None = None, repeats: int = 10, timeout_s: float = 10.0
) -> dict[str, Any]:
    """Play-to-first-callback times (stream opened each time, synth already loaded) and the stream's latency."""
    ok, reason = audio_available()
    if not ok:
        return {"available": False, "reason": reason}
    player = Player(probe_score(bars=4), soundfont)
    player.prepare()
    starts: list[float] = []
    latency = None
    try:
        for _ in range(repeats):
            player.play(0)
            latency = player.output_latency_s
            _wait(lambda: player.stats.first_callback_latency_s is not None, timeout_s)
            value = player.stats.first_callback_latency_s
            player.stop()
            if value is not None:
                starts.append(value)
    finally:
        player.close()
    return {
        "available": True,
        "device": reason,
        "output_latency_s": latency,
        "blocksize": player.config.blocksize,
        "first_callback_s": sorted(starts),
    }


def main(argv: list[str] | None = None) -> int:
    """``probe [--latency] [soundfont]``: print the scenario's (or the start-latency) observations as JSON."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--latency":
        print(json.dumps(measure_start_latency(args[1] if len(args) > 1 else None)))
    else:
        print(json.dumps(run_probe(args[0] if args else None)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
