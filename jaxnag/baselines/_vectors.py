"""What the baselines with a vector fitness (NSGA-II, Pareto local search) share: their values' shape, and
the loop of ``generate``.

Examples:
  >>> import jax.numpy as jnp
  >>> as_vectors(jnp.ones(3), 3, 1, "demo").shape
  (3, 1)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import archive as archive_lib
from ..errors import ConfigError
from ..protocol import loop, trace_result


def as_vectors(values, n: int, m: int, name: str) -> jax.Array:
    """``values`` as float32 ``[n, m]`` (``[n]`` is taken for one objective), or a clear error."""
    values = jnp.asarray(values, jnp.float32)
    if values.shape == (n,) and m == 1:
        values = values[:, None]
    if values.shape != (n, m):
        raise ConfigError(f"{name} tell takes one value per objective of each proposal: shape ({n}, {m}), got "
                          f"{values.shape}")
    return values


def generate(key, fitness, space, config, init, ask, tell, done, round_of, **extras):
    """``init``, then ask / evaluate ``fitness`` / tell until ``done`` (one ``while_loop``, round ``r`` asking
    with ``fold_in(key, r)``, ``round_of(state)`` the rounds so far); the trace is per unique query, of the
    first objective's best. ``extras(state)`` name the result's extras."""
    k_init, k_run = jax.random.split(key)
    state = init(k_init, space, config)

    def body(s):
        ops, s = ask(jax.random.fold_in(k_run, round_of(s)), s, space, config)
        return tell(s, jnp.asarray(fitness(ops), jnp.float32).reshape(ops.shape[0], config.num_objectives), space,
                    config)
    s = loop(lambda s: ~done(s, config), body, state)
    return trace_result(s.best_ops, s.best_fitness, s.queries, archive_lib.best_trace(s.archive),
                        archive_lib.queries_trace(s.archive), **{k: f(s) for k, f in extras.items()})
