"""Fitting a regenerated part's pitch classes to a target at every sampling step (melody_scale), and
weighing a melody's pending pitches by its moves (``fit_moves``).

For each part with a target (``SABatch.pitch_target``), the pitch distributions of its rows still to be
sampled are reweighted by one weight per pitch class, found by iterative proportional fitting (Deming and
Stephan 1940) so that the decided notes plus the expected ones have the target's pitch-class histogram.
Each row keeps its own shape within a pitch class and the probability of leaving its slot empty.
Recomputed at every step from what is decided by then: fitting only the rows still pending to the target
made the first-committed (most confident) classes win again at every step, and the region ended on the
melody's most common pitch class.
"""

from __future__ import annotations

import torch

from engine.representation.vocab import (
    COL_INSTRUMENT,
    COL_ONSET,
    COL_PITCH,
    FIRST_CATEGORY,
    FIRST_PITCH,
    FIRST_POS,
    MAX_BAR_LENGTH,
    PITCH_MAX,
    PITCH_MIN,
)

# The fitted weights are raised to this power: the region's pitch classes end between the network's own
# (which know the region's chords) and the target (the melody's scale around it), near their geometric
# mean. Melody task, POP909 test (24 regions) / real band (11), pitch-class overlap, PCTM L1, chord-tone
# ratio: off 0.819, 0.832, 0.750 / 0.759, 0.824, 0.838; 0.5: 0.851, 0.820, 0.692 / 0.796, 0.828, 0.766;
# 1: 0.846, 0.863, 0.651 / 0.797, 0.841, 0.742 (truth's chord tones 0.681 / 0.864; measured with the target
# smoothed by half a count, before ``melody_scale.pitch_class_distribution`` dropped it; model card).
STRENGTH = 0.5
ITERATIONS = 8  # proportional-fitting sweeps per step (the mean moves < 1e-3 after about 5 on test songs)
FLOOR = 1e-3  # least share of the notes left to sample a class is steered to (a class over its target, or unplayed)
N_PITCH = PITCH_MAX - PITCH_MIN + 1
PITCH_CLASS = (torch.arange(N_PITCH) + PITCH_MIN) % 12  # pitch token FIRST_PITCH + k -> its pitch class


def class_weights(probs: torch.Tensor, note_prob: torch.Tensor, target: torch.Tensor,
                  iterations: int = ITERATIONS, never_raise: torch.Tensor | None = None) -> torch.Tensor:
    """log-weights [12] w such that the ``note_prob``-weighted mean of the rows ``probs`` [n, 12]
    (each a pitch-class distribution) reweighted by exp(w) and renormalised per row is ``target`` [12]
    (a distribution): iterative proportional fitting. A class no row can play keeps weight 0; a class in
    ``never_raise`` (bool [12]) keeps w <= 0, so the fit only ever lowers it."""
    logw = torch.zeros(12, dtype=probs.dtype, device=probs.device)
    weight = note_prob / note_prob.sum().clamp_min(1e-12)
    for _ in range(iterations):
        pw = probs * logw.exp()
        pw = pw / pw.sum(-1, keepdim=True).clamp_min(1e-12)
        mean = (pw * weight[:, None]).sum(0)
        logw = logw + torch.where(mean > 1e-12, torch.log(target.clamp_min(1e-12)) - torch.log(mean.clamp_min(1e-12)),
                                  torch.zeros_like(mean))
        if never_raise is not None:
            logw = torch.where(never_raise, logw.clamp(max=0.0), logw)
    return logw


def fit_pitch_classes(logits: torch.Tensor, target: torch.Tensor, track_id: torch.Tensor, pending: torch.Tensor,
                      pitch_tokens: torch.Tensor, generated: torch.Tensor, strength: float = STRENGTH) -> torch.Tensor:
    """Pitch-column logits [B, R, V] with each targeted part's pending rows reweighted (module docstring) by
    the fitted weights raised to ``strength`` (1: the full fit; 0: nothing).

    ``target`` [B, R, 12]: a part's pitch-class distribution on its generated rows, zeros for none;
    ``track_id`` [B, R]; ``pending`` [B, R]: the pitch cell is still to sample; ``pitch_tokens`` [B, R]: the
    current pitch cells; ``generated`` [B, R]: the pitch cell is generated (not given). A part's decided
    notes count as they are; the target for its pending rows is what the whole region then lacks (never
    below FLOOR of it)."""
    has_target = target.sum(-1) > 0
    if not (has_target & pending).any():
        return logits
    lo, hi = FIRST_PITCH, FIRST_PITCH + N_PITCH
    pcs = PITCH_CLASS.to(logits.device)
    out = logits.clone()
    probs = torch.softmax(logits.float(), dim=-1)
    note_prob = probs[..., lo:hi].sum(-1)  # [B, R]: the row is a note (not an empty slot)
    for b in range(logits.shape[0]):
        for t in torch.unique(track_id[b][has_target[b] & pending[b]]).tolist():
            part = has_target[b] & (track_id[b] == t)
            rows = part & pending[b]
            tok = pitch_tokens[b][part & ~pending[b] & generated[b]]
            tok = tok[(tok >= lo) & (tok < hi)]
            decided = torch.bincount(pcs[tok - lo], minlength=12).to(probs.dtype)
            p_pitch = probs[b][rows][:, lo:hi]
            p_pc = torch.zeros(len(p_pitch), 12, dtype=probs.dtype, device=logits.device).index_add_(1, pcs, p_pitch)
            e = note_prob[b][rows]
            if float(e.sum()) <= 1e-9:
                continue
            q = target[b][part][0].to(probs.dtype)
            want = (q * (decided.sum() + e.sum()) - decided).clamp_min(FLOOR * float(e.sum()))
            logw = strength * class_weights(p_pc / p_pc.sum(-1, keepdim=True).clamp_min(1e-12), e, want / want.sum(),
                                            never_raise=q <= 0)
            x = logits[b][rows][:, lo:hi]
            mass = torch.logsumexp(x, -1, keepdim=True)
            y = x + logw[pcs].to(x.dtype)
            y = y - torch.logsumexp(y, -1, keepdim=True) + mass
            sub = out[b][rows]
            sub[:, lo:hi] = torch.where(torch.isfinite(mass), y, x)
            out[b, rows] = sub
    return out


