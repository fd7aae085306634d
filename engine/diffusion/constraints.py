"""Row grammar for sampling: what a generated cell may hold, given the rest of its row.

The training data has a strict shape that per-cell sampling can break: a note row holds an onset, a pitch
and a duration (never a chord token or a bar length); a chord row holds a chord and a bar length or
``change``; and an unused slot is PAD in *all* its generated cells. Sampling cell by cell (the absorbing
sampler commits its most confident cells first, and PAD is often the most confident) produced rows with
PAD in one cell and a pitch in another, which decode has to drop as inconsistent: a model trained to
1,500 steps kept 1-2 of 32 bass notes that way. Both samplers therefore mask classes the row's kind
rules out, and decide "note or no note" once per row.
"""

from __future__ import annotations

import torch

from engine.diffusion.batch import SABatch
from engine.diffusion.pitch_fit import fit_moves, fit_pitch_classes, onset_key
from engine.representation.vocab import CHANGE as CHANGE_TOKEN
from engine.representation.vocab import (
    CHORD_ROW,
    COL_DURATION,
    COL_INSTRUMENT,
    COL_ONSET,
    COL_PITCH,
    COLUMN_SIZES,
    FIRST_BAR_LENGTH,
    FIRST_CATEGORY,
    FIRST_CHORD,
    FIRST_DURATION,
    FIRST_PITCH,
    FIRST_POS,
    MASK,
    MAX_BAR_LENGTH,
    PAD,
)
from engine.representation.vocab import DURATIONS_16THS as _DURATIONS

NEG_INF = float("-inf")


def _class_sets(device: torch.device) -> dict[str, torch.Tensor]:
    """bool [V_c] class sets of the pitch and duration columns for note rows and chord rows."""
    vp, vd = COLUMN_SIZES[COL_PITCH], COLUMN_SIZES[COL_DURATION]
    ids_p, ids_d = torch.arange(vp, device=device), torch.arange(vd, device=device)
    return {
        "note_pitch": (ids_p == PAD) | ((ids_p >= FIRST_PITCH) & (ids_p < FIRST_CHORD)),
        "chord_pitch": ids_p >= FIRST_CHORD,
        "note_duration": (ids_d == PAD) | ((ids_d >= FIRST_DURATION) & (ids_d < FIRST_DURATION + len(_DURATIONS))),
        "chord_duration": (ids_d == CHANGE_TOKEN) | (ids_d >= FIRST_BAR_LENGTH),
    }


def constrain(logits: list[torch.Tensor], batch: SABatch, tokens: torch.Tensor, pending: torch.Tensor) -> list[torch.Tensor]:
    """Logits with the classes a row cannot hold set to -inf.

    ``tokens`` is the current state and ``pending`` [B, R, 4] the cells not decided yet. A row whose
    instrument cell is a category is a note row, CHORD a chord row; a row with a decided non-PAD onset,
    pitch or duration (given or committed) is not an empty slot, so PAD is ruled out for its other cells.
    """
    sets = _class_sets(tokens.device)
    kind = tokens[..., COL_INSTRUMENT]
    decided_kind = ~pending[..., COL_INSTRUMENT]
    note_row = decided_kind & (kind >= FIRST_CATEGORY)
    chord_row = decided_kind & (kind == CHORD_ROW)
    content = ~pending[..., 1:] & (tokens[..., 1:] != PAD) & (tokens[..., 1:] != MASK)
    has_content = content.any(-1)
    out = []
    for c, lg in enumerate(logits):
        allowed = torch.ones_like(lg, dtype=torch.bool)
        if c == COL_PITCH:
            allowed &= ~note_row[..., None] | sets["note_pitch"]
            allowed &= ~chord_row[..., None] | sets["chord_pitch"]
            if batch.pitch_allowed is not None:  # a part's register or drum kit (part_limits)
                allowed &= batch.pitch_allowed.to(allowed.device)
            allowed &= ~doubled_pitches(batch, tokens, pending)
        elif c == COL_DURATION:
            allowed &= ~note_row[..., None] | sets["note_duration"]
            allowed &= ~chord_row[..., None] | sets["chord_duration"]
        if c != COL_INSTRUMENT:
            allowed[..., PAD] &= ~has_content
            if batch.must_play is not None:  # a repeat's note being rewritten (absorbing.rewritten_notes)
                allowed[..., PAD] &= ~batch.must_play.to(allowed.device)
        lg = lg.masked_fill(~allowed, NEG_INF)
        if c == COL_PITCH and batch.pitch_moves is not None:  # a melody's moves (melody_scale.move_targets)
            lg = fit_moves(lg, batch.pitch_moves.to(lg.device), batch.track_id.to(lg.device), batch.bar_index.to(lg.device),
                           tokens, pending)
        if c == COL_PITCH and batch.pitch_target is not None:  # a melody's pitch classes (melody_scale)
            lg = fit_pitch_classes(lg, batch.pitch_target.to(lg.device), batch.track_id.to(lg.device),
                                   pending[..., COL_PITCH], tokens[..., COL_PITCH], batch.generate[..., COL_PITCH].to(lg.device))
        out.append(lg)
    return out


