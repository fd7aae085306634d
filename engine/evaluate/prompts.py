"""Prompt adherence: does the tempo class or the instrument set asked for change what is generated, the
way it changes the music of the training data?

A prompt acts when the same region, regenerated with the same seed under two prompts, differs as songs
of the two kinds differ. Two readings, both as notes per beat of the regenerated part (a beat is a
quarter note, 8 32nds of the song's grid):

- tempo: every region is regenerated under each tempo class; the model's effect of a class is its mean
  over the regions, and the data's is the mean over the training songs of that class (``data_profile``).
  Slow songs subdivide more, so the data's largo plays more notes per beat than its presto.
- instruments: every region is regenerated with the song's own instrument set and with a band
  (``BAND``) added to it; the data's effect is the same category's notes per beat in training songs that
  have the band against songs that have none of it (POP909 against its MMA band versions).

Each is run at guidance 1, 2 and 3 (classifier-free guidance scales the prompt's pull) with the region's
seed kept, so the differences between prompts are paired region by region. The functions that measure
are pure; ``prompt_adherence`` runs the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.analysis.grid import POSITIONS_PER_BEAT, BeatGrid
from engine.analysis.tempo import TEMPO_CLASSES
from engine.evaluate.metrics import NoteArray, region_notes
from engine.evaluate.paired import Advantage, bootstrap

GUIDANCES: tuple[float, ...] = (1.0, 2.0, 3.0)
BAND: tuple[str, ...] = ("DRUMS", "BASS", "ELECTRIC_GUITAR")  # the instruments a band version adds


def notes_per_beat(notes: NoteArray, grid: BeatGrid, start_bar: int, end_bar: int, n_tracks: int = 1) -> float:
    """Notes per quarter-note beat per track over grid bars [start_bar, end_bar); NaN for no bar."""
    beats = (int(grid.bar_starts[end_bar]) - int(grid.bar_starts[start_bar])) / POSITIONS_PER_BEAT
    return notes.n / (beats * max(n_tracks, 1)) if beats > 0 else float("nan")


@dataclass(frozen=True)
class SongProfile:
    """What one training song says: its tempo class, its categories, and each track's notes per beat."""

    tempo: str
    categories: tuple[str, ...]
    notes_per_beat: tuple[float, ...]  # per track, over the song's encoded bars


def song_profile(tempo: str, categories: Sequence[str], track_notes: Sequence[int], beats: float) -> SongProfile:
    return SongProfile(tempo, tuple(categories), tuple(n / beats if beats > 0 else float("nan") for n in track_notes))


@dataclass(frozen=True)
class DataProfile:
    """Mean notes per beat of non-melody parts per tempo class, and of each category with and without
    the band in the song; each with the number of parts it averages."""

    by_tempo: dict[str, tuple[float, int]]
    with_band: dict[str, tuple[float, int]]
    without_band: dict[str, tuple[float, int]]


def _mean(values: list[float]) -> tuple[float, int]:
    v = [x for x in values if not math.isnan(x)]
    return (float(np.mean(v)), len(v)) if v else (float("nan"), 0)


def data_profile(songs: Sequence[SongProfile], band: tuple[str, ...] = BAND) -> DataProfile:
    """Aggregate song profiles: per tempo class over every non-melody part that plays (the parts the
    whole-track task regenerates); per category over the songs with every ``band`` category and over the
    songs with none of them (a band category's own parts count only on the "with" side)."""
    by_tempo: dict[str, list[float]] = {c: [] for c in TEMPO_CLASSES}
    with_band: dict[str, list[float]] = {}
    without: dict[str, list[float]] = {}
    for s in songs:
        cats = set(s.categories)
        has, none = set(band) <= cats, not (set(band) & cats)
        for c, npb in zip(s.categories, s.notes_per_beat, strict=True):
            if npb <= 0:
                continue
            if c != "MELODY":
                by_tempo[s.tempo].append(npb)
            if has:
                with_band.setdefault(c, []).append(npb)
            elif none:
                without.setdefault(c, []).append(npb)
    return DataProfile({c: _mean(v) for c, v in by_tempo.items()}, {c: _mean(v) for c, v in with_band.items()},
                       {c: _mean(v) for c, v in without.items()})


