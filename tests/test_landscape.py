import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnag import ridge, spaces, tables
from jaxnag.errors import ConfigError

NB201 = spaces.get("nb201")


@functools.partial(jax.jit, static_argnums=2)
def _ridge_fit(ops, values, space):
    stats = ridge.update(ridge.empty(space), ops, values, space)
    return ridge.predictor(stats, space, 1e-3)(ops)


def _r2(t) -> float:
    """Variance of the table explained by ridge on one-hot features (a model additive over slots)."""
    v = t.info.row_values.astype(np.float64)
    pred = np.asarray(_ridge_fit(t.info.row_ops, t.info.row_values, t.space), np.float64)
    return 1.0 - np.sum((v - pred) ** 2) / np.sum((v - v.mean()) ** 2)


def _additive_gap(t) -> float:
    """Largest dependence of ``f(a with slot r = c + 1) - f(a)`` on the other slots (0 for an additive table)."""
    dense = np.asarray(t.values, np.float64).reshape(tuple(t.space.choice_counts))
    return max(float(np.ptp(np.diff(dense, axis=r) - np.diff(dense, axis=r).mean(
        axis=tuple(a for a in range(dense.ndim) if a != r), keepdims=True))) for r in range(dense.ndim))


def test_same_seed_same_table_other_seed_other_table():
    for kw in ({"kind": "nk", "k": 2}, {"kind": "orders", "weights": (1, 1, 1)}):
        a, b = tables.landscape("nb201", seed=5, **kw), tables.landscape(NB201, seed=5, **kw)
        c = tables.landscape("nb201", seed=6, **kw)
        assert np.array_equal(np.asarray(a.values), np.asarray(b.values))
        assert not np.allclose(np.asarray(a.values), np.asarray(c.values))
    t = tables.landscape("nb201", k=2, seed=0)
    assert (t.benchmark, t.dataset, t.metric, t.goal) == ("landscape", "nk_k2_s0", "fitness", "max")
    assert "k=2" in t.info.source and "seed=0" in t.info.source
    assert tables.landscape("nb201", "orders", weights=(1, 0.5, 0)).dataset == "orders_1-0.5-0_s0"


def test_nk_k0_is_additive_and_k1_is_not():
    assert _additive_gap(tables.landscape("nb201", k=0, seed=3)) < 1e-3
    assert _additive_gap(tables.landscape("nb201", k=1, seed=3)) > 1.0


def test_more_nk_interactions_fit_an_additive_model_worse():
    r2 = [_r2(tables.landscape("nb201", k=k, seed=0)) for k in range(4)]
    assert r2[0] > 0.999
    assert all(a > b for a, b in zip(r2, r2[1:])), r2
    assert r2[1] < 0.6


def test_orders_additive_and_pairwise():
    assert _r2(tables.landscape("nb201", "orders", weights=(1, 0, 0))) > 0.999
    assert _r2(tables.landscape("nb201", "orders", weights=(0, 1, 0))) < 0.6
    assert _additive_gap(tables.landscape("nb201", "orders", weights=(1, 0, 0), k=99)) < 1e-3  # k is ignored


@pytest.mark.parametrize("scale", [100.0, 1.0])
def test_values_span_zero_to_scale_and_optimum_is_the_max(scale):
    t = tables.landscape("nb201", "orders", weights=(1, 1, 1), seed=2, scale=scale)
    v = np.asarray(t.values)
    assert v.min() == 0.0 and v.max() == np.float32(scale)
    assert float(t.optimum) == float(v.max())
    ops, best = t.best()
    assert best == float(t.optimum) == float(jax.jit(t)(jnp.asarray(ops)))


def test_tnb101_and_a_space_with_uneven_slots_and_invalid_encodings():
    t = tables.landscape("tnb101_micro", k=3, seed=1)
    assert t.values.shape == (4096,) and t.space.name == "tnb101_micro"
    assert float(t.optimum) == 100.0 and float(np.min(np.asarray(t.values))) == 0.0
    space = spaces.categorical("landscape_uneven", (("a", "b"), ("a", "b", "c"), ("a", "b", "c", "d")),
                               valid=lambda ops: jnp.sum(ops, axis=-1) > 0)
    for kw in ({"k": 2}, {"kind": "orders", "weights": (1, 1, 1)}):
        u = tables.landscape(space, **kw)
        v = np.asarray(u.values)
        assert np.isnan(v[0]) and np.isfinite(v[1:]).all()  # the all-zero encoding is invalid
        assert np.nanmin(v) == 0.0 and np.nanmax(v) == 100.0


@pytest.mark.parametrize("kwargs, word", [
    ({"kind": "mk"}, "kind"), ({"kind": None}, "kind"),
    ({"k": 6}, r"k must be an integer in \[0, 5\]"), ({"k": -1}, "k must"), ({"k": 1.5}, "k must"),
    ({"k": True}, "k must"),
    ({"seed": -1}, "seed"), ({"seed": 1.0}, "seed"), ({"seed": "0"}, "seed"),
    ({"kind": "orders", "weights": (1, 1)}, "weights"), ({"kind": "orders", "weights": (1, -1, 0)}, "weights"),
    ({"kind": "orders", "weights": (0, 0, 0)}, "weights"),
    ({"kind": "orders", "weights": (float("nan"), 1, 0)}, "weights"),
    ({"kind": "orders", "weights": "abc"}, "weights"), ({"kind": "orders", "weights": None}, "weights"),
    ({"scale": 0}, "scale"), ({"scale": -1.0}, "scale"), ({"scale": float("inf")}, "scale"), ({"scale": "1"}, "scale"),
])
def test_bad_input_is_one_clear_config_error(kwargs, word):
    with pytest.raises(ConfigError, match=word):
        tables.landscape("nb201", **kwargs)


def test_a_space_too_large_to_list_is_refused():
    big = spaces.categorical("landscape_big", ("a", "b"), slots=25)
    with pytest.raises(ConfigError, match="landscape enumerates the space"):
        tables.landscape(big)


@pytest.mark.slow  # 3 s: the isomorphism classes of NAS-Bench-Graph
def test_isomorphic_encodings_share_a_value():
    space = spaces.get("nasbench_graph")
    t = tables.landscape(space, k=2, seed=1)
    v, valid = np.asarray(t.values), np.asarray(space.is_valid(space.all_ops()))
    assert len(t.info.row_ops) == len(space.distinct_ranks())
    assert np.isfinite(v[valid]).all() and np.isnan(v[~valid]).all()
    assert np.array_equal(v[valid], v[space.canonical_table()[valid]])