def empty_rows_where_pad(tokens: torch.Tensor, batch: SABatch, pending: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows with a decided PAD among their generated onset/pitch/duration cells become unused slots: PAD in
    every generated cell of those columns, nothing pending. Returns (tokens, pending)."""
    gen = batch.generate
    pad_any = ((tokens[..., 1:] == PAD) & gen[..., 1:] & ~pending[..., 1:]).any(-1)
    blank = pad_any[..., None] & gen
    blank[..., COL_INSTRUMENT] = False  # the slot keeps its instrument; decode reads [cat, PAD, PAD, PAD] as empty
    return tokens.masked_fill(blank, PAD), pending & ~blank


def commit_consistently(
    tokens: torch.Tensor, pending: torch.Tensor, sampled: torch.Tensor, logp: torch.Tensor,
    commit: torch.Tensor, batch: SABatch,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Write ``sampled`` into the ``commit`` cells, one decision per row about "note or empty slot".

    When one step commits PAD in some cells of a row and content in others (independent draws), the more
    confident side wins: content keeps its cells and the PAD cells stay pending (they are then drawn
    with PAD ruled out); PAD empties the row. Returns (tokens, pending)."""
    body = torch.zeros_like(commit)
    body[..., 1:] = True
    pad_c = commit & body & (sampled == PAD)
    con_c = commit & body & (sampled != PAD)
    pad_conf = logp.masked_fill(~pad_c, NEG_INF).amax(-1)
    con_conf = logp.masked_fill(~con_c, NEG_INF).amax(-1)
    content_wins = pad_c.any(-1) & con_c.any(-1) & (con_conf >= pad_conf)
    commit = commit & ~(pad_c & content_wins[..., None])
    tokens = torch.where(commit, sampled, tokens)
    pending = pending & ~commit
    return empty_rows_where_pad(tokens, batch, pending)


def _note_keys(batch: SABatch, onset: torch.Tensor) -> torch.Tensor:
    """long [B, R]: one value per (track, bar, onset) of each row: rows with equal keys sound together."""
    bar = batch.bar_index.to(onset.device)
    n_bars = int(bar.max()) + 1 if bar.numel() else 1
    return batch.track_id.to(onset.device) * (n_bars * (MAX_BAR_LENGTH + 1)) + onset_key(bar, onset)


def doubled_pitches(batch: SABatch, tokens: torch.Tensor, pending: torch.Tensor) -> torch.Tensor:
    """bool [B, R, V_pitch]: for each note row whose onset is decided and pitch pending, the pitches that
    another row of its part already plays at that onset (decided onset and pitch). A part cannot sound one
    pitch twice at once: the second copy is dropped when the rows become notes, so two rewritten notes of a
    chord that drew the same pitch lost one (a fresh-user run: a guitar's repeated 54 + 61 pairs, both
    rewritten over another chord, came out as 16 single notes where the repeat has 32)."""
    onset, pitch = tokens[..., COL_ONSET], tokens[..., COL_PITCH]
    note = tokens[..., COL_INSTRUMENT] >= FIRST_CATEGORY
    timed = note & ~pending[..., COL_ONSET] & (onset >= FIRST_POS)
    decided = timed & ~pending[..., COL_PITCH] & (pitch >= FIRST_PITCH) & (pitch < FIRST_CHORD)
    asking = timed & pending[..., COL_PITCH]
    out = torch.zeros((*tokens.shape[:2], COLUMN_SIZES[COL_PITCH]), dtype=torch.bool, device=tokens.device)
    if not (decided.any() and asking.any()):
        return out
    key = _note_keys(batch, onset)
    for b in torch.nonzero(asking.any(1) & decided.any(1)).flatten().tolist():
        ask, have = torch.nonzero(asking[b]).flatten(), torch.nonzero(decided[b]).flatten()
        same = key[b, ask][:, None] == key[b, have][None, :]  # [asking, decided]
        if not same.any():
            continue
        held = torch.zeros((len(have), COLUMN_SIZES[COL_PITCH]), dtype=torch.float32, device=tokens.device)
        held[torch.arange(len(have), device=tokens.device), pitch[b, have]] = 1.0
        out[b, ask] = (same.float() @ held) > 0
    return out


def undouble_commits(commit: torch.Tensor, tokens: torch.Tensor, pending: torch.Tensor, sampled: torch.Tensor,
                     logp: torch.Tensor, batch: SABatch) -> torch.Tensor:
    """``commit`` [B, R, 4] without the pitch cells that would sound a pitch twice in one part at one onset:
    a row drawing, in this step, the pitch that another row at its onset holds or draws with more
    confidence keeps its pitch pending, and the next step rules that pitch out (``doubled_pitches``).
    Rows that are or become empty slots are not notes and never clash."""
    onset = torch.where(pending[..., COL_ONSET] & commit[..., COL_ONSET], sampled[..., COL_ONSET], tokens[..., COL_ONSET])
    pitch = torch.where(pending[..., COL_PITCH] & commit[..., COL_PITCH], sampled[..., COL_PITCH], tokens[..., COL_PITCH])
    onset_known = ~pending[..., COL_ONSET] | commit[..., COL_ONSET]
    note = (tokens[..., COL_INSTRUMENT] >= FIRST_CATEGORY) & onset_known & (onset >= FIRST_POS)
    is_pitch = (pitch >= FIRST_PITCH) & (pitch < FIRST_CHORD)
    drawing = note & is_pitch & pending[..., COL_PITCH] & commit[..., COL_PITCH]
    if not drawing.any():
        return commit
    held = note & is_pitch & ~pending[..., COL_PITCH]
    key = _note_keys(batch, onset) * COLUMN_SIZES[COL_PITCH] + pitch.clamp(min=0)
    conf = logp[..., COL_PITCH]
    out = commit.clone()
    for b in torch.nonzero(drawing.any(1)).flatten().tolist():
        rows = torch.nonzero(drawing[b] | held[b]).flatten()
        # the held note first, then the drawn ones by confidence: every later row with a key seen is a double
        rank = torch.where(held[b, rows], torch.full_like(conf[b, rows], float("inf")), conf[b, rows])
        rows = rows[torch.argsort(rank, descending=True, stable=True)]
        seen: set[int] = set()
        for r, k in zip(rows.tolist(), key[b, rows].tolist(), strict=True):
            if k in seen and bool(drawing[b, r]):
                out[b, r, COL_PITCH] = False
            seen.add(k)
    return out
