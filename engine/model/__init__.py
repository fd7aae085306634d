"""The POP-Diffuseq network: 3-D cell embedding, long-axis BERT encoder, per-column heads, checkpoints."""

from engine.model.config import ModelConfig
from engine.model.network import SAModel, SAOutput

__all__ = ["ModelConfig", "SAModel", "SAOutput"]
