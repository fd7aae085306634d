"""Offline render speed of engine.synth against FluidSynth's own MIDI-file renderer, and playback start latency.

Run: ``.venv/bin/python -m bench.render_speed``. Builds a 3-minute, five-part song at 100 BPM in code,
renders it with TimGM6mb (and FluidR3 when installed), and prints seconds and the x real-time factor
against the 20x target. The baseline is measured in the same run on the same song: it is written to a
temporary MIDI file with the project's writer and rendered by ``fluidsynth.Synth.midi2audio`` (FluidSynth's file
player and file renderer, sample-timed), with the same gain and effects. Finally the Play-to-first-callback
time is measured on ALSA's null device in a child process (PortAudio reads ~/.asoundrc once per process).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.score import Note, Score, TempoChange, Track
from engine.synth.render import render_score, write_wav
from engine.synth.soundfont import SynthConfig, fluidsynth_available, import_fluidsynth

TARGET_X = 20.0
SR = 44100
TPB = 480
BPM = 100.0
BARS = 75  # 75 bars of 4/4 at 100 BPM = 180 s
FONTS = (Path("/usr/share/sounds/sf2/TimGM6mb.sf2"), Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"))
# I-V-vi-IV in C: (root pitch class, minor?)
PROGRESSION = ((0, False), (7, False), (9, True), (5, False))


def song(bars: int = BARS, seed: int = 1) -> Score:
    """Melody (flute), piano chords, finger bass, drums and a string pad: a plain pop arrangement."""
    rng = random.Random(seed)
    bar = 4 * TPB
    melody, piano, bass = Track("melody", 73), Track("piano", 0), Track("bass", 33)
    drums, strings = Track("drums", is_drum=True), Track("strings", 48)
    for b in range(bars):
        t0 = b * bar
        root, minor = PROGRESSION[b % 4]
        chord = [48 + root, 48 + root + (3 if minor else 4), 48 + root + 7]
        for beat in range(4):  # piano: chord on every beat
            s = t0 + beat * TPB
            piano.notes += [Note(s, s + TPB - 40, p + 12, 70) for p in chord]
        strings.notes += [Note(t0, t0 + bar, p, 55) for p in chord]
        for eighth in range(8):  # bass: root eighths, fifth on the last one
            s = t0 + eighth * TPB // 2
            bass.notes.append(Note(s, s + TPB // 2 - 20, 36 + root + (7 if eighth == 7 else 0), 90))
        for sixteenth in range(16):  # drums: kick 1/3, snare 2/4, closed hi-hat sixteenths
            s = t0 + sixteenth * TPB // 4
            drums.notes.append(Note(s, s + 60, 42, 60 + 20 * (sixteenth % 2 == 0)))
            if sixteenth in (0, 8):
                drums.notes.append(Note(s, s + 60, 36, 110))
            if sixteenth in (4, 12):
                drums.notes.append(Note(s, s + 60, 38, 105))
        s = t0
        while s < t0 + bar:  # melody: chord tones and neighbours in eighths and quarters
            length = rng.choice((TPB // 2, TPB // 2, TPB))
            pitch = 72 + rng.choice((root, root + 2, root + 4, root + 7, root + 9)) % 12
            melody.notes.append(Note(s, min(s + length - 20, t0 + bar), pitch, rng.randrange(80, 110)))
            s += length
    return Score(
        ticks_per_beat=TPB, tracks=[melody, piano, bass, drums, strings], tempos=[TempoChange(0, BPM)]
    )


def write_midi(score: Score, path: Path) -> None:
    """The song as a MIDI file for FluidSynth's own file player (the project's writer)."""
    from engine.midi_io import write_midi as write

    write(score, path)


def baseline_midi2audio(midi_path: Path, wav_path: Path, font: Path, config: SynthConfig) -> float:
    """Seconds for FluidSynth's file player + file renderer on the same song (synth creation included)."""
    fluidsynth = import_fluidsynth()
    t0 = time.perf_counter()
    fs = fluidsynth.Synth(
        gain=config.gain,
        samplerate=float(config.sample_rate),
        **{"synth.reverb.active": int(config.reverb), "synth.chorus.active": int(config.chorus)},
    )
    fs.setting("player.timing-source", "sample")
    fs.setting("synth.lock-memory", 0)
    fs.sfload(str(font))
    fs.midi2audio(str(midi_path), str(wav_path))
    fs.delete()
    return time.perf_counter() - t0


