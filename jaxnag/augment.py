"""Image augmentations of a training minibatch, jittable (the benchmarks' training recipes, :mod:`jaxnag.train`).

Each takes a key and images ``x [B, H, W, C]`` and returns images of the same shape, every image drawn
independently:

- :func:`random_crop`: zero-pad by ``pad`` pixels on every side, then crop ``H x W`` at a uniform offset (the
  CIFAR recipe of NAS-Bench-101, NAS-Bench-201 and DARTS: ``pad = 4``);
- :func:`flip`: mirror left-right with probability 1/2;
- :func:`cutout`: zero a ``size x size`` square (clipped at the border) centred on a uniform pixel (DeVries and
  Taylor, 2017; DARTS's recipe: ``size = 16``);
- :func:`apply`: the three in that order, each skipped when off.

Examples:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnag import augment
  >>> x = jnp.arange(2 * 4 * 4 * 1, dtype=jnp.float32).reshape(2, 4, 4, 1) + 1
  >>> y = jax.jit(lambda k, x: augment.apply(k, x, crop=1, flip=True, cutout=2))(jax.random.key(0), x)
  >>> y.shape, y.dtype
  ((2, 4, 4, 1), dtype('float32'))
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["apply", "cutout", "flip", "random_crop"]


def random_crop(key: jax.Array, x: jax.Array, pad: int) -> jax.Array:
    """Each image zero-padded by ``pad`` pixels on every side and cropped back to its size at a uniform offset.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import augment
      >>> x = jnp.ones((64, 3, 3, 1))
      >>> y = augment.random_crop(jax.random.key(0), x, 1)  # shifted by -1, 0 or +1 pixel in each direction
      >>> sorted(set(jnp.sum(y, axis=(1, 2, 3)).tolist()))  # 9 pixels kept, or 6 (one side cut), or 4 (two)
      [4.0, 6.0, 9.0]
    """
    if pad <= 0:
        return x
    b, h, w, c = x.shape
    padded = jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    offsets = jax.random.randint(key, (b, 2), 0, 2 * pad + 1)
    return jax.vmap(lambda im, o: jax.lax.dynamic_slice(im, (o[0], o[1], 0), (h, w, c)))(padded, offsets)


def flip(key: jax.Array, x: jax.Array) -> jax.Array:
    """Each image mirrored left-right with probability 1/2.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import augment
      >>> x = jnp.tile(jnp.arange(3.0)[None, None, :, None], (100, 1, 1, 1))  # every row 0, 1, 2
      >>> y = augment.flip(jax.random.key(0), x)
      >>> sorted({tuple(r) for r in y[:, 0, :, 0].tolist()})  # as it was, or mirrored
      [(0.0, 1.0, 2.0), (2.0, 1.0, 0.0)]
    """
    coin = jax.random.bernoulli(key, 0.5, (x.shape[0], 1, 1, 1))
    return jnp.where(coin, x[:, :, ::-1, :], x)


def cutout(key: jax.Array, x: jax.Array, size: int) -> jax.Array:
    """Each image with a ``size x size`` square zeroed, centred on a uniform pixel (clipped at the border).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import augment
      >>> y = augment.cutout(jax.random.key(0), jnp.ones((200, 8, 8, 1)), 4)
      >>> zeroed = 64 - jnp.sum(y, axis=(1, 2, 3))
      >>> int(zeroed.min()), int(zeroed.max())  # a 2x2 corner at least, the whole 4x4 square at most
      (4, 16)
    """
    if size <= 0:
        return x
    b, h, w, _ = x.shape
    ky, kx = jax.random.split(key)
    cy = jax.random.randint(ky, (b, 1, 1), 0, h)
    cx = jax.random.randint(kx, (b, 1, 1), 0, w)
    rows, cols = jnp.arange(h)[None, :, None], jnp.arange(w)[None, None, :]
    lo = size // 2  # as DeVries and Taylor's: rows cy - size // 2 .. cy + size - size // 2 - 1
    inside = (rows >= cy - lo) & (rows < cy - lo + size) & (cols >= cx - lo) & (cols < cx - lo + size)
    return jnp.where(inside[..., None], jnp.zeros((), x.dtype), x)


_flip, _cutout = flip, cutout  # apply's keywords share their names


def apply(key: jax.Array, x: jax.Array, *, crop: int = 0, flip: bool = False, cutout: int = 0) -> jax.Array:
    """:func:`random_crop` (``crop`` pixels of padding, 0: none), then :func:`flip`, then :func:`cutout` (a square of
    side ``cutout``, 0: none).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import augment
      >>> x = jnp.ones((4, 8, 8, 3))
      >>> bool(jnp.all(augment.apply(jax.random.key(0), x) == x))  # everything off: the images unchanged
      True
    """
    k_crop, k_flip, k_cut = jax.random.split(key, 3)
    x = random_crop(k_crop, x, crop)
    if flip:
        x = _flip(k_flip, x)
    return _cutout(k_cut, x, cutout)