def profile_store(store, limit: int = 0) -> DataProfile:  # noqa: ANN001 (a SongStore)
    """The data profile of a split (``limit`` > 0: its first songs only), from the stored encodings."""
    out = []
    for i in range(len(store) if limit <= 0 else min(limit, len(store))):
        enc = store.encoding(i)
        rows = enc.track_of_row[enc.track_of_row >= 0]
        counts = np.bincount(rows, minlength=len(enc.categories))
        beats = (int(enc.grid.bar_starts[enc.end_bar]) - int(enc.grid.bar_starts[enc.first_bar])) / POSITIONS_PER_BEAT
        out.append(song_profile(TEMPO_CLASSES[enc.tempo], enc.categories, counts.tolist(), beats))
    return data_profile(out)


@dataclass
class PromptResult:
    """Per guidance: region -> prompt -> notes per beat of the regenerated part."""

    regions: list[str] = field(default_factory=list)
    values: dict[float, dict[str, list[float]]] = field(default_factory=dict)  # guidance -> prompt -> per region

    def add(self, guidance: float, prompt: str, value: float) -> None:
        self.values.setdefault(guidance, {}).setdefault(prompt, []).append(value)

    def mean(self, guidance: float, prompt: str, where: str | None = None) -> float:
        """Mean over the regions (those where prompt ``where`` applied too, if given)."""
        v = self.values.get(guidance, {}).get(prompt, [])
        if where is not None:
            w = self.values.get(guidance, {}).get(where, [])
            v = [x for x, y in zip(v, w, strict=False) if not math.isnan(y)]
        return _mean(v)[0]

    def log_ratio(self, guidance: float, a: str, b: str) -> Advantage:
        """Per region log(notes per beat under ``a`` / under ``b``): mean and bootstrap interval. The
        relative reading of ``effect``: a sparse part halving its notes moves less in notes per beat than
        the data's average part, but by the same ratio. Regions where either is 0 or NaN are left out."""
        va, vb = (np.asarray(self.values.get(guidance, {}).get(p, []), dtype=np.float64) for p in (a, b))
        if len(va) != len(vb):
            return bootstrap(np.zeros(0))
        ok = (va > 0) & (vb > 0)
        return bootstrap(np.log(va[ok] / vb[ok]))

    def guidance_change(self, high: float, low: float, a: str, b: str, relative: bool = False) -> Advantage:
        """Per region, how much guidance ``high`` moves the ``a`` - ``b`` effect against guidance ``low``
        (``relative``: the log(a / b) ratio instead): mean and bootstrap interval. The issue's "guidance
        changes prompt adherence measurably" is an interval that excludes 0 in the data's direction."""
        def per_region(g: float) -> np.ndarray:
            va, vb = (np.asarray(self.values.get(g, {}).get(p, []), dtype=np.float64) for p in (a, b))
            if len(va) != len(vb):
                return np.zeros(0)
            if not relative:
                return va - vb
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where((va > 0) & (vb > 0), np.log(va / vb), np.nan)

        hi, lo = per_region(high), per_region(low)
        d = hi - lo if len(hi) == len(lo) else np.zeros(0)
        return bootstrap(d[~np.isnan(d)])

    def effect(self, guidance: float, a: str, b: str) -> Advantage:
        """Per region notes per beat under prompt ``a`` minus under ``b``: mean and bootstrap interval."""
        va, vb = (np.asarray(self.values.get(guidance, {}).get(p, []), dtype=np.float64) for p in (a, b))
        d = va - vb if len(va) == len(vb) else np.zeros(0)  # NaN where a prompt did not apply
        return bootstrap(d[~np.isnan(d)])


