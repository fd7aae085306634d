"""Audio through ``engine.synth``, imported lazily and degrading gracefully.

The synth (FluidSynth + PortAudio) is optional on a machine: without a sound card Play is disabled and
its tooltip says why, while "Render to WAV…" (offline, no device needed) keeps working. If the synth
package itself is missing, both actions say so instead of failing at start-up.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from engine.score import Score


class AudioAdapter:
    def __init__(self) -> None:
        self._synth: Any = None
        self._player: Any = None
        self.play_ok, self.play_reason = False, "not checked yet"
        self.render_ok, self.render_reason = False, "not checked yet"
        self._probe()

    def _probe(self) -> None:
        try:
            import engine.synth as synth  # noqa: PLC0415 - may pull FluidSynth bindings; keep optional
        except Exception as exc:  # ImportError, or OSError from a missing shared library
            reason = f"Audio is unavailable: the synth module could not be loaded ({type(exc).__name__}: {exc})"
            self.play_ok, self.play_reason = False, reason
            self.render_ok, self.render_reason = False, reason
            return
        self._synth = synth
        if hasattr(synth, "render_to_wav"):
            self.render_ok, self.render_reason = True, "Render the song to a WAV file (offline, no sound card needed)"
        else:
            self.render_ok, self.render_reason = False, "This build's synth cannot render WAV files"
        probe = getattr(synth, "audio_available", None)
        if probe is None or not hasattr(synth, "Player"):
            self.play_ok, self.play_reason = False, "Live playback is not part of this build; use Render to WAV…"
            return
        try:
            ok, why = probe()
        except Exception as exc:  # noqa: BLE001 - a broken driver must not stop the editor
            ok, why = False, f"{type(exc).__name__}: {exc}"
        self.play_ok = bool(ok)
        advice = "" if "wav" in str(why).lower() else " Use Render to WAV… instead."
        self.play_reason = "Play / stop (Space)" if ok else f"Playback unavailable: {str(why).rstrip('.')}.{advice}"

    # ---- live playback
    def play(
        self,
        score: Score,
        from_tick: int,
        muted: Collection[int] = (),
        soloed: Collection[int] = (),
        loop: tuple[int, int] | None = None,
    ) -> None:
        """Start playing ``score`` at ``from_tick`` (looping ``loop`` if given). Raises the synth's error."""
        if not self.play_ok:
            raise RuntimeError(self.play_reason)
        if self._player is None:
            self._player = self._synth.Player()
        player = self._player
        player.set_score(score)
        self.set_mix(muted, soloed)
        if loop is not None and hasattr(player, "set_loop"):
            player.set_loop(int(loop[0]), int(loop[1]))
        elif hasattr(player, "clear_loop"):
            player.clear_loop()
        player.play(from_tick)

    def set_mix(self, muted: Collection[int], soloed: Collection[int]) -> None:
        player = self._player
        if player is None:
            return
        if hasattr(player, "set_mute_solo"):
            player.set_mute_solo(frozenset(muted), frozenset(soloed))
            return
        for name, value in (("set_muted", muted), ("set_soloed", soloed)):
            if hasattr(player, name):
                getattr(player, name)(frozenset(value))

    def stop(self) -> None:
        if self._player is not None:
            try:
                self._player.stop()
            except Exception:  # noqa: BLE001 - stopping must always succeed from the user's view
                pass

    def is_playing(self) -> bool:
        player = self._player
        if player is None:
            return False
        value = getattr(player, "is_playing", None)
        if value is None:
            value = getattr(player, "playing", False)
        return bool(value() if callable(value) else value)

    def position_tick(self) -> int | None:
        player = self._player
        if player is None:
            return None
        value = getattr(player, "position_tick", None)
        value = value() if callable(value) else value
        return None if value is None else int(value)

    def close(self) -> None:
        self.stop()
        close = getattr(self._player, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # noqa: BLE001
                pass
        self._player = None

    # ---- offline
    def render_to_wav(self, score: Score, path: Path) -> Path:
        if not self.render_ok:
            raise RuntimeError(self.render_reason)
        return Path(self._synth.render_to_wav(score, path))
