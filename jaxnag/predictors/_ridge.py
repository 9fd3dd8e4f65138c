"""Ridge regression on one-hot features (:mod:`jaxnag.ridge`) as a predictor: the additive baseline.

Examples:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnag import predictors, spaces
  >>> space = spaces.get("nb201")
  >>> ops = space.random(jax.random.key(0), (40,))
  >>> model = predictors.Ridge(penalty=1e-3)
  >>> values = jnp.sum(ops == 3, axis=1).astype(jnp.float32)
  >>> mean, std = model.predict(model.update(model.init(space), ops, values, space), ops[:2], space)
  >>> bool(jnp.allclose(mean, values[:2], atol=0.05)), float(std.max())
  (True, 0.0)
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from .. import ridge as ridge_lib
from ..errors import ConfigError

__all__ = ["Ridge"]


@dataclasses.dataclass(frozen=True)
class Ridge:
    """Ridge on one-hot features plus a constant, refitted from sufficient statistics (:mod:`jaxnag.ridge`).
    It gives no uncertainty (``std`` 0): only the greedy acquisition uses it.

    Attributes:
      penalty: the L2 penalty (> 0).

    Examples:
      >>> from jaxnag import errors, predictors
      >>> predictors.Ridge(0.5).penalty, predictors.Ridge.has_std
      (0.5, False)
      >>> try:
      ...     predictors.Ridge(0.0)
      ... except errors.ConfigError as e:
      ...     print(e)
      the ridge penalty must be > 0 (it keeps the system solvable), got 0.0
    """

    penalty: float = 1.0
    has_std = False

    def __post_init__(self):
        if isinstance(self.penalty, jax.Array):  # a traced penalty (a sweep over configs) is checked by its caller
            return
        if not (isinstance(self.penalty, (int, float)) and math.isfinite(self.penalty) and self.penalty > 0):
            raise ConfigError(f"the ridge penalty must be > 0 (it keeps the system solvable), got {self.penalty!r}")

    def init(self, space) -> ridge_lib.Stats:
        """No observations."""
        return ridge_lib.empty(space)

    def update(self, state, ops, values, space, mask=None):
        """Add the rows with a finite value (and ``mask`` true)."""
        return ridge_lib.update(state, ops, values, space, mask)

    def predict(self, state, ops, space) -> tuple[jax.Array, jax.Array]:
        """``(mean [m], zeros [m])``."""
        mean = ridge_lib.predictor(state, space, self.penalty)(jnp.asarray(ops, jnp.int32))
        return mean, jnp.zeros_like(mean)