def relative_adherence(model_log_ratio: float, data_a: float, data_b: float) -> float:
    """The model's log(a / b) over the data's log(data_a / data_b) (1 = the same relative change as in the
    data, 0 = none, < 0 = backwards); NaN when the data shows none or lacks a class."""
    if not (data_a > 0 and data_b > 0) or data_a == data_b:
        return float("nan")
    return model_log_ratio / math.log(data_a / data_b)


def adherence_ratio(model_effect: float, data_effect: float) -> float:
    """How much of the data's effect the model reproduces: model / data (1 = the same size and direction,
    0 = no effect, < 0 = the wrong direction); NaN when the data shows none."""
    return model_effect / data_effect if data_effect and not math.isnan(data_effect) else float("nan")


def prompt_adherence(cases: list, songs: list, model, steps: int, seed: int,  # noqa: ANN001
                     guidances: tuple[float, ...] = GUIDANCES, progress: Callable[[int, int], None] | None = None,
                     thin_context: bool | None = None, part_density: bool = True,
                     guide_density: bool = True) -> PromptResult:
    """Regenerate each case's region (``tasks.TaskCase`` of one track) under every tempo class, the song's
    own tempo ("own"), and with ``BAND`` added to the instrument set ("band"; NaN for a song that has
    any of it already), at each guidance; the seed is the same for every prompt of a region.
    ``part_density``: Prompts.part_density (False: the tempo class acts only through the prompt as trained);
    ``guide_density``: Prompts.guide_density (False: guidance does not scale the density plan)."""
    from engine.data.split import unit_hash
    from engine.infill import Prompts, infill

    # Novelty 1 for every prompt: below 1 the song's own tempo class starts from the part's repeat and the
    # others do not (infill), so the comparison would measure the seeds, not the prompt.
    kw = {"novelty": 1.0, "part_density": part_density, "guide_density": guide_density}
    prompts: list[tuple[str, Prompts]] = [("own", Prompts(**kw)),
                                          *((c, Prompts(tempo_class=c, **kw)) for c in TEMPO_CLASSES),
                                          ("band", Prompts(instruments=BAND, **kw))]
    result = PromptResult()
    total, done = len(cases) * len(guidances) * len(prompts), 0
    for case in cases:
        song = songs[case.song]
        sel = case.selection
        tracks = tuple(sorted(sel.tracks or ()))
        result.regions.append(f"{case.song_id} bars {sel.start_bar + 1}-{sel.end_bar} tracks {list(tracks)}")
        case_seed = int(unit_hash(f"{case.song_id}|prompts", seed) * 2**31)
        no_band = not set(BAND) & set(song.categories)  # a prompt can only add instruments the song lacks
        for g in guidances:
            for name, p in prompts:
                if name == "band" and not no_band:
                    result.add(g, name, float("nan"))
                    continue
                out = infill(song.score, sel, p, 1, g, steps, case_seed, model=model, thin_context=thin_context)[0]
                notes = region_notes(out, song.grid, tracks, sel.start_bar, sel.end_bar)
                result.add(g, name, notes_per_beat(notes, song.grid, sel.start_bar, sel.end_bar, len(tracks)))
                done += 1
                if progress is not None:
                    progress(done, total)
    return result


def _num(x: float, fmt: str = ".3f") -> str:
    return "—" if math.isnan(x) else format(x, fmt)


