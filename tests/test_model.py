"""SAModel: shapes, -inf masking of heads, long-axis attention masks, padding, checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.diffusion.batch import SABatch, collate
from engine.errors import CheckpointError
from engine.model import ModelConfig, SAModel
from engine.model.attention import long_axis_mask
from engine.model.checkpoint import CONFIG, WEIGHTS, load_checkpoint, read_checkpoint_info, save_checkpoint
from engine.representation import vocab as V
from engine.representation.example import SAExample

torch.set_num_threads(1)


def random_example(seed: int, n_bars: int = 3, notes_per_track: int = 2, n_tracks: int = 2) -> SAExample:
    """A well-formed SA table: per bar one chord row then notes_per_track rows per track."""
    rng = np.random.default_rng(seed)
    rows, track, bar = [], [], []
    for b in range(n_bars):
        rows.append([V.CHORD_ROW, V.FIRST_POS, V.chord_token(int(rng.integers(12)), ""), V.bar_length_token(32)])
        track.append(0)
        bar.append(b)
        for k in range(1, n_tracks + 1):
            for _ in range(notes_per_track):
                rows.append([V.category_token("PIANO" if k == 1 else "BASS"), V.FIRST_POS + int(rng.integers(32)),
                             V.pitch_token(int(rng.integers(40, 80))), V.duration_token(4)])
                track.append(k)
                bar.append(b)
    tokens = np.array(rows, dtype=np.int64)
    track_a = np.array(track, dtype=np.int64)
    given = np.ones_like(tokens, dtype=bool)
    given[track_a == n_tracks] = False
    inst = np.zeros(V.N_CATEGORIES, dtype=bool)
    inst[[1, 6]] = True
    return SAExample(tokens, given, track_a, np.array(bar, dtype=np.int64), tempo=1, instruments=inst)


def run(model: SAModel, b: SABatch, t: float = 500.0, tokens: torch.Tensor | None = None):
    model.eval()
    with torch.no_grad():
        return model(b.tokens if tokens is None else tokens, b.given, b.track_id, b.bar_index, b.valid,
                     b.tempo, b.instruments, torch.full((b.size,), t))


def train_and_sample(cfg: ModelConfig, n_bars: int = 4) -> SAModel:
    """One loss + backward and one 2-step guided sample with ``cfg`` (a model option's smoke test): the
    loss is finite and the sample keeps every given cell. Returns the model, its gradients filled, so the
    caller can check the option's own parameters learn."""
    from engine.diffusion import make_diffusion

    model, diffusion = SAModel(cfg), make_diffusion(cfg)
    b = collate([random_example(0, n_bars=n_bars), random_example(1, n_bars=n_bars)], cfg.max_rows)
    loss, _ = diffusion.loss(model, b, torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss)
    tokens = diffusion.sample(model, b, steps=2, guidance=1.5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(tokens[b.given], b.tokens[b.given])
    return model


@pytest.mark.parametrize("combine", ["concat", "sum"])
def test_forward_shapes_for_ids_and_vectors(combine: str) -> None:
    cfg = ModelConfig.tiny(combine=combine)
    model = SAModel(cfg)
    b = collate([random_example(0), random_example(1, n_bars=2)], cfg.max_rows)
    out = run(model, b)
    B, R = b.tokens.shape[:2]
    assert out.hidden.shape == (B, R, 4, cfg.cell_embed_dim)
    assert [lg.shape for lg in out.logits] == [(B, R, v) for v in V.COLUMN_SIZES]
    vectors = model.embedding.embed_tokens(b.tokens)
    assert torch.allclose(run(model, b, tokens=vectors).hidden, out.hidden, atol=1e-6)


def test_presets_sizes() -> None:
    assert 3_000_000 <= SAModel(ModelConfig.small()).num_parameters() <= 6_000_000
    assert SAModel(ModelConfig.tiny()).num_parameters() < 300_000
    cfg = ModelConfig.base()
    assert (cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.ffn) == (768, 12, 12, 3072)


def test_config_json_round_trip_and_validation() -> None:
    cfg = ModelConfig.tiny(diffusion="embedding", combine="sum")
    assert ModelConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(ValueError):
        ModelConfig.from_dict({**cfg.to_dict(), "surprise": 1})
    with pytest.raises(ValueError):
        ModelConfig.tiny(n_full_heads=3)


def test_heads_mask_is_minus_inf_never_zero() -> None:
    model = SAModel(ModelConfig.tiny())
    b = collate([random_example(0)], 256)
    out = run(model, b)
    for lg in out.logits:
        assert torch.isneginf(lg[..., V.MASK]).all()
        assert torch.isfinite(lg[..., V.PAD]).all() and torch.isfinite(lg[..., 2:]).all()
    prompt = model.prompt(b.tempo, b.instruments)
    g = model.heads.global_logits(out.hidden, prompt)
    assert g.shape == (1, b.tokens.shape[1], 4, V.GLOBAL_SIZE)
    for c in range(4):
        lo, hi = V.COLUMN_OFFSETS[c], V.COLUMN_OFFSETS[c] + V.COLUMN_SIZES[c]
        own = g[:, :, c, lo:hi]
        assert torch.equal(own, out.logits[c])
        assert torch.isneginf(g[:, :, c, :lo]).all() and torch.isneginf(g[:, :, c, hi:]).all()
        assert torch.isneginf(g[:, :, c, lo + V.MASK]).all()
        assert (g[:, :, c].argmax(-1) - lo).ge(0).all()  # the argmax can only land in the column's own classes


def test_instrument_head_sees_the_prompt() -> None:
    model = SAModel(ModelConfig.tiny())
    b = collate([random_example(0)], 256)
    h = torch.randn(1, b.tokens.shape[1], 4, 16)
    a = model.logits(h, b.tempo, b.instruments)
    z = model.logits(h, b.tempo, torch.zeros_like(b.instruments))
    assert not torch.allclose(a[V.COL_INSTRUMENT], z[V.COL_INSTRUMENT])
    assert torch.equal(a[V.COL_PITCH], z[V.COL_PITCH])


def test_long_axis_mask_builder() -> None:
    cfg = ModelConfig.tiny()  # heads: 2 full, 1 track, 1 bar
    track = torch.tensor([[0, 1, 2, 1, 0, 2, 0]])
    bar = torch.tensor([[0, 0, 0, 1, 2, 2, 0]])
    valid = torch.tensor([[True, True, True, True, True, True, False]])
    m = long_axis_mask(track, bar, valid, cfg)[0]
    assert m.shape == (4, 7, 7)
    eye = torch.eye(7, dtype=torch.bool)
    assert torch.equal(m[0], m[1])
    assert m.diagonal(dim1=1, dim2=2).all()  # every row sees itself: no NaN rows
    assert not m[:, :6, 6].any()  # no valid row reads the padded one
    assert torch.equal(m[:, 6], eye[6].expand(4, 7))  # the padded row reads only itself
    both = valid[0][:, None] & valid[0][None]
    same_track = (track[0, :, None] == track[0, None, :]) & both
    assert torch.equal(m[2], same_track | eye)
    near_bar = ((bar[0, :, None] - bar[0, None, :]).abs() <= 1) & both
    assert torch.equal(m[3], near_bar | eye)
    assert not m[3, 0, 4] and m[3, 3, 4]  # bar 0 does not see bar 2; bar 1 does


def test_track_heads_cannot_see_other_tracks() -> None:
    torch.manual_seed(0)
    only_track = SAModel(ModelConfig.tiny(n_full_heads=0, n_track_heads=4, n_bar_heads=0))
    with_full = SAModel(ModelConfig.tiny())
    b = collate([random_example(3)], 256)
    other = b.tokens.clone()
    t2 = b.track_id[0] == 2
    other[0, t2, V.COL_PITCH] = V.pitch_token(90)
    track1 = b.track_id[0] == 1
    a, z = run(only_track, b).hidden, run(only_track, b, tokens=other).hidden
    assert torch.equal(a[0, track1], z[0, track1])
    assert not torch.allclose(a[0, t2], z[0, t2])
    a, z = run(with_full, b).hidden, run(with_full, b, tokens=other).hidden
    assert not torch.allclose(a[0, track1], z[0, track1])  # full heads do see other tracks


def test_padding_does_not_change_valid_rows() -> None:
    model = SAModel(ModelConfig.tiny())
    short = random_example(5, n_bars=2)
    alone = run(model, collate([short], 256)).hidden[0]
    padded = run(model, collate([short, random_example(6, n_bars=4)], 256)).hidden
    n = short.n_rows
    assert torch.isfinite(padded).all()
    assert torch.allclose(padded[0, :n], alone, atol=1e-5)


def test_rows_beyond_max_rows_are_refused() -> None:
    with pytest.raises(ValueError):
        collate([random_example(0, n_bars=4)], max_rows=8)


def test_checkpoint_round_trip(tmp_path) -> None:
    cfg = ModelConfig.tiny(diffusion="embedding")
    torch.manual_seed(1)
    model = SAModel(cfg)
    save_checkpoint(tmp_path / "ckpt", model, metadata={"steps": 12, "data": "synthetic"})
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == [CONFIG, WEIGHTS]
    loaded, cfg2 = load_checkpoint(tmp_path / "ckpt")
    assert cfg2 == cfg and not loaded.training
    b = collate([random_example(2)], 256)
    assert torch.equal(run(model, b).hidden, run(loaded, b).hidden)
    info = read_checkpoint_info(tmp_path / "ckpt")
    assert info["metadata"] == {"steps": 12, "data": "synthetic"}
    assert info["vocab"]["version"] == V.VOCAB_VERSION and info["diffusion"] == "embedding"


def _edit_config(path, edit) -> None:
    info = json.loads((path / CONFIG).read_text())
    edit(info)
    (path / CONFIG).write_text(json.dumps(info))


def test_checkpoint_refuses_mismatches(tmp_path) -> None:
    model = SAModel(ModelConfig.tiny())
    d = save_checkpoint(tmp_path / "a", model)
    _edit_config(d, lambda i: i["vocab"].update(version="sa-v0"))
    with pytest.raises(CheckpointError, match="vocabulary"):
        load_checkpoint(d)

    d = save_checkpoint(tmp_path / "b", model)
    _edit_config(d, lambda i: i["vocab"].update(column_sizes=[21, 98, 211, 110]))
    with pytest.raises(CheckpointError, match="column_sizes"):
        load_checkpoint(d)

    d = save_checkpoint(tmp_path / "c", model)  # weights from another save: the hash no longer matches
    save_checkpoint(tmp_path / "other", SAModel(ModelConfig.tiny(ffn=128)))
    (d / WEIGHTS).write_bytes((tmp_path / "other" / WEIGHTS).read_bytes())
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(d)

    d = save_checkpoint(tmp_path / "d", model)  # consistent files, but a tensor missing
    from safetensors.torch import load_file, save_file

    from engine.model import checkpoint as ck

    state = load_file(str(d / WEIGHTS))
    state.pop("heads.proj.0.weight")
    save_file(state, str(d / WEIGHTS))
    _edit_config(d, lambda i: i.update(weights_sha256=ck._sha256(d / WEIGHTS)))
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(d)

    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(tmp_path / "nowhere")


def test_windows_longer_than_max_bars_do_not_fail() -> None:
    """A sparse song's window may span more bars than the bar embedding has; the model must still run."""
    import torch

    from engine.model.config import ModelConfig
    from engine.model.network import SAModel

    cfg = ModelConfig.tiny(max_bars=4)
    model = SAModel(cfg).eval()
    R = 10
    tokens = torch.zeros(1, R, 4, dtype=torch.long)
    out = model(tokens, torch.ones(1, R, 4, dtype=torch.bool), torch.zeros(1, R, dtype=torch.long),
                torch.arange(R)[None], torch.ones(1, R, dtype=torch.bool), torch.tensor([0]),
                torch.zeros(1, 18), torch.zeros(1))
    assert torch.isfinite(out.hidden).all()


def test_block_rank_counts_rows_within_each_bar_and_track() -> None:
    import torch

    from engine.model.embedding import block_rank

    track = torch.tensor([[0, 1, 1, 1, 2, 2, 0, 1, 1]])
    bar = torch.tensor([[0, 0, 0, 0, 0, 0, 1, 1, 1]])
    assert block_rank(track, bar).tolist() == [[0, 0, 1, 2, 0, 1, 0, 0, 1]]


def test_encoder_layers_compute_what_transformers_bert_layers_compute():
    """The plain-torch BERT layers (engine.model.attention) against transformers' BertLayer with the same
    weights and the same long-axis mask: same parameter names, same outputs."""
    transformers_bert = pytest.importorskip("transformers.models.bert.modeling_bert")
    from transformers import BertConfig

    from engine.model.attention import EncoderLayer, long_axis_mask

    cfg = ModelConfig.tiny()
    bc = BertConfig(hidden_size=cfg.d_model, num_hidden_layers=1, num_attention_heads=cfg.n_heads,
                    intermediate_size=cfg.ffn, hidden_act="gelu", hidden_dropout_prob=0.0,
                    attention_probs_dropout_prob=0.0)
    theirs = transformers_bert.BertLayer(bc).eval()
    ours = EncoderLayer(cfg).eval()
    assert list(theirs.state_dict()) == list(ours.state_dict())
    ours.load_state_dict(theirs.state_dict())
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 30, cfg.d_model, generator=g)
    track, bar = torch.randint(0, 4, (2, 30), generator=g), torch.arange(30).repeat(2, 1) // 8
    mask = long_axis_mask(track, bar, torch.ones(2, 30, dtype=torch.bool), cfg)
    with torch.no_grad():
        got = ours(x, mask)
        want = theirs(x, attention_mask=torch.zeros_like(mask, dtype=x.dtype).masked_fill(~mask, float("-inf")))
        want = want[0] if isinstance(want, tuple) else want
        assert torch.allclose(got, want, atol=1e-5)
        assert not torch.allclose(ours(x, torch.ones_like(mask)), want, atol=1e-3), "the mask must matter"
