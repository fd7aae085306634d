"""Absorbing-state (masked) discrete diffusion over SA cells: MDLM-style training, MaskGIT-style sampling.

Forward process: each generated cell is replaced by its column's MASK token with probability t ~ U(0, 1)
(the linear schedule alpha_t = 1 - t). The model sees the MASK tokens plus every given cell and predicts
the clean token of each masked cell. The loss is the plain mean cross-entropy over masked cells: MDLM's
1/t weighting is the exact ELBO but gives high-variance gradients at small t, and we sample with a few
confident-first steps (MaskGIT) rather than ancestral steps, so the ELBO's weighting buys nothing.

The model's time input is the fraction of generated cells still masked (x 1000), computed the same way in
training and in sampling, so a sampling state always looks like a training state.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
import torch.nn.functional as F

from engine.diffusion.base import (
    Cancel,
    Diffusion,
    GuidedModel,
    Progress,
    check_cancel,
    drop_prompt,
    inference,
)
from engine.diffusion.batch import SABatch
from engine.diffusion.constraints import commit_consistently, constrain, undouble_commits
from engine.model.density import drop_density, truth_density
from engine.model.network import SAModel
from engine.representation.vocab import (
    CHORD_ROW,
    COL_DURATION,
    COL_INSTRUMENT,
    COL_ONSET,
    COL_PITCH,
    COLUMN_INDEX,
    MASK,
    N_COLUMNS,
    PAD,
)

DRUM_ROW = COLUMN_INDEX[COL_INSTRUMENT]["DRUMS"]


def masked_fraction(masked: torch.Tensor, generate: torch.Tensor) -> torch.Tensor:
    """Per example: masked cells / generated cells, on the model's 0-1000 time scale."""
    n_gen = generate.flatten(1).sum(1).clamp(min=1)
    return 1000.0 * masked.flatten(1).sum(1) / n_gen


