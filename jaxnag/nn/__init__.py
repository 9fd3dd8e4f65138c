"""Networks in Flax NNX (imported on demand: ``import jaxnag`` does not load flax)."""

from .layers import Block as Block
from .layers import TimeEmbedding as TimeEmbedding
from .layers import sinusoidal as sinusoidal
from . import training as training

__all__ = ["Block", "TimeEmbedding", "sinusoidal", "training"]
