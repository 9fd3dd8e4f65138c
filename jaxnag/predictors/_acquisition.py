"""Acquisition functions: which candidates to evaluate, from a predictor's mean and standard deviation.

* ``"greedy"``: the mean;
* ``"ucb"``: ``mean + beta * std``;
* ``"ei"``: the expected improvement over the best value seen;
* ``"thompson"``: one draw per candidate from its marginal ``N(mean, std^2)`` (the candidates drawn
  independently, not jointly).

Examples:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnag import predictors
  >>> mean, std = jnp.array([1.0, 0.9]), jnp.array([0.0, 0.5])
  >>> [int(jnp.argmax(predictors.acquire(a, jax.random.key(0), mean, std, 1.0, 2.0)))
  ...  for a in ("greedy", "ucb", "ei")]
  [0, 1, 1]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.stats import norm

from ..errors import ConfigError

__all__ = ["ACQUISITIONS", "acquire", "check_acquisition"]

ACQUISITIONS = ("greedy", "ucb", "ei", "thompson")


def check_acquisition(name: str, predictor) -> str:
    """``name`` if it is an acquisition ``predictor`` can serve; else a :class:`~jaxnag.errors.ConfigError`.

    Examples:
      >>> from jaxnag import predictors
      >>> gp, ridge = predictors.get("gp"), predictors.get("ridge")
      >>> predictors.check_acquisition("ucb", gp), predictors.check_acquisition("greedy", ridge)
      ('ucb', 'greedy')
      >>> predictors.check_acquisition("ucb", ridge)
      Traceback (most recent call last):
      ...
      jaxnag.errors.ConfigError: the ucb acquisition needs a predictor with an uncertainty; ridge has none ...
    """
    if name not in ACQUISITIONS:
        raise ConfigError(f"unknown acquisition {name!r}; the acquisitions: {', '.join(ACQUISITIONS)}")
    if name != "greedy" and not getattr(predictor, "has_std", True):
        raise ConfigError(f"the {name} acquisition needs a predictor with an uncertainty; "
                          f"{type(predictor).__name__.lower()} has none (use greedy, or the gp predictor)")
    if name == "ei" and getattr(predictor, "warp", "none") != "none":
        raise ConfigError("the ei acquisition compares predictions with the best value seen; a rank-warped GP "
                          "(gp_rank) predicts scores, not values (use ucb, thompson or greedy)")
    return name


def acquire(name: str, key: jax.Array, mean: jax.Array, std: jax.Array, best, beta) -> jax.Array:
    """The acquisition value ``[m]`` of candidates with predicted ``mean [m]`` and ``std [m]``; ``best`` the
    best value seen (EI), ``beta`` UCB's weight on the deviation.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import predictors
      >>> mean, std = jnp.array([1.0, 0.9]), jnp.array([0.0, 0.5])
      >>> [round(v, 3) for v in predictors.acquire("ucb", jax.random.key(0), mean, std, 1.0, 2.0).tolist()]
      [1.0, 1.9]
      >>> predictors.acquire("thompson", jax.random.key(0), mean, std, 1.0, 2.0).shape  # one draw per candidate
      (2,)
      >>> predictors.acquire("ei", jax.random.key(0), mean, std, -jnp.inf, 2.0).tolist()  # nothing seen: the mean
      [1.0, 0.8999999761581421]
    """
    if name == "greedy":
        return mean
    if name == "ucb":
        return mean + beta * std
    if name == "thompson":
        return mean + std * jax.random.normal(key, mean.shape, mean.dtype)
    if name == "ei":
        s = jnp.maximum(std, 1e-9)
        z = (mean - best) / s
        gain = (mean - best) * norm.cdf(z) + s * norm.pdf(z)
        return jnp.where(jnp.isfinite(best), gain, mean)
    raise ConfigError(f"unknown acquisition {name!r}; the acquisitions: {', '.join(ACQUISITIONS)}")
