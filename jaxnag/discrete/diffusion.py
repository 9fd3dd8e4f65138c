"""Multinomial diffusion whose limit is a prior ``p[slot, choice]`` (PG-NAG), as pure functions.

Forward: ``q(x_t | x_0) = Cat(abar_t x_0 + (1 - abar_t) p)``,
``q(x_t | x_{t-1}) = Cat(alpha_t x_{t-1} + (1 - alpha_t) p)`` with ``alpha_t = abar_t / abar_{t-1}``,
so ``x_T`` is (close to) ``Cat(p)``. Posterior:
``q(x_{t-1} | x_t, x_0) ∝ (alpha_t [x_{t-1} = x_t] + (1 - alpha_t) p[x_t]) (abar_{t-1} x_0 + (1 - abar_{t-1}) p)``.
The model predicts ``x_0`` probabilities; plugging them into the posterior gives
``p_theta(x_{t-1} | x_t)`` (x0-parameterisation, Hoogeboom et al. 2021).

Shapes: ``x`` int ``[..., R]``; probabilities ``[..., R, C]``; the prior ``[R, C]``.

Examples:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnag.discrete import diffusion
  >>> abar = diffusion.cosine_schedule(50)
  >>> float(abar[0]), float(abar[-1]) < 1e-3
  (1.0, True)
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from ..schedules import nichol_cosine as cosine_schedule  # the forward process's abar[0..T]

__all__ = ["cosine_schedule", "loss", "posterior_probs", "q_probs", "q_sample", "sample", "sample_categorical"]


def _bcast(v, like):
    return jnp.reshape(v, jnp.shape(v) + (1,) * (like.ndim - jnp.ndim(v)))


def q_probs(x0_probs: jax.Array, abar_t, prior: jax.Array) -> jax.Array:
    """Marginal ``q(x_t | x_0)`` probabilities ``[..., R, C]`` (``abar_t`` scalar or ``[...]``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag.discrete import diffusion
      >>> p = diffusion.q_probs(jnp.array([[1.0, 0.0]]), 0.6, jnp.full((1, 2), 0.5))  # 0.6 x_0 + 0.4 prior
      >>> [[round(v, 3) for v in row] for row in p.tolist()]
      [[0.8, 0.2]]
    """
    a = _bcast(jnp.asarray(abar_t, jnp.float32), x0_probs)
    return a * x0_probs + (1.0 - a) * jnp.broadcast_to(prior, x0_probs.shape)


def sample_categorical(key: jax.Array, probs: jax.Array) -> jax.Array:
    """One draw per row of ``probs [..., C]`` -> int32 ``[...]``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.discrete import diffusion
      >>> x = diffusion.sample_categorical(jax.random.key(0), jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
      >>> x.tolist(), x.dtype
      ([1, 0], dtype('int32'))
    """
    return jax.random.categorical(key, jnp.log(jnp.maximum(probs, 1e-30)), axis=-1).astype(jnp.int32)


def q_sample(key: jax.Array, x0: jax.Array, abar_t, prior: jax.Array) -> jax.Array:
    """Draw ``x_t ~ q(x_t | x_0)`` for int ``x0 [..., R]`` (int32, the same shape).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.discrete import diffusion
      >>> prior, x0 = jnp.array([[0.0, 0.0, 1.0]] * 4), jnp.array([[0, 1, 0, 1]])  # the prior: always choice 2
      >>> q_sample = jax.jit(diffusion.q_sample)
      >>> q_sample(jax.random.key(0), x0, 1.0, prior).tolist()  # abar 1: no noise yet
      [[0, 1, 0, 1]]
      >>> q_sample(jax.random.key(0), x0, 0.0, prior).tolist()  # abar 0: the prior
      [[2, 2, 2, 2]]
    """
    c = prior.shape[-1]
    return sample_categorical(key, q_probs(jax.nn.one_hot(x0, c), abar_t, prior))


def posterior_probs(x_t: jax.Array, x0_probs: jax.Array, alpha_t, abar_prev, prior: jax.Array) -> jax.Array:
    """``q(x_{t-1} | x_t, x_0)`` with ``x_0`` given as probabilities ``[..., R, C]`` (``x_t`` int ``[..., R]``;
    the result ``[..., R, C]``, rows summing to 1).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.discrete import diffusion
      >>> # (0.8 [x = 0] + 0.2 * 0.5) * (0.5 [x = 1] + 0.5 * 0.5) = (0.225, 0.075), normalised
      >>> post = jax.jit(diffusion.posterior_probs)
      >>> p = post(jnp.array([0]), jnp.array([[0.0, 1.0]]), 0.8, 0.5, jnp.full((1, 2), 0.5))
      >>> [[round(v, 3) for v in row] for row in p.tolist()]
      [[0.75, 0.25]]
    """
    c = prior.shape[-1]
    onehot = jax.nn.one_hot(x_t, c)
    prior_b = jnp.broadcast_to(prior, x0_probs.shape)
    p_at_xt = jnp.sum(prior_b * onehot, axis=-1, keepdims=True)
    a = _bcast(jnp.asarray(alpha_t, jnp.float32), x0_probs)
    b = _bcast(jnp.asarray(abar_prev, jnp.float32), x0_probs)
    fact1 = a * onehot + (1.0 - a) * p_at_xt
    fact2 = b * x0_probs + (1.0 - b) * prior_b
    post = fact1 * fact2
    return post / jnp.maximum(jnp.sum(post, axis=-1, keepdims=True), 1e-30)


def loss(logits: jax.Array, x0: jax.Array, x_t: jax.Array, t: jax.Array, abar: jax.Array, prior: jax.Array,
         ce_weight: float = 0.1) -> jax.Array:
    """x0-parameterised loss, mean over the batch: ``KL(q(x_{t-1}|x_t,x_0) || p_theta(x_{t-1}|x_t))``
    summed over slots (at t = 1 the negative log-likelihood of ``x_0``), plus ``ce_weight``
    times the cross-entropy of the predicted ``x_0``.

    Args:
      logits: model output ``[B, R, C]`` (masked entries very negative).
      x0, x_t: int ``[B, R]``; t: int ``[B]`` in 1..T.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.discrete import diffusion
      >>> abar, prior = diffusion.cosine_schedule(10), jnp.full((3, 4), 0.25)
      >>> x0, x_t, t = jnp.array([[0, 1, 2], [3, 3, 3]]), jnp.array([[0, 2, 2], [1, 3, 0]]), jnp.array([5, 1])
      >>> loss = jax.jit(diffusion.loss)
      >>> sure = 20.0 * jax.nn.one_hot(x0, 4)  # logits that predict x_0 exactly: no loss left
      >>> round(float(loss(sure, x0, x_t, t, abar, prior)), 3)
      0.0
      >>> round(float(loss(jnp.zeros((2, 3, 4)), x0, x_t, t, abar, prior)), 3)  # a uniform guess
      2.797
    """
    c = prior.shape[-1]
    x0_pred = jax.nn.softmax(logits, axis=-1)
    x0_true = jax.nn.one_hot(x0, c)
    alpha_t = abar[t] / jnp.maximum(abar[t - 1], 1e-12)
    q = posterior_probs(x_t, x0_true, alpha_t, abar[t - 1], prior)
    p = posterior_probs(x_t, x0_pred, alpha_t, abar[t - 1], prior)
    kl = jnp.sum(q * (jnp.log(jnp.maximum(q, 1e-30)) - jnp.log(jnp.maximum(p, 1e-30))), axis=(-2, -1))
    logp0 = jax.nn.log_softmax(logits, axis=-1)
    nll = -jnp.sum(jnp.sum(x0_true * logp0, axis=-1), axis=-1)
    main = jnp.where(t == 1, nll, kl)
    return jnp.mean(main + ce_weight * nll)


def sample(key: jax.Array, denoise: Callable[[jax.Array, jax.Array], jax.Array], prior: jax.Array, steps: int,
           n: int, decode: Callable[[jax.Array], jax.Array] | None = None) -> jax.Array:
    """Ancestral sampling of ``n`` architectures from ``x_T ~ Cat(prior)``; argmax of the predicted
    ``x_0`` at the last step (or ``decode(logits [n, R, C])``, a space's decoding into valid encodings:
    ``space.from_one_hot``). ``denoise(x_t [n, R], t [n]) -> logits [n, R, C]``. One ``lax.scan``.
    Returns int32 ``[n, R]``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.discrete import diffusion
      >>> logits = jnp.log(jnp.array([[0.1, 0.7, 0.2], [0.6, 0.2, 0.2]]))  # a denoiser that ignores x_t
      >>> denoise = lambda x, t: jnp.broadcast_to(logits, x.shape + (3,))
      >>> draw = lambda key: diffusion.sample(key, denoise, jnp.full((2, 3), 1 / 3), steps=50, n=4)
      >>> jax.eval_shape(draw, jax.random.key(0))  # shapes only: 4 architectures of 2 slots
      ShapeDtypeStruct(shape=(4, 2), dtype=int32)
    """
    final = (lambda z: jnp.argmax(z, axis=-1).astype(jnp.int32)) if decode is None else decode
    abar = cosine_schedule(steps)
    k0, key = jax.random.split(key)
    x = sample_categorical(k0, jnp.broadcast_to(prior, (n,) + prior.shape))

    def body(x, inp):
        t, k = inp
        logits = denoise(x, jnp.full((n,), t, jnp.int32))
        x0_pred = jax.nn.softmax(logits, axis=-1)
        post = posterior_probs(x, x0_pred, abar[t] / jnp.maximum(abar[t - 1], 1e-12), abar[t - 1], prior)
        x_new = jnp.where(t > 1, sample_categorical(k, post), final(logits))
        return x_new, None

    ts = jnp.arange(steps, 0, -1, dtype=jnp.int32)
    x, _ = jax.lax.scan(body, x, (ts, jax.random.split(key, steps)))
    return x
