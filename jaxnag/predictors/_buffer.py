"""The observations a predictor holds: a fixed buffer of distinct architectures with finite values.

Examples:
  >>> import jax.numpy as jnp
  >>> from jaxnag.predictors import _buffer
  >>> buf = _buffer.empty(4, 2)
  >>> ops = jnp.array([[0, 1], [0, 1], [1, 1]])
  >>> buf, added = _buffer.add(buf, ops, jnp.array([1.0, 2.0, jnp.nan]))
  >>> int(buf.count), buf.used.tolist()
  (2, [True, False, False, False])
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ..errors import ConfigError

__all__ = ["Added", "Buffer", "add", "empty", "normalised"]


class Buffer(NamedTuple):
    """``ops [memory, R]``, ``values [memory]`` (0 where unused), ``used [memory]``; ``cursor``: the next row;
    ``count``: finite values told so far (not only held).

    Examples:
      >>> import jax
      >>> from jaxnag import predictors, spaces
      >>> buf = jax.eval_shape(lambda: predictors.GP(memory=8).init(spaces.get("nb201"))).buffer  # shapes only
      >>> buf._fields
      ('ops', 'values', 'used', 'cursor', 'count')
      >>> buf.ops.shape, buf.values.dtype, buf.used.dtype, buf.count.shape
      ((8, 6), dtype('float32'), dtype('bool'), ())
    """

    ops: jax.Array
    values: jax.Array
    used: jax.Array
    cursor: jax.Array
    count: jax.Array


class Added(NamedTuple):
    """A batch as it was placed: its rows reordered (``ops [q, R]``, ``values [q]``), which were added
    (``ok [q]``) and the one-hot ``place [memory, q]`` of each added row in the buffer (zero columns else)."""

    ops: jax.Array
    values: jax.Array
    ok: jax.Array
    place: jax.Array


def empty(memory: int, slots: int) -> Buffer:
    """An empty buffer of ``memory`` rows."""
    return Buffer(jnp.zeros((memory, slots), jnp.int32), jnp.zeros(memory, jnp.float32), jnp.zeros(memory, bool),
                  jnp.int32(0), jnp.int32(0))


def add(buf: Buffer, ops, values, mask=None) -> tuple[Buffer, Added]:
    """Add the rows of ``ops [q, R]`` whose ``values [q]`` are finite (and ``mask`` true), each architecture
    once: a repeat of one held, or of an earlier row of the batch, is skipped, and so is every row once the
    buffer is full (``count`` still counts them). The rows added go, compacted, after the last one used."""
    ops = jnp.asarray(ops, jnp.int32)
    values = jnp.asarray(values, jnp.float32)
    q, n = ops.shape[0], buf.ops.shape[0]
    if q > n:
        raise ConfigError(f"a predictor's memory ({n}) must hold a batch of {q} observations")
    ok = jnp.isfinite(values) if mask is None else jnp.isfinite(values) & mask
    told = jnp.sum(ok).astype(jnp.int32)
    held = jnp.any(jnp.all(ops[:, None, :] == buf.ops[None, :, :], axis=-1) & buf.used[None, :], axis=1)
    same = jnp.all(ops[:, None, :] == ops[None, :, :], axis=-1)
    earlier = jnp.any(same & ok[None, :] & (jnp.arange(q)[None, :] < jnp.arange(q)[:, None]), axis=1)
    ok = ok & ~held & ~earlier
    order = jnp.argsort(~ok, stable=True)
    new_ops, new_vals = ops[order], values[order]
    slots = buf.cursor + jnp.arange(q)
    new_ok = ok[order] & (slots < n)
    place = jax.nn.one_hot(jnp.minimum(slots, n - 1), n, dtype=jnp.float32).T * new_ok[None, :].astype(jnp.float32)
    at = jnp.where(new_ok, slots, n)  # rows not added write nowhere
    buf = Buffer(buf.ops.at[at].set(new_ops, mode="drop"), buf.values.at[at].set(new_vals, mode="drop"),
                 buf.used.at[at].set(True, mode="drop"), buf.cursor + jnp.sum(new_ok).astype(jnp.int32),
                 buf.count + told)
    return buf, Added(new_ops, new_vals, new_ok, place)


def normalised(buf: Buffer) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(mean, sd, y [memory])``: the held values' mean and standard deviation (1 where they are constant)
    and the values normalised by them (0 where unused)."""
    w = buf.used.astype(jnp.float32)
    k = jnp.maximum(jnp.sum(w), 1.0)
    mu = jnp.sum(w * buf.values) / k
    sd = jnp.sqrt(jnp.sum(w * (buf.values - mu) ** 2) / k)
    sd = jnp.where(sd > 0, sd, 1.0)
    return mu, sd, w * (buf.values - mu) / sd
