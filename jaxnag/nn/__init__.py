"""Networks in Flax NNX (imported on demand: ``import jaxnag`` does not load flax).

Examples:
  >>> import jax.numpy as jnp
  >>> from jaxnag import nn
  >>> nn.sinusoidal(jnp.array([0.0, 1.0]), 8).shape
  (2, 8)
"""

from .layers import Block as Block
from .layers import TimeEmbedding as TimeEmbedding
from .layers import sinusoidal as sinusoidal
from . import training as training

__all__ = ["Block", "TimeEmbedding", "sinusoidal", "training"]