def markdown(result: PromptResult, data: DataProfile, categories: list[str]) -> list[str]:
    """The prompt-adherence section of results.md: notes per beat per tempo class and guidance against the
    data, presto - largo against the data's, and the band's effect against the data's."""
    if not result.regions:
        return []
    lines = ["", f"## prompt adherence ({len(result.regions)} whole-track region{'s' if len(result.regions) != 1 else ''}, "
             "the same seed for every prompt)", "",
             "Notes per beat of the regenerated part under each tempo class (\"own\": the song's) and guidance; "
             "\"data\": mean over the training split's non-melody parts of songs of that class (parts averaged). "
             "Presto − largo is per region, with its 95 % bootstrap interval; \"ratio\" is the model's "
             "presto − largo over the data's (1: as in the data; 0: no effect; < 0: backwards). Presto / largo is "
             "the same relative to each part's own level (geometric mean of the per-region ratios, its interval), "
             "and \"rel.\" its log over the data's log ratio.", "",
             "| guidance | own | " + " | ".join(TEMPO_CLASSES) + " | presto − largo | ratio | presto / largo | rel. |",
             "|---:|---:|" + "---:|" * len(TEMPO_CLASSES) + "---:|---:|---:|---:|"]
    data_presto, data_largo = data.by_tempo["presto"][0], data.by_tempo["largo"][0]
    data_effect = data_presto - data_largo
    for g in sorted(result.values):
        eff = result.effect(g, "presto", "largo")
        rel = result.log_ratio(g, "presto", "largo")
        ratio_text = "n/a" if rel.n == 0 else f"{math.exp(rel.mean):.2f} [{math.exp(rel.low):.2f}, {math.exp(rel.high):.2f}]"
        lines.append(f"| {g:g} | {result.mean(g, 'own'):.3f} | "
                     + " | ".join(f"{result.mean(g, c):.3f}" for c in TEMPO_CLASSES)
                     + f" | {eff.text()} ({eff.n}) | {_num(adherence_ratio(eff.mean, data_effect), '+.2f')} | {ratio_text} "
                     f"| {_num(relative_adherence(rel.mean, data_presto, data_largo), '+.2f')} |")
    data_ratio = data_presto / data_largo if data_largo > 0 else float("nan")
    lines.append("| data | — | " + " | ".join(f"{_num(data.by_tempo[c][0])} (n {data.by_tempo[c][1]})" for c in TEMPO_CLASSES)
                 + f" | {_num(data_effect, '+.3f')} | | {_num(data_ratio, '.2f')} | |")
    gs = sorted(result.values)
    if len(gs) > 1:
        lines += ["", "What guidance does to the tempo prompt: per region, presto − largo (and log presto / largo) at "
                  f"each guidance minus at guidance {gs[0]:g}, with 95 % bootstrap intervals. An interval on the "
                  "data's side of 0 (here " + ("negative" if data_effect < 0 else "positive") + ") means guidance "
                  "strengthens the prompt.", "",
                  f"| guidance | presto − largo, change from {gs[0]:g} | log presto / largo, change |", "|---:|---:|---:|"]
        for g in gs[1:]:
            lines.append(f"| {g:g} | {result.guidance_change(g, gs[0], 'presto', 'largo').text()} | "
                         f"{result.guidance_change(g, gs[0], 'presto', 'largo', relative=True).text()} |")
    lines += ["", f"Instrument set: the same regions with {', '.join(BAND)} added to the prompt (\"band\") against "
              "the song's own set; \"data\": the regenerated parts' categories in training songs with the band "
              "against songs with none of it.", "",
              "| guidance | own | band | band − own [95 %] (regions) |", "|---:|---:|---:|---:|"]
    for g in sorted(result.values):
        eff = result.effect(g, "band", "own")
        lines.append(f"| {g:g} | {_num(result.mean(g, 'own', where='band'))} | {_num(result.mean(g, 'band'))} | "
                     f"{eff.text()} ({eff.n}) |")
    for c in sorted(set(categories)):
        w, wo = data.with_band.get(c, (float("nan"), 0)), data.without_band.get(c, (float("nan"), 0))
        lines.append(f"| data, {c} | {_num(wo[0])} (n {wo[1]}) | {_num(w[0])} (n {w[1]}) | {_num(w[0] - wo[0], '+.3f')} |")
    return lines
