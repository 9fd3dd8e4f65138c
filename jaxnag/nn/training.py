"""The one training loop of jaxnag: optax steps under ``lax.scan``.

Every network jaxnag trains (PG-NAG's denoiser, DiffusionNAG's score network and its
accuracy predictor) goes through :func:`scan_steps`: parameters and optimizer state are
pytrees (an NNX module split with ``nnx.split``), so the loop runs under plain
``jax.jit`` / ``vmap`` and inside larger jitted programs.

Examples:
  >>> import jax, jax.numpy as jnp, optax
  >>> loss = lambda p, key: jnp.sum((p["w"] - 3.0) ** 2)
  >>> opt = optax.sgd(0.1)
  >>> p = {"w": jnp.zeros(2)}
  >>> p, _, losses = scan_steps(loss, opt, p, opt.init(p), jax.random.split(jax.random.key(0), 50))
  >>> round(float(p["w"][0]), 3), losses.shape
  (3.0, (50,))
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import optax

__all__ = ["optimizer", "optimizer_step", "scan_steps"]


def optimizer_step(loss_fn: Callable, opt: optax.GradientTransformation, params, opt_state, key: jax.Array):
    """One step: ``(params, opt_state, loss)`` after ``value_and_grad(loss_fn)(params, key)`` and ``opt``."""
    loss, grads = jax.value_and_grad(loss_fn)(params, key)
    with jax.numpy_dtype_promotion("standard"):  # optax's schedules mix its int32 step count with floats
        updates, opt_state = opt.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def scan_steps(loss_fn: Callable, opt: optax.GradientTransformation, params, opt_state, keys: jax.Array,
               after_step: Callable | None = None, extra=None):
    """One optimizer step per key: ``loss, grads = value_and_grad(loss_fn)(params, key)``.

    ``after_step(params, extra) -> extra`` updates a carried pytree after each step (an EMA of
    the parameters, for instance). Returns ``(params, opt_state, losses [len(keys)])``, and
    ``extra`` last when it is given.
    """
    def step(carry, k):
        p, s, e = carry
        p, s, loss = optimizer_step(loss_fn, opt, p, s, k)
        if after_step is not None:
            e = after_step(p, e)
        return (p, s, e), loss

    (params, opt_state, extra_out), losses = jax.lax.scan(step, (params, opt_state, extra), keys)
    if after_step is None:
        return params, opt_state, losses
    return params, opt_state, losses, extra_out


def optimizer(lr, iterations: int, warmup: int = 0, weight_decay: float = 1e-4,
              clip: float = 1.0) -> optax.GradientTransformation:
    """AdamW with global-norm clipping and a (warmup +) cosine schedule: what every jaxnag network uses."""
    if warmup > 0:
        sched = optax.warmup_cosine_decay_schedule(0.0, lr, warmup, max(iterations, warmup + 1))
    else:
        sched = optax.cosine_decay_schedule(lr, iterations)
    return optax.chain(optax.clip_by_global_norm(clip), optax.adamw(sched, weight_decay=weight_decay))