class AbsorbingDiffusion(Diffusion):
    kind = "absorbing"
    tie_empty_rows = True  # one "note or empty slot" draw per row (draw_cells); False: each cell on its own
    # Loss weight of the chord cells of chord rows (TrainConfig.chord_loss_weight): a region has two chord
    # rows a bar against dozens of note rows, so at weight 1 the chords are a few per cent of the loss.
    chord_weight = 1.0
    starts_from_seeds = True  # sample(novelty < 1) keeps a share of batch.seed's rows (repeats.py)
    # Share of training examples whose part-density condition is dropped (TrainConfig.density_dropout), for
    # models with ``density_condition``; it is dropped with the prompt too (drop_prompt).
    density_dropout = 0.3

    def loss(
        self, model: SAModel, batch: SABatch, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        if model.cfg.density_condition:  # the masked parts' true densities, dropped at random
            truth = truth_density(batch.tokens, batch.generate, batch.track_id, batch.bar_index, batch.valid)
            batch = replace(batch, density=drop_density(truth, self.density_dropout, generator=generator))
        batch = drop_prompt(batch, self.cfg.cond_dropout, generator)
        gen = batch.generate
        dev = gen.device
        rate = torch.rand(batch.size, generator=generator, device=dev)
        masked = gen & (torch.rand(gen.shape, generator=generator, device=dev) < rate[:, None, None])
        cells = batch.tokens.masked_fill(masked, MASK)
        out = model(cells, batch.given, batch.track_id, batch.bar_index, batch.valid,
                    batch.tempo, batch.instruments, masked_fraction(masked, gen), density=batch.density)
        n = masked.sum().clamp(min=1)
        ce = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev)
        chord_rows = batch.tokens[..., 0] == CHORD_ROW
        for c in range(N_COLUMNS):
            m = masked[..., c]
            logits, target = out.logits[c][m], batch.tokens[..., c][m]
            per_cell = F.cross_entropy(logits, target, reduction="none")
            if c == COL_PITCH and self.chord_weight != 1.0:  # a chord row's chord is in the pitch column
                per_cell = per_cell * torch.where(chord_rows[m], self.chord_weight, 1.0)
            ce = ce + per_cell.sum()
            correct = correct + (logits.argmax(-1) == target).sum()
        loss = ce / n
        return loss, {"loss": loss.item(), "acc": (correct / n).item(), "masked": float(masked.sum())}

    def sample(
        self,
        model: SAModel,
        batch: SABatch,
        steps: int = 10,
        guidance: float = 1.0,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        progress: Progress | None = None,
        cancel: Cancel | None = None,
        novelty: float = 1.0,
    ) -> torch.Tensor:
        """Start with every generated cell MASK; each step predicts all masked cells, samples them with
        `temperature` (0 = argmax) and commits the most confident so that a cosine share stays masked
        (MaskGIT); the last step commits everything. Given cells are never touched. Each row is decided
        once as a note or an empty slot, with classes its kind rules out masked (constraints.py); cells left
        pending by that rule are drawn, PAD excluded, after the last step.

        With ``batch.seed`` and ``novelty`` < 1, the repeat is first revealed where it is kept (a note's
        pitch with probability 1 - ``novelty``, its rhythm, and a drum bar, with 1 - ``novelty``**2;
        ``reveal_seeds``; a row whose seed pitch the part limits rule out stays masked) and the steps
        generate the rest on it: SDEdit's partial start (repeats.py). A seeded empty slot (the repeat plays
        no note there) is always revealed, and a seeded note not kept whole is rewritten as a note
        (``rewritten_notes``), so the region plays as many notes as its repeat. At ``novelty`` 1 no random
        number is drawn for it, so results equal those without seeds."""
        if steps < 1:
            raise ValueError("steps must be >= 1")
        if not 0.0 <= novelty <= 1.0:
            raise ValueError(f"novelty must be between 0 and 1, got {novelty}")
        gen = batch.generate
        masked = gen.clone()
        tokens = batch.tokens.masked_fill(gen, MASK)
        if batch.seed is not None and novelty < 1.0:
            tokens, masked = reveal_seeds(tokens, masked, batch, novelty, generator)
            batch = replace(batch, must_play=rewritten_notes(batch, masked))
        n_gen = masked.flatten(1).sum(1)  # the cosine schedule runs over what is left to generate
        with inference(model):
            call = GuidedModel(model, batch, guidance)
            for s in range(steps):
                check_cancel(cancel)
                out = call(tokens, masked_fraction(masked, gen))
                logits = constrain(out.logits, batch, tokens, masked)
                sampled, logp = self._draw(logits, masked, temperature, generator)
                keep = torch.floor(n_gen * math.cos(math.pi / 2 * (s + 1) / steps)).long()
                keep = keep if s < steps - 1 else torch.zeros_like(keep)
                n_commit = (masked.flatten(1).sum(1) - keep).clamp(min=0)
                conf = logp.masked_fill(~masked, float("-inf")).flatten(1)
                order = conf.argsort(dim=1, descending=True, stable=True)
                positions = torch.arange(order.shape[1], device=order.device).expand_as(order)
                rank = torch.empty_like(order).scatter_(1, order, positions)  # rank 0 = most confident
                commit = masked & (rank < n_commit[:, None]).view_as(masked)
                if s < steps - 1:  # a pitch drawn twice at one onset of a part waits a step (the last commits all)
                    commit = undouble_commits(commit, tokens, masked, sampled, logp, batch)
                tokens, masked = commit_consistently(tokens, masked, sampled, logp, commit, batch)
                if progress is not None:
                    progress(s + 1, steps)
            if masked.any():  # cells a row's content decision left open at the last step: no extra model call
                logits = constrain(out.logits, batch, tokens, masked)
                sampled, logp = self._draw(logits, masked, temperature, generator)
                tokens, masked = commit_consistently(tokens, masked, sampled, logp, masked, batch)
        return tokens

    def _draw(
        self, logits: list[torch.Tensor], pending: torch.Tensor, temperature: float, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample one token per cell -> (tokens, their log-probabilities); see ``draw_cells``."""
        return draw_cells(logits, pending, temperature, generator, tie_empty_rows=self.tie_empty_rows)


def reveal_seeds(tokens: torch.Tensor, masked: torch.Tensor, batch: SABatch, novelty: float,
                 generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(tokens, masked) with the seed revealed where the repeat is kept: of a pitched part's seeded note,
    the pitch with probability 1 - ``novelty`` and the rhythm (onset and duration) with probability
    1 - ``novelty``**2, both when the pitch is (one draw per row); of a drum part, a whole bar with
    probability 1 - ``novelty``**2 (one draw per track and bar); every seeded empty slot (it stays empty).

    Why rhythm changes less than pitch: a part's rhythm is what a listener recognises it by (a groove, a
    bass pattern, a melody's rhythm in its second verse), and the network rewrites it less well than it
    picks a pitch. With rhythm and pitch drawn together at novelty 0.3, the real-band validation melodies
    kept an onset-interval overlap with the truth of 0.795 (copying 0.865); with rhythm drawn at
    novelty**2, 0.838, and the drums of 21 POP909 test songs kept their per-piece patterns 0.958 instead of
    0.940 (copying 0.955). At novelty 1 everything is new, at 0 everything is the repeat, in between both
    shares grow with it. Drums go a whole bar at a time: with rows drawn one by one at novelty 0.3, drum
    bars missing some hits were rebuilt with a backbeat in only 0.72 of bars (valid split, model card).

    Novelty rewrites the repeat's notes; it does not add notes where the repeat rests. When empty slots
    were drawn like notes, a share of them was regenerated too and the network filled many: 30 POP909 test
    melodies at novelty 0.3 played 6.2 notes a bar where the truth plays 5.8 (model card, "Rests stay
    rests"). Slots the seed leaves MASK (those the density prompt adds, repeats.seed_rows) are no seed and
    stay free."""
    seed = batch.seed.to(tokens.device)
    seeded = masked & (seed != MASK)
    rows = seeded[..., 1:].any(-1)  # [B, R]
    if batch.pitch_allowed is not None:  # a seed pitch outside the part's limits (a register from other bars)
        allowed = batch.pitch_allowed.to(tokens.device)
        ok = allowed.gather(-1, seed[..., COL_PITCH].clamp(min=0)[..., None])[..., 0]
        rows &= ok | ~seeded[..., COL_PITCH]
    draw = torch.rand(rows.shape, generator=generator, device=tokens.device)
    drums = rows & (batch.tokens[..., COL_INSTRUMENT].to(tokens.device) == DRUM_ROW)
    if drums.any():  # one draw per (track, bar) for drum rows
        bar = batch.bar_index.to(tokens.device)
        group = batch.track_id.to(tokens.device) * (int(bar.max()) + 1) + bar
        per_bar = torch.rand((rows.shape[0], int(group.max()) + 1), generator=generator, device=tokens.device)
        draw = torch.where(drums, per_bar.gather(1, group), draw)
    rest = seed[..., COL_ONSET] == PAD  # a seeded empty slot: the repeat has no note there
    rhythm_kept = draw >= novelty * novelty
    keep = rows & (rest | torch.where(drums, rhythm_kept, draw >= novelty))
    reveal = seeded & keep[..., None]
    rhythm = torch.zeros_like(reveal)
    rhythm[..., COL_ONSET] = rhythm[..., COL_DURATION] = True
    reveal |= seeded & rhythm & (rows & ~drums & rhythm_kept)[..., None]
    return torch.where(reveal, seed, tokens), masked & ~reveal


def rewritten_notes(batch: SABatch, masked: torch.Tensor) -> torch.Tensor:
    """bool [B, R]: the rows whose seed is a note and which ``reveal_seeds`` left masked: the sampler
    rewrites each as a note (its empty class is ruled out, constraints.constrain), so a region at novelty
    below 1 keeps its repeat's number of notes. Left free to be empty, the model emptied some: at novelty
    0.3 the drums of 21 POP909 test songs kept 0.933 of their per-piece pattern, 0.940 with every
    rewritten row a note (model card, "Rests stay rests")."""
    seed = batch.seed.to(masked.device)
    note = (seed[..., COL_ONSET] != PAD) & (seed[..., COL_ONSET] != MASK)
    return note & masked[..., COL_ONSET]


def _gumbel_argmax(lg: torch.Tensor, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
    if temperature <= 0:
        return lg.argmax(-1)
    u = torch.rand(lg.shape, generator=generator, device=lg.device).clamp_(1e-10, 1.0)
    return (lg / temperature - torch.log(-torch.log(u))).argmax(-1)


def draw_cells(
    logits: list[torch.Tensor], pending: torch.Tensor, temperature: float, generator: torch.Generator | None,
    tie_empty_rows: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One token per cell (Gumbel-max at ``temperature``; 0 = argmax) and its log-probability.

    "Is this slot a note or empty?" is one question per row, but onset, pitch and duration each have a PAD
    class. Drawn cell by cell, a row whose cells each say PAD with probability p gets at least one PAD
    draw with probability 1 - (1 - p)^3, and a PAD draw (one sharp class) is usually more confident than a
    content draw (one of many), so it tends to be committed first and empty the row: up to 0.78 of the
    rows the model thought 0.4 likely to be empty. The default model made 27 % fewer notes than the test
    songs; tying the draw gave it 5 % more notes and a slightly better groove (model card). With
    ``tie_empty_rows`` each row draws "empty" once, with the mean PAD probability of its
    pending onset/pitch/duration cells; an empty row gets PAD in those cells (log-probability log p), a
    note row draws each cell with PAD excluded (log(1 - p) + its log-probability among the rest)."""
    tokens, logps = [], []
    body = range(1, len(logits))
    if tie_empty_rows:
        pads = []
        for c in body:
            lp = (logits[c].float() / max(temperature, 1e-6)).log_softmax(-1)[..., PAD].exp()
            pads.append(torch.where(pending[..., c], lp, torch.full_like(lp, float("nan"))))
        p_row = torch.stack(pads, -1).nanmean(-1).nan_to_num(0.0).clamp(0.0, 1.0)  # [B, R]
        if temperature > 0:
            empty = torch.rand(p_row.shape, generator=generator, device=p_row.device) < p_row
        else:
            empty = p_row > 0.5
    for c, lg in enumerate(logits):
        lg = lg.float()
        if not tie_empty_rows or c == 0:
            tok = _gumbel_argmax(lg, temperature, generator)
            tokens.append(tok)
            logps.append(lg.log_softmax(-1).gather(-1, tok[..., None])[..., 0])
            continue
        no_pad = lg.clone()
        no_pad[..., PAD] = float("-inf")
        tok = _gumbel_argmax(no_pad, temperature, generator)
        content_lp = no_pad.log_softmax(-1).gather(-1, tok[..., None])[..., 0].nan_to_num(float("-inf"))
        pad_ok = torch.isfinite(lg[..., PAD])
        use_pad = (empty & pad_ok) | torch.isneginf(content_lp)  # a cell with nothing but PAD allowed
        tok = torch.where(use_pad, torch.full_like(tok, PAD), tok)
        lp = torch.where(use_pad, torch.log(p_row.clamp(min=1e-12)), torch.log1p(-p_row.clamp(max=1 - 1e-6)) + content_lp)
        tokens.append(tok)
        logps.append(lp)
    return torch.stack(tokens, -1), torch.stack(logps, -1)
