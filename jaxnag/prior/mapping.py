"""Carry a prior or score matrix from one space's op vocabulary to another's.

Ops are matched by name after normalising the ``nor_`` prefix (NB201's
``nor_conv_3x3`` is TransNAS-Bench-101's ``conv_3x3``), or by a declared ``op_map``
(target op name -> source op name) where the vocabularies differ (NB201's
``nor_conv_3x3`` for DARTS's ``sep_conv_3x3`` and ``dil_conv_3x3``). The rule for ops
without a counterpart:

- a source op absent from the target (NB201's ``avg_pool_3x3`` on TNB101) is dropped
  and each slot's remaining mass is renormalised, so the relative preferences among
  the shared ops are kept;
- a target op absent from the source gets the eps-uniform floor only (no evidence).

``map_by="slot"`` (the default) carries each slot to the same slot: the two spaces need
the same cell graph. ``map_by="op"`` carries each op's mean over the source's slots to
every target slot where the op is a choice (PG-NAG's own fallback: an op's mean over
slots), so it maps between any cell graphs (NB201's 6 edges to DARTS's 28 slots);
architectures carry only between equal cell graphs. A transfer in which no target op
has a source counterpart is refused (it would be the uniform prior).

Examples:
  >>> import numpy as np
  >>> from jaxnag import spaces
  >>> from jaxnag.prior import mapping
  >>> p = np.full((6, 5), 0.2, np.float32)
  >>> q = mapping.map_prior(p, spaces.get("nb201"), spaces.get("tnb101_micro"))
  >>> q.shape, bool(np.allclose(q.sum(1), 1))
  ((6, 4), True)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError, UnknownName
from .scores import mix_uniform

__all__ = ["MAP_BY", "map_ops", "map_prior", "map_scores", "op_index_map", "same_graph"]

MAP_BY = ("slot", "op")  # how a prior or a score matrix is carried (module doc)


def _norm(name: str) -> str:
    return name.removeprefix("nor_")


def same_graph(src, dst) -> bool:
    """Whether the two spaces' slots correspond one to one (the same number of slots on the same cell edges).

    Examples:
      >>> from jaxnag import spaces
      >>> from jaxnag.prior import mapping
      >>> nb201 = spaces.get("nb201")
      >>> mapping.same_graph(nb201, spaces.get("tnb101_micro")), mapping.same_graph(nb201, spaces.get("darts"))
      (True, False)
    """
    return src.num_slots == dst.num_slots and src.edges == dst.edges


def _source_indices(choices, names: list[str], op_map) -> list[int]:
    """For each target choice, the index in ``names`` (normalised source op names) of its source op (its
    ``op_map`` entry, else its own name), or -1."""
    out = []
    for name in choices:
        source = _norm(op_map[name]) if op_map and name in op_map else _norm(name)
        out.append(names.index(source) if source in names else -1)
    return out


def _check_op_map(op_map, src, dst) -> dict | None:
    if op_map is None:
        return None
    op_map = dict(op_map)
    known_dst, known_src = set(dst.op_names), set(src.op_names)
    for t, f in op_map.items():
        if t not in known_dst:
            raise ConfigError(f"op_map names {t!r}, not an op of {dst.name} (its ops: {', '.join(dst.op_names)})")
        if f not in known_src:
            raise ConfigError(f"op_map maps {t!r} to {f!r}, not an op of {src.name} (its ops: "
                              f"{', '.join(src.op_names)})")
    return op_map


def op_index_map(src, dst, op_map=None) -> np.ndarray:
    """For each target choice of each slot, the source choice index, or -1 if none: int32 ``dst.shape``.
    ``op_map``: target op name -> source op name, for ops whose names differ (others match by name).

    Examples:
      >>> from jaxnag import spaces
      >>> from jaxnag.prior import mapping
      >>> nb201, tnb = spaces.get("nb201"), spaces.get("tnb101_micro")
      >>> mapping.op_index_map(nb201, tnb)[0].tolist(), mapping.op_index_map(tnb, nb201)[0].tolist()
      ([0, 1, 2, 3], [0, 1, 2, 3, -1])
      >>> mapping.op_index_map(tnb, nb201, {"avg_pool_3x3": "skip_connect"})[0].tolist()  # declared
      [0, 1, 2, 3, 1]
    """
    if not same_graph(src, dst):
        raise ConfigError(f"cannot map {src.name} onto {dst.name} slot by slot: the cell graphs differ (map_by='op' "
                          "carries each op's mean over the source's slots)")
    op_map = _check_op_map(op_map, src, dst)
    out = np.full(dst.shape, -1, np.int32)
    for slot, choices in enumerate(dst.choices):
        out[slot, :len(choices)] = _source_indices(choices, [_norm(n) for n in src.choices[slot]], op_map)
    return out


def _op_means(p, src, dst, op_map) -> tuple[jax.Array, np.ndarray]:
    """Across cell graphs: each target choice's source op's mean over the source slots where it is a
    choice, ``(values float32 dst.shape, known bool dst.shape)``."""
    op_map = _check_op_map(op_map, src, dst)
    names = sorted({_norm(n) for slot in src.choices for n in slot})
    member = np.zeros((len(names),) + tuple(src.shape), np.float32)  # op x slot x choice
    for slot, choices in enumerate(src.choices):
        for j, n in enumerate(choices):
            member[names.index(_norm(n)), slot, j] = 1.0
    per_op = jnp.einsum("osc,sc->o", member, jnp.asarray(p, jnp.float32)) / member.sum((1, 2))
    idx = np.full(dst.shape, -1, np.int32)
    for slot, choices in enumerate(dst.choices):
        idx[slot, :len(choices)] = _source_indices(choices, names, op_map)
    return jnp.where(jnp.asarray(idx >= 0), per_op[np.maximum(idx, 0)], 0.0), idx >= 0


def _carried(values, src, dst, op_map, map_by) -> tuple[jax.Array, np.ndarray]:
    """``values`` (``src.shape``; non-choices ignored) carried to ``dst`` by ``map_by``: ``(mapped float32
    dst.shape, known bool dst.shape)``, refused where no target op has a source counterpart."""
    if map_by not in MAP_BY:
        raise UnknownName(f"unknown map_by {map_by!r}; available: {', '.join(MAP_BY)}")
    values = jnp.where(jnp.asarray(src.choice_mask), jnp.asarray(values, jnp.float32), 0.0)
    if map_by == "slot":
        idx = op_index_map(src, dst, op_map)
        known = idx >= 0
        mapped = jnp.take_along_axis(values, jnp.asarray(np.maximum(idx, 0)), axis=1)
    else:
        mapped, known = _op_means(values, src, dst, op_map)
    _refuse_no_evidence(known, src, dst)
    return mapped, known


def _refuse_no_evidence(known, src, dst):
    if not np.any(known & dst.choice_mask):
        raise ConfigError(f"no op of {dst.name} has a counterpart in {src.name} (ops {', '.join(dst.op_names)} vs "
                          f"{', '.join(src.op_names)}): the prior would be uniform; declare op_map={{target op: "
                          "source op}")


def map_prior(p, src, dst, eps=0.05, op_map=None, map_by="slot") -> jax.Array:
    """Prior on ``src`` -> prior on ``dst`` by the rules above (eps-uniform mixed); jittable. ``p`` is
    ``src.shape``, the result float32 ``dst.shape``; ``op_map``: target op name -> source op name;
    ``map_by``: ``"slot"`` or ``"op"`` (module doc).

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.prior import mapping
      >>> p = np.tile(np.array([0.1, 0.1, 0.1, 0.2, 0.5], np.float32), (6, 1))  # avg_pool_3x3 last
      >>> q = mapping.map_prior(p, spaces.get("nb201"), spaces.get("tnb101_micro"), eps=0.0)
      >>> np.round(np.asarray(q[0], np.float64), 3).tolist()  # avg_pool dropped, the rest renormalised
      [0.2, 0.2, 0.2, 0.4]
      >>> darts = spaces.get("darts")  # another cell graph: each op's mean over NB201's edges, on every slot
      >>> q = mapping.map_prior(p, spaces.get("nb201"), darts, eps=0.0, map_by="op", op_map={
      ...     "sep_conv_3x3": "nor_conv_3x3", "dil_conv_3x3": "nor_conv_3x3"})
      >>> np.round(np.asarray(q[0], np.float64), 3).tolist()  # none, max/avg pool, skip, sep 3/5, dil 3/5
      [0.091, 0.0, 0.455, 0.091, 0.182, 0.0, 0.182, 0.0]
    """
    mapped, known = _carried(p, src, dst, op_map, map_by)
    mapped = jnp.where(jnp.asarray(dst.choice_mask & known), mapped, 0.0)
    empty = mapped.sum(1, keepdims=True) <= 0  # a slot with no shared op: no evidence at all
    mapped = jnp.where(empty, jnp.asarray(dst.choice_mask, jnp.float32), mapped)
    return mix_uniform(mapped, dst.choice_mask, eps)


def map_ops(ops, src, dst, op_map=None) -> tuple[jax.Array, jax.Array]:
    """Architectures ``[k, R]`` of ``src`` carried to ``dst``: ``(ops [k, R], kept [k])``; a row using an
    op without counterpart is not kept (its ops are then meaningless), nor is any row between different cell
    graphs (their slots do not correspond). ``op_map``: target op name -> source op name.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.prior import mapping
      >>> ops = np.array([[3, 3, 1, 0, 2, 3], [4, 3, 3, 3, 3, 3]])  # the second uses avg_pool_3x3 (4)
      >>> mapped, kept = mapping.map_ops(ops, spaces.get("nb201"), spaces.get("tnb101_micro"))
      >>> mapped[0].tolist(), kept.tolist()
      ([3, 3, 1, 0, 2, 3], [True, False])
    """
    ops = jnp.asarray(ops, jnp.int32)
    if src is dst:
        return ops, jnp.ones(ops.shape[0], bool)
    if not same_graph(src, dst):
        return jnp.zeros((ops.shape[0], dst.num_slots), jnp.int32), jnp.zeros(ops.shape[0], bool)
    to_src = op_index_map(src, dst, op_map)  # for each target choice: its source index
    idx = np.full(src.shape, -1, np.int32)  # for each source choice: the first target choice mapped to it
    for slot in range(dst.num_slots):
        for j in range(dst.shape[1] - 1, -1, -1):
            if to_src[slot, j] >= 0:
                idx[slot, to_src[slot, j]] = j
    mapped = jnp.take_along_axis(jnp.broadcast_to(jnp.asarray(idx), ops.shape[:1] + idx.shape), ops[:, :, None],
                                 axis=2)[..., 0]
    kept = jnp.all(mapped >= 0, axis=1)
    return jnp.maximum(mapped, 0), kept


def map_scores(score, src, dst, op_map=None, map_by="slot") -> jax.Array:
    """Score matrix on ``src`` -> on ``dst``; target ops without a source get the slot's minimum
    (``map_by="op"``: each op's mean score over the source's slots). ``score`` is ``src.shape``, the result
    float32 ``dst.shape`` (NaN at non-choices); ``op_map``: target op name -> source op name.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces
      >>> from jaxnag.prior import mapping
      >>> score = np.tile(np.array([-1.0, 1.0, 2.0, 3.0], np.float32), (6, 1))
      >>> mapping.map_scores(score, spaces.get("tnb101_micro"), spaces.get("nb201"))[0].tolist()  # avg_pool: min
      [-1.0, 1.0, 2.0, 3.0, -1.0]
    """
    mapped, known = _carried(score, src, dst, op_map, map_by)
    mapped = jnp.where(jnp.asarray(known), mapped, jnp.nan)
    floor = jnp.nanmin(mapped, axis=1, keepdims=True)
    return jnp.where(jnp.asarray(dst.choice_mask), jnp.where(jnp.isfinite(mapped), mapped, floor), jnp.nan)
