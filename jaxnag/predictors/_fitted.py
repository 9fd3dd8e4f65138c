"""A predictor fitted once on listed architectures, as a jittable fitness (a surrogate of a benchmark that has no
full table here, e.g. NASLib's NB101 / NB301 subsets)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import DataError

__all__ = ["Fitted", "fitted"]


@jax.tree_util.register_pytree_node_class
class Fitted:
    """``fitness(ops [..., R]) -> float32 [...]``: the predictor's mean, NaN where ``ops`` is not a valid
    architecture. A pytree (the fitted state is its leaves), so it passes through ``jit`` and ``vmap``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import predictors, spaces
      >>> s = spaces.categorical("chain2", ("a", "b", "c"), slots=2)
      >>> model = predictors.Ridge()
      >>> fit = predictors.Fitted(model, s, model.init(s))  # unfitted; predictors.fitted(...) fits one
      >>> out = jax.eval_shape(fit, jnp.zeros((4, 3, 2), jnp.int32))  # shapes only
      >>> out.shape, out.dtype, [x.shape for x in jax.tree.leaves(fit)]  # leaves: ridge's gram, moment, count
      ((4, 3), dtype('float32'), [(7, 7), (7,), ()])
    """

    def __init__(self, predictor, space, state):
        self.predictor, self.space, self.state = predictor, space, state

    def tree_flatten(self):
        return (self.state,), (self.predictor, self.space)

    @classmethod
    def tree_unflatten(cls, aux, leaves):
        return cls(aux[0], aux[1], leaves[0])

    def __call__(self, ops) -> jax.Array:
        ops = jnp.asarray(ops, jnp.int32)
        flat = ops.reshape(-1, self.space.num_slots)
        mean, _ = self.predictor.predict(self.state, jnp.clip(flat, 0, self.space.num_choices - 1), self.space)
        mean = jnp.where(self.space.is_valid(flat), mean, jnp.nan)
        return mean.reshape(ops.shape[:-1]).astype(jnp.float32)


def fitted(predictor, space, ops, values) -> Fitted:
    """``predictor`` (:func:`jaxnag.predictors.get`) fitted on ``ops [n, R]`` with ``values [n]`` (non-finite rows
    skipped), as a fitness every generator accepts. A Gaussian process needs ``memory >= n``.

    Raises:
      DataError: shapes that do not match, invalid rows, or no finite value.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import predictors, spaces
      >>> space = spaces.get("darts")
      >>> ops = space.random(jax.random.key(0), (60,))
      >>> values = jnp.sum(ops == 4, axis=1).astype(jnp.float32)  # how many sep_conv_3x3
      >>> fit = predictors.fitted(predictors.get("ridge"), space, ops, values)
      >>> bool(jnp.corrcoef(fit(ops), values)[0, 1] > 0.99)
      True
    """
    ops_np = np.asarray(ops)
    vals = np.asarray(values, np.float32)
    if ops_np.ndim != 2 or ops_np.shape[1] != space.num_slots or vals.shape != (ops_np.shape[0],):
        raise DataError(f"fitted: ops [n, {space.num_slots}] and values [n], got {ops_np.shape} and {vals.shape}")
    ops_np = space.check(ops_np)
    if not np.isfinite(vals).any():
        raise DataError("fitted: no finite value to fit")
    memory = getattr(predictor, "memory", None)
    if memory is not None and memory < len(ops_np):
        raise DataError(f"fitted: the predictor holds {memory} rows, {len(ops_np)} given (raise its memory)")
    state = jax.jit(lambda o, v: predictor.update(predictor.init(space), o, v, space))(
        jnp.asarray(ops_np), jnp.asarray(vals))
    return Fitted(predictor, space, state)