def best_of(fn, repeats: int = 3) -> float:
    return min(fn() for _ in range(repeats))


def measure_latency(font: Path) -> dict | None:
    with tempfile.TemporaryDirectory() as home:
        Path(home, ".asoundrc").write_text("pcm.!default { type null }\n")
        env = dict(os.environ, HOME=home)
        env.pop("ALSA_CONFIG_PATH", None)
        proc = subprocess.run(
            [sys.executable, "-m", "engine.synth.probe", "--latency", str(font)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    if proc.returncode != 0:
        print(f"latency probe failed: {proc.stderr.strip()[-500:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ok, reason = fluidsynth_available()
    if not ok:
        print(f"cannot benchmark: {reason}")
        return 1
    score = song()
    duration = score.tick_to_seconds(score.end_tick)
    config = SynthConfig(sample_rate=SR)
    print(
        f"song: {duration:.1f} s, {len(score.tracks)} tracks, {score.n_notes} notes, {BPM:.0f} BPM; "
        f"{os.cpu_count()} CPUs; target {TARGET_X:.0f}x real time"
    )
    with tempfile.TemporaryDirectory() as tmp:
        midi_path = Path(tmp, "song.mid")
        write_midi(score, midi_path)
        for font in FONTS:
            if not font.is_file():
                print(f"{font.name}: not installed, skipped")
                continue
            audio = render_score(score, font, SR, config=config)  # warm-up (page cache, imports)

            def ours(font: Path = font) -> float:
                t0 = time.perf_counter()
                render_score(score, font, SR, config=config)
                return time.perf_counter() - t0

            def ours_wav(font: Path = font) -> float:
                t0 = time.perf_counter()
                write_wav(render_score(score, font, SR, config=config), Path(tmp, "ours.wav"), SR)
                return time.perf_counter() - t0

            def base(font: Path = font) -> float:
                return baseline_midi2audio(midi_path, Path(tmp, "base.wav"), font, config)

            t_ours, t_wav, t_base = best_of(ours), best_of(ours_wav), best_of(base)
            audio_s = len(audio) / SR
            verdict = "meets" if audio_s / t_wav >= TARGET_X else "MISSES"
            print(f"{font.name}:")
            print(f"  render_score            {t_ours:6.2f} s  {audio_s / t_ours:6.1f}x real time")
            print(
                f"  render + write WAV      {t_wav:6.2f} s  {audio_s / t_wav:6.1f}x real time ({verdict} {TARGET_X:.0f}x)"
            )
            print(
                f"  baseline midi2audio     {t_base:6.2f} s  {audio_s / t_base:6.1f}x real time (writes WAV)"
            )
            print(f"  ratio baseline/ours (both writing WAV): {t_base / t_wav:.2f}")
    lat = measure_latency(next((f for f in FONTS if f.is_file()), FONTS[0]))
    if lat is None:
        return 0
    if not lat.get("available"):
        print(f"playback latency: not measured ({lat.get('reason')})")
        return 0
    starts = lat["first_callback_s"]
    median = starts[len(starts) // 2] * 1000 if starts else float("nan")
    print(
        f"playback on ALSA null device: Play-to-first-callback median {median:.2f} ms over {len(starts)} starts "
        f"(min {starts[0] * 1000:.2f}, max {starts[-1] * 1000:.2f}); stream-reported output latency "
        f"{lat['output_latency_s'] * 1000:.1f} ms at blocksize {lat['blocksize']}, latency='low'"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