# A pending melody pitch is weighed by the melody's own moves around the region (melody_scale.move_targets):
# P(class | the note before) x P(the note after | class), raised to this power, on top of the network's
# distribution (which has read those notes too, so at 1 the moves count twice). Melody task at novelty 0.3,
# PCTM L1 at 0 / 0.5 / 1: POP909 valid (17 regions, where it was chosen) 0.757 / 0.750 / 0.753, test (24)
# 0.742 / 0.684 / 0.661, real band (11) 0.771 / 0.698 / 0.686 (copying 0.974, 0.837, 0.751); pitch-class
# overlap within 0.006 and chord-tone ratio within 0.018 of 0 everywhere (model card).
MOVES_STRENGTH = 0.5
MOVE_FLOOR = 1e-3  # least weight a move the melody never makes gets (before MOVES_STRENGTH)


def onset_key(bar_index: torch.Tensor, onset: torch.Tensor) -> torch.Tensor:
    """long: the position of a row's onset in its window (bar, then onset token), to order a line's notes
    and to find the notes that sound together."""
    return bar_index * (MAX_BAR_LENGTH + 1) + (onset - FIRST_POS).clamp(0, MAX_BAR_LENGTH)


def fit_moves(logits: torch.Tensor, moves: torch.Tensor, track_id: torch.Tensor, bar_index: torch.Tensor,
              tokens: torch.Tensor, pending: torch.Tensor, strength: float | None = None) -> torch.Tensor:
    """Pitch-column logits [B, R, V] with each pending pitch of a part with moves weighed by the moves from
    the part's note before it to it and from it to the note after it (by bar and onset), where those
    notes' pitches are decided: the posterior of a pitch between two known neighbours under the melody's
    first-order Markov chain, P(x | a) P(c | x), raised to ``strength``.

    ``moves`` [B, R, 144]: per row its part's [from, to] transition probabilities flattened, zeros for none;
    ``track_id``, ``bar_index`` [B, R]; ``tokens`` [B, R, 4]: the current cells; ``pending`` [B, R, 4]:
    the cells still to sample. A row whose onset is pending has no neighbours yet, and one at the same
    onset is no neighbour (a melody's dyad). ``strength``: MOVES_STRENGTH when None."""
    strength = MOVES_STRENGTH if strength is None else strength
    has = moves.sum(-1) > 0
    want = has & pending[..., COL_PITCH] & ~pending[..., COL_ONSET]
    if strength <= 0 or not want.any():
        return logits
    lo, hi = FIRST_PITCH, FIRST_PITCH + N_PITCH
    pcs = PITCH_CLASS.to(logits.device)
    onset = tokens[..., COL_ONSET]
    pitch = tokens[..., COL_PITCH]
    is_onset = (onset >= FIRST_POS) & ~pending[..., COL_ONSET] & (tokens[..., COL_INSTRUMENT] >= FIRST_CATEGORY)
    known_pitch = (pitch >= lo) & (pitch < hi) & ~pending[..., COL_PITCH]
    out = logits.clone()
    for b in range(logits.shape[0]):
        for t in torch.unique(track_id[b][want[b]]).tolist():
            part = (track_id[b] == t) & is_onset[b]
            rows = torch.nonzero(part).flatten()
            key = onset_key(bar_index[b][rows], onset[b][rows])
            order = torch.argsort(key, stable=True)
            rows, key = rows[order], key[order]
            table = moves[b][rows[want[b][rows]][0]].view(12, 12).clamp_min(MOVE_FLOOR).log()
            for i in torch.nonzero(want[b][rows]).flatten().tolist():
                r = int(rows[i])
                logw = torch.zeros(12, dtype=table.dtype, device=table.device)
                before = torch.nonzero(key[:i] < key[i]).flatten()
                if len(before) and bool(known_pitch[b, rows[before[-1]]]):
                    logw += table[int(pcs[pitch[b, rows[before[-1]]] - lo])]
                after = torch.nonzero(key[i + 1:] > key[i]).flatten()
                if len(after) and bool(known_pitch[b, rows[i + 1 + after[0]]]):
                    logw += table[:, int(pcs[pitch[b, rows[i + 1 + after[0]]] - lo])]
                out[b, r, lo:hi] = logits[b, r, lo:hi] + (strength * logw)[pcs].to(logits.dtype)
    return out
