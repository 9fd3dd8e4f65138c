"""DiffusionNAG's node-operation matrix, for any search space.

``X [V, F]`` with V = R + 2 nodes (0 input, 1..R the slots in order: the edge ops of a cell space
such as NB201, or any slot of a space without fixed edges such as NB101's adjacency bits and node ops,
R+1 output) and F = C + 2 node types (``input, output`` then the slot's choices). Data are
scaled to {-1, +1}; samples map back with ``(x + 1) / 2`` and a 0.5 threshold.

Examples:
  >>> import numpy as np
  >>> from jaxnag import spaces
  >>> from jaxnag.diffusionnag import encoding
  >>> s = spaces.get("nb201")
  >>> x = encoding.to_matrix(np.array([3, 3, 3, 1, 3, 3]), s)
  >>> x.shape, bool(encoding.is_valid(x, s)), encoding.from_matrix(x, s).tolist()
  ((8, 7), True, [3, 3, 3, 1, 3, 3])
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["binarize", "decode", "from_matrix", "is_valid", "metrics", "shape", "to_matrix"]


def shape(space) -> tuple[int, int]:
    """``(R + 2, C + 2)``: the operation matrix of a cell (its input and output rows and columns added).

    Examples:
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import encoding
      >>> encoding.shape(spaces.get("nb201")), encoding.shape(spaces.get("tnb101_micro"))  # 6 slots, 5 or 4 ops
      ((8, 7), (8, 6))
    """
    r, c = space.shape
    return r + 2, c + 2


def to_matrix(ops, space) -> jax.Array:
    """int ops ``[..., R]`` -> binary node-operation matrix ``[..., R+2, C+2]`` (float32).

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import encoding
      >>> x = encoding.to_matrix(np.array([[0, 1, 2, 3, 4, 0]]), spaces.get("nb201"))
      >>> x.shape, x.dtype
      ((1, 8, 7), dtype('float32'))
      >>> x[0].argmax(axis=-1).tolist()  # input, the six ops shifted by 2, output
      [0, 2, 3, 4, 5, 6, 2, 1]
    """
    ops = jnp.asarray(ops)
    v, f = shape(space)
    body = jax.nn.one_hot(ops + 2, f)
    first = jnp.broadcast_to(jax.nn.one_hot(0, f), ops.shape[:-1] + (1, f))
    last = jnp.broadcast_to(jax.nn.one_hot(1, f), ops.shape[:-1] + (1, f))
    return jnp.concatenate([first, body, last], axis=-2)


def binarize(x: jax.Array) -> jax.Array:
    """Sample in [-1, 1] scale -> {0, 1}: ``(x + 1) / 2 > 0.5`` (float32, the shape of ``x``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag.diffusionnag import encoding
      >>> encoding.binarize(jnp.array([-0.9, 0.2, -0.1, 1.3])).tolist()
      [0.0, 1.0, 0.0, 1.0]
    """
    return ((x + 1.0) / 2.0 > 0.5).astype(jnp.float32)


def is_valid(b: jax.Array, space) -> jax.Array:
    """bool ``[...]``: every row exactly one 1, row 0 input, last row output, no input/output
    in the op rows, and every op a real choice of its slot.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import encoding
      >>> s = spaces.get("nb201")
      >>> b = encoding.to_matrix(jnp.array([3, 3, 3, 1, 3, 3]), s)
      >>> bool(encoding.is_valid(b, s)), bool(encoding.is_valid(b.at[0, 0].set(0.0), s))  # input row emptied
      (True, False)
    """
    b = jnp.asarray(b)
    return _well_formed(b) & space.is_valid(from_matrix(b, space))


def from_matrix(b: jax.Array, space) -> jax.Array:
    """Op rows -> int ops ``[..., R]`` (argmax over the op columns; check :func:`is_valid` first).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import encoding
      >>> s = spaces.get("nb201")
      >>> x = encoding.to_matrix(jnp.array([[3, 3, 3, 1, 3, 3], [0, 1, 2, 3, 4, 0]]), s) * 2.0 - 1.0  # data scale
      >>> encoding.from_matrix(encoding.binarize(x), s).tolist()
      [[3, 3, 3, 1, 3, 3], [0, 1, 2, 3, 4, 0]]
    """
    return jnp.argmax(jnp.asarray(b)[..., 1:-1, 2:], axis=-1).astype(jnp.int32)


def decode(x: jax.Array, space) -> tuple[jax.Array, jax.Array]:
    """Samples ``[..., V, F]`` (data scale, or binary) -> ``(ops [..., R], valid [...])``: binarized, valid by
    :func:`is_valid` and read by :func:`from_matrix`; or, on a space with its own decoding (DARTS:
    ``space.has_decoding``), the op columns decoded by it as every generator's scores are (DARTS's top two
    inputs per node), valid where the binarized matrix is well formed (every row one-hot, input first,
    output last, no input or output among the slots). Row by row a DARTS sample has no way to give each node
    exactly two inputs: read by argmax, none of 100 unguided samples of a trained score network was a
    valid cell, though every row was one-hot.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import encoding
      >>> s = spaces.get("darts")
      >>> b = encoding.to_matrix(jnp.zeros(28, jnp.int32) + 3, s)  # every edge of every node chosen
      >>> bool(encoding.is_valid(b, s)), bool(encoding.decode(b, s)[1]), bool(s.is_valid(encoding.decode(b, s)[0]))
      (False, True, True)
    """
    b = binarize(x)
    if not space.has_decoding:
        return from_matrix(b, space), is_valid(b, space)
    ops = space.from_one_hot(jnp.asarray(x)[..., 1:-1, 2:])
    return ops, _well_formed(b)


def _well_formed(b: jax.Array) -> jax.Array:
    one_per_row = jnp.all(jnp.sum(b, axis=-1) == 1, axis=-1)
    ends = (b[..., 0, 0] == 1) & (b[..., -1, 1] == 1)
    return one_per_row & ends & jnp.all(b[..., 1:-1, :2] == 0, axis=(-2, -1))


def metrics(b: jax.Array, space, train_ops=None) -> dict:
    """Validity, uniqueness and novelty of samples ``[n, V, F]`` (binary or data scale, read by :func:`decode`;
    host-side).

    validity = valid / total; uniqueness = unique valid / valid; novelty = unique valid
    not in ``train_ops`` / unique valid.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import encoding
      >>> s = spaces.get("nb201")
      >>> b = encoding.to_matrix(np.array([[3, 3, 3, 1, 3, 3], [3, 3, 3, 1, 3, 3], [0, 1, 2, 3, 4, 0]]), s)
      >>> m = encoding.metrics(b, s, train_ops=np.array([[0, 1, 2, 3, 4, 0]]))
      >>> m["n"], m["validity"], round(m["uniqueness"], 3), m["novelty"]
      (3, 1.0, 0.667, 0.5)
    """
    import numpy as np
    ops, valid = decode(b, space)
    valid = np.asarray(valid)
    ops = np.asarray(ops)[valid]
    unique = {row.tobytes() for row in ops}  # encodings, compared as rows (a space may be too large to rank)
    out = dict(n=int(len(valid)), validity=float(valid.mean()), uniqueness=float(len(unique) / max(valid.sum(), 1)))
    if train_ops is not None:
        seen = {row.tobytes() for row in np.asarray(train_ops, np.int32).reshape(-1, space.num_slots)}
        out["novelty"] = float(np.mean([u not in seen for u in unique])) if unique else 0.0
    return out
