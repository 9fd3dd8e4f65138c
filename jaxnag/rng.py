"""Random numbers equal to ``jax.random``'s, drawn by one fused kernel on CPU.

On CPU, XLA runs JAX's threefry hash as a rolled loop (five passes over the whole array, each
writing its intermediates to memory), which made random numbers a quarter to a third of an
EDNAG run. The functions here compute the same threefry-2x32 hash (Salmon et al., 2011) with
the same counters, written out so that XLA fuses it with its consumer. For a threefry key
under ``jax_threefry_partitionable`` (JAX's default) they return exactly what the ``jax.random``
function of the same name returns (``tests/test_rng.py`` checks it value for value); for any
other key (philox, rbg) or setting they call ``jax.random``. Inside a larger program the float
draws can differ from ``jax.random``'s in their last bit: XLA fuses them with other operations
differently (a multiply-add contracted or not), as it may for any change of the surrounding code.

Outside a trace (a concrete key), :func:`bits` and :func:`uniform` (on a range whose width is a power of
two, such as the default [0, 1) and [-1, 1)) hash on the host in numpy: the same values with no
compilation. An eager ``jax.random.uniform`` compiles a program per shape, which made building a network
eagerly (one draw per weight shape) take seconds; :data:`jaxnag.models.layers.INIT` draws through here
(``docs/network_build.md``).

Examples:
  >>> import jax
  >>> from jaxnag import rng
  >>> key = jax.random.key(0)
  >>> bool((rng.normal(key, (3, 4)) == jax.random.normal(key, (3, 4))).all())
  True
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = ["bits", "gumbel", "normal", "split", "uniform"]

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _rotl(x, d: int):
    """Rotate uint32 ``x`` left by ``d`` (jax or numpy: ``>>`` of an unsigned integer is a logical shift)."""
    return (x << np.uint32(d)) | (x >> np.uint32(32 - d))


def _threefry2x32(k1, k2, x1, x2):
    """Threefry-2x32 with 20 rounds, unrolled (JAX's CPU lowering rolls it into a loop), on uint32 jax arrays in
    a trace or numpy arrays on the host (both wrap on overflow)."""
    ks = (k1, k2, k1 ^ k2 ^ np.uint32(0x1BD11BDA))
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = _rotl(x2, r) ^ x1
        x1 = x1 + ks[(i + 1) % 3]
        x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def _key_data(key: jax.Array):
    """The two uint32 words ``[2]`` of a threefry key on the fused path, or None where ``jax.random`` must
    draw."""
    if not jax.config.jax_threefry_partitionable:
        return None
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if str(jax.random.key_impl(key)) != "threefry2x32":
            return None
        data = jax.random.key_data(key)
    elif key.dtype == jnp.uint32 and key.shape == (2,) and jax.config.jax_default_prng_impl == "threefry2x32":
        data = key  # a raw (legacy) key of the default implementation
    else:
        return None
    if data.shape != (2,):
        return None  # a batch of keys: jax.random raises its own error
    return data


def _bits_host(k: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """:func:`_bits` on the host: the same counters and hash, in numpy."""
    lo = np.arange(math.prod(shape), dtype=np.uint32).reshape(shape)
    b1, b2 = _threefry2x32(k[0], k[1], np.zeros(shape, np.uint32), lo)
    return b1 ^ b2


def _uniform_host(k: np.ndarray, shape: tuple[int, ...], lo, hi) -> np.ndarray:
    """:func:`_uniform` on the host, float32 operation for operation (equal values: ``tests/test_rng.py``)."""
    unit = ((_bits_host(k, shape) >> np.uint32(9)) | np.uint32(0x3F800000)).view(np.float32) - np.float32(1.0)
    lo, hi = np.float32(lo), np.float32(hi)
    return np.maximum(lo, unit * (hi - lo) + lo)


def _exact_scale(lo, hi) -> bool:
    """Whether concrete bounds have a width that is a power of two: then ``unit * width`` is exact and the host's
    multiply-then-add rounds as XLA's, which may contract the two into one fused multiply-add."""
    if isinstance(lo, jax.core.Tracer) or isinstance(hi, jax.core.Tracer) or np.ndim(lo) or np.ndim(hi):
        return False
    width = float(np.float32(hi) - np.float32(lo))
    return width > 0 and math.frexp(width)[0] == 0.5


def _host(k) -> np.ndarray | None:
    """The key's words as numpy where they are concrete (no trace), else None."""
    return None if isinstance(k, jax.core.Tracer) else np.asarray(k)


def _hash(k: jax.Array, shape: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
    """JAX's partitionable counters (the row-major index as (high, low) words), hashed."""
    lo = lax.iota(np.uint32, math.prod(shape)).reshape(shape)
    return _threefry2x32(k[0], k[1], jnp.zeros(shape, np.uint32), lo)


def _unit(b: jax.Array) -> jax.Array:
    """uint32 bits -> float32 in [0, 1) from the top 23 bits, as ``jax.random.uniform`` makes them."""
    return lax.bitcast_convert_type(lax.shift_right_logical(b, np.uint32(9)) | np.uint32(0x3F800000),
                                    jnp.float32) - np.float32(1.0)


# Each draw is one jitted function, as jax.random's are, so an eager call rounds as a traced one does.
@partial(jax.jit, static_argnums=1)
def _bits(k: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    b1, b2 = _hash(k, shape)
    return b1 ^ b2


@partial(jax.jit, static_argnums=1)
def _uniform(k: jax.Array, shape: tuple[int, ...], lo, hi) -> jax.Array:
    lo, hi = jnp.asarray(lo, jnp.float32), jnp.asarray(hi, jnp.float32)
    return lax.max(lo, _unit(_bits(k, shape)) * (hi - lo) + lo)


@partial(jax.jit, static_argnums=1)
def _normal(k: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    lo = np.nextafter(np.float32(-1.0), np.float32(0.0), dtype=np.float32)
    return np.float32(np.sqrt(2)) * lax.erf_inv(_uniform(k, shape, lo, np.float32(1.0)))


@partial(jax.jit, static_argnums=1)
def _gumbel(k: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    return -jnp.log(-jnp.log(_uniform(k, shape, np.finfo(np.float32).tiny, np.float32(1.0))))


@partial(jax.jit, static_argnums=1)
def _split(k: jax.Array, num: int) -> jax.Array:
    return jnp.stack(_hash(k, (num,)), axis=1)


def _fused(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32):
    """The key's words where the fused path draws these numbers, else None (``jax.random`` draws them)."""
    k = _key_data(key)
    ok = k is not None and len(shape) > 0 and 0 < math.prod(shape) < 2**32 and jnp.dtype(dtype) == jnp.float32
    return k if ok else None


def bits(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """uint32 random bits, ``jax.random.bits(key, shape)``.

    Examples:
      >>> import jax
      >>> from jaxnag import rng
      >>> b = rng.bits(jax.random.key(1), (2, 3))
      >>> b.dtype, bool((b == jax.random.bits(jax.random.key(1), (2, 3))).all())
      (dtype('uint32'), True)
    """
    shape = tuple(shape)
    k = _fused(key, shape)
    if k is None:
        return jax.random.bits(key, shape)
    host = _host(k)
    return _bits(k, shape) if host is None else jax.device_put(_bits_host(host, shape))


def uniform(key: jax.Array, shape: tuple[int, ...], minval=0.0, maxval=1.0, dtype=jnp.float32) -> jax.Array:
    """Uniform on ``[minval, maxval)`` (scalars), ``jax.random.uniform(key, shape, dtype, minval, maxval)``
    (fused for float32).

    Examples:
      >>> import jax
      >>> from jaxnag import rng
      >>> u = rng.uniform(jax.random.key(2), (1000,), -1.0, 1.0)
      >>> bool((u >= -1).all() & (u < 1).all()), bool((u == jax.random.uniform(jax.random.key(2), (1000,), minval=-1.0,
      ...                                                                          maxval=1.0)).all())
      (True, True)
    """
    shape = tuple(shape)
    k = _fused(key, shape, dtype)
    if k is None:
        return jax.random.uniform(key, shape, dtype, minval, maxval)
    host = _host(k)
    if host is None or not _exact_scale(minval, maxval):
        return _uniform(k, shape, minval, maxval)
    return jax.device_put(_uniform_host(host, shape, minval, maxval))


def normal(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
    """Standard normal, ``jax.random.normal(key, shape, dtype)`` (fused for float32).

    Examples:
      >>> import jax
      >>> from jaxnag import rng
      >>> z = rng.normal(jax.random.key(3), (10000,))
      >>> abs(float(z.mean())) < 0.05, bool((z == jax.random.normal(jax.random.key(3), (10000,))).all())
      (True, True)
    """
    shape = tuple(shape)
    k = _fused(key, shape, dtype)
    if k is None:
        return jax.random.normal(key, shape, dtype)
    return _normal(k, shape)


def gumbel(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
    """Standard Gumbel, ``jax.random.gumbel(key, shape, dtype)`` (fused for float32 in its default ``low``
    mode).

    Examples:
      >>> import jax
      >>> from jaxnag import rng
      >>> bool((rng.gumbel(jax.random.key(4), (7,)) == jax.random.gumbel(jax.random.key(4), (7,))).all())
      True
    """
    shape = tuple(shape)
    k = _fused(key, shape, dtype)
    if k is None or jax.config.jax_high_dynamic_range_gumbel:
        return jax.random.gumbel(key, shape, dtype)
    return _gumbel(k, shape)


def split(key: jax.Array, num: int = 2) -> jax.Array:
    """``num`` new keys, ``jax.random.split(key, num)`` (typed keys stay typed, raw keys raw).

    Examples:
      >>> import jax
      >>> from jaxnag import rng
      >>> key = jax.random.key(5)
      >>> bool((jax.random.key_data(rng.split(key, 3)) == jax.random.key_data(jax.random.split(key, 3))).all())
      True
    """
    k = _fused(key, (num,))
    if k is None:
        return jax.random.split(key, num)
    data = _split(k, num)
    return jax.random.wrap_key_data(data, impl="threefry2x32") if jnp.issubdtype(
        key.dtype, jax.dtypes.prng_key) else data
