"""Audio preview: SoundFont discovery, offline rendering to WAV and live playback.

Importing this package never touches FluidSynth or PortAudio (both are loaded inside functions), so the
engine and the editor start on machines without them and say why audio is off.
"""

from engine.synth.events import ChannelPlan, assign_channels, audible_tracks
from engine.synth.playback import Player, PlayerConfig, PlayerStats, audio_available
from engine.synth.render import render_score, render_to_wav, write_wav
from engine.synth.soundfont import (
    SynthConfig,
    SynthUnavailableError,
    find_soundfont,
    fluidsynth_available,
)

__all__ = [
    "ChannelPlan",
    "Player",
    "PlayerConfig",
    "PlayerStats",
    "SynthConfig",
    "SynthUnavailableError",
    "assign_channels",
    "audible_tracks",
    "audio_available",
    "find_soundfont",
    "fluidsynth_available",
    "render_score",
    "render_to_wav",
    "write_wav",
]
