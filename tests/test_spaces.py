import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxnag import spaces
from jaxnag.spaces import InvalidArchitecture

ALL = spaces.names()
LISTED = [n for n in ALL if spaces.get(n).enumerable]  # the graph spaces (nb101, darts) are drawn, never listed


@functools.lru_cache(maxsize=None)
def _pool(name):
    return np.asarray(spaces.get(name).random(jax.random.key(0), (64,)))


def ops_strategy(space):
    if not space.enumerable:  # valid cells are rare among slot vectors: drawn by the space's own sampler
        pool = _pool(space.name)
        return st.integers(0, len(pool) - 1).map(lambda i: pool[i])
    return st.lists(st.integers(0, space.num_choices - 1), min_size=space.num_slots,
                    max_size=space.num_slots).map(lambda v: np.asarray(v, np.int32)).filter(
        lambda o: bool(space.is_valid(o)))


@pytest.mark.parametrize("name", ALL)
def test_registry_shapes(name):
    s = spaces.get(name)
    assert spaces.get(name) is s
    assert s.shape == (s.num_slots, s.num_choices)
    assert s.size == math.prod(int(c) for c in s.choice_counts)  # a Python int (DARTS: 8^28)
    assert len(s.slot_names) == s.num_slots


def test_space_sizes():
    assert spaces.get("nb201").shape == (6, 5) and spaces.get("nb201").size == 15625
    assert spaces.get("tnb101_micro").shape == (6, 4) and spaces.get("tnb101_micro").size == 4096
    assert spaces.get("nasbench_graph").shape == (5, 9)


def test_unknown_space():
    with pytest.raises(KeyError, match="unknown search space 'nb999'"):
        spaces.get("nb999")


@functools.cache
def _one_hot_round_trip(name):
    """``from_one_hot(one_hot(ops))`` compiled once per space (eagerly, DARTS's decoding compiled its many
    operations one by one: 3 s before the first example)."""
    s = spaces.get(name)
    return jax.jit(lambda ops: s.from_one_hot(s.one_hot(ops)))


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_round_trips(name, data):
    s = spaces.get(name)
    ops = data.draw(ops_strategy(s))
    assert np.array_equal(s.from_string(s.to_string(ops)), ops)
    assert np.array_equal(np.asarray(_one_hot_round_trip(name)(ops)), ops)
    if s.size < 2**31:
        assert np.array_equal(np.asarray(s.unrank(s.rank(ops))), ops)
        assert 0 <= int(s.rank(ops)) < s.size


@pytest.mark.parametrize("name", LISTED)
def test_rank_is_a_bijection(name):
    s = spaces.get(name)
    all_ops = s.all_ops()
    assert np.array_equal(np.asarray(s.rank(all_ops)), np.arange(s.size))


@pytest.mark.parametrize("name", [n for n in ALL if not spaces.get(n).has_decoding])  # darts: tests/test_graph_spaces
def test_one_hot_decode_continuous_and_jit(name):
    s = spaces.get(name)
    x = jax.random.normal(jax.random.key(0), (7,) + s.shape)
    ops = jax.jit(s.from_one_hot)(x)
    assert ops.shape == (7, s.num_slots) and ops.dtype == jnp.int32
    assert np.array_equal(np.asarray(ops), np.argmax(np.where(s.choice_mask, np.asarray(x), -np.inf), -1))


def test_nb201_strings_match_table(data_dir):
    d = np.load(data_dir / "nb201.npz")
    s = spaces.get("nb201")
    for i in range(0, 15625, 97):
        assert s.to_string(d["ops"][i]) == d["arch_str"][i]
        assert np.array_equal(s.from_string(str(d["arch_str"][i])), d["ops"][i])


def test_tnb101_strings_match_table(data_dir):
    d = np.load(data_dir / "tnb101_micro.npz")
    s = spaces.get("tnb101_micro")
    for i in range(0, 4096, 37):
        assert s.to_string(d["ops"][i]) == d["arch_str"][i]


def test_nb201_canonical_id_matches_table(data_dir):
    d = np.load(data_dir / "nb201.npz")
    s = spaces.get("nb201")
    canon = np.asarray(s.canonical(d["ops"].astype(np.int32)))
    assert len(np.unique(canon)) == 6466
    # The two labellings define the same partition: a bijection between class ids.
    pairs = set(zip(canon.tolist(), d["unique_id"].tolist()))
    assert len(pairs) == 6466


def test_canonical_examples():
    s = spaces.get("nb201")
    # A cell whose output is cut off (all edges into node 3 are none) ...
    a = s.from_string("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    b = s.from_string("|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|none~2|")
    assert int(s.canonical(a)) == int(s.canonical(b))
    # ... and a conv reading node 1 = skip(input) equals the same conv reading the input.
    c = s.from_string("|skip_connect~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|")
    d = s.from_string("|skip_connect~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|")
    assert int(s.canonical(c)) == int(s.canonical(d))
    assert int(s.canonical(a)) != int(s.canonical(c))


@pytest.mark.parametrize("bad", [
    "", "|nor_conv_3x3~0|", "|conv9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~0|+|none~0|+|none~0|none~1|none~2|",
])
def test_nb201_invalid_strings(bad):
    with pytest.raises(InvalidArchitecture):
        spaces.get("nb201").from_string(bad)


def test_unknown_op_message():
    with pytest.raises(InvalidArchitecture, match="unknown op 'conv9x9'"):
        spaces.get("nb201").from_string("|conv9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|")


@pytest.mark.parametrize("bad", ["64-41414-4_11_212", "3_11_21", "64-41414-3-11-212", "x"])
def test_tnb101_invalid_strings(bad):
    with pytest.raises(InvalidArchitecture):
        spaces.get("tnb101_micro").from_string(bad)


def test_nasbench_graph_validity_and_strings():
    s = spaces.get("nasbench_graph")
    with pytest.raises(InvalidArchitecture, match="not a valid architecture"):
        s.from_string("0-1-2-3|skip|skip|skip|skip")
    with pytest.raises(InvalidArchitecture, match="unknown link pattern"):
        s.from_string("0-3-2-1|gcn|gcn|gcn|gcn")
    with pytest.raises(InvalidArchitecture, match="unknown op 'gnn'"):
        s.from_string("0-1-2-3|gnn|gcn|gcn|gcn")
    ops = s.from_string("0-0-1-2|gcn|gat|skip|sage")
    assert bool(s.is_valid(ops))
    assert not bool(s.is_valid(np.array([0, 8, 8, 8, 8])))
    adj = s.adjacency(ops)
    # node 1 <- 0, node 2 <- 0, node 3 <- 1, node 4 <- 2; leaves 3, 4 feed the output.
    assert adj[0, 1] == adj[0, 2] == adj[1, 3] == adj[2, 4] == adj[3, 5] == adj[4, 5] == 1
    assert adj.sum() == 6
    r = s.random(jax.random.key(0), (500,))
    assert bool(jnp.all(s.is_valid(r)))


def test_check_errors():
    s = spaces.get("nb201")
    with pytest.raises(InvalidArchitecture, match=r"shape \[\.\.\., 6\]"):
        s.check(np.zeros((3, 5), int))
    with pytest.raises(InvalidArchitecture, match="slot 2 .* has choice 7"):
        s.check(np.array([0, 0, 7, 0, 0, 0]))
    with pytest.raises(InvalidArchitecture, match="integers"):
        s.check(np.array([0.5, 0, 0, 0, 0, 0]))
    with pytest.raises(InvalidArchitecture, match=r"expected scores of shape"):
        s.from_one_hot(jnp.zeros((2, 6, 4)))


def test_nb201_adjacency():
    adj = spaces.get("nb201").adjacency()
    assert adj.shape == (4, 4) and adj.sum() == 6 and np.all(np.tril(adj) == 0)


def test_sample_unique():
    s = spaces.get("tnb101_micro")
    ops = s.sample_unique(jax.random.key(1), 300)
    assert len(np.unique(np.asarray(s.rank(ops)))) == 300
    with pytest.raises(ValueError, match="cannot draw"):
        s.sample_unique(jax.random.key(1), 5000)


def test_distinct_draws_are_uniform_without_replacement():
    """3 of 6, 60,000 times in one call: every row distinct, each index in half the draws and first in a
    sixth (binomial standard errors 0.002 and 0.0015: the bounds are 4 of them)."""
    idx = np.asarray(jax.jit(jax.vmap(lambda k: spaces.distinct_indices(k, 6, 3)))(jax.random.split(jax.random.key(1),
                                                                                          60_000)))
    assert idx.min() >= 0 and idx.max() <= 5 and all(len(set(r)) == 3 for r in idx[:2000])
    np.testing.assert_allclose(np.bincount(idx.ravel(), minlength=6) / 60_000, 0.5, atol=0.008)
    np.testing.assert_allclose(np.bincount(idx[:, 0], minlength=6) / 60_000, 1 / 6, atol=0.006)


def test_query_ids_follow_the_benchmark():
    g = spaces.get("nasbench_graph")
    a = g.from_string("0-0-0-0|gcn|gat|sage|gin")
    b = g.from_string("0-0-0-0|gat|gcn|gin|sage")
    assert int(g.query_id(a)) == int(g.query_id(b)) and int(g.rank(a)) != int(g.rank(b))
    assert len(g.distinct_ranks()) == 26206  # one per benchmark row
    ops = g.sample_unique(jax.random.key(0), 500)
    assert len(np.unique(np.asarray(g.query_id(ops)))) == 500
    nb = spaces.get("nb201")  # NB201 benchmarks every cell: a query per encoding
    ops = nb.sample_unique(jax.random.key(0), 50)
    np.testing.assert_array_equal(np.asarray(nb.query_id(ops)), np.asarray(nb.rank(ops)))


@pytest.mark.parametrize("name", ["nb201", "tnb101_micro", "nasbench_graph"])
def test_neighbours_differ_in_exactly_one_slot(name):
    space = spaces.get(name)
    ops = space.random(jax.random.key(0), (3,))
    nb, valid = jax.jit(space.neighbours)(ops)
    r, c = space.num_slots, space.num_choices
    assert nb.shape == (3, r * (c - 1), r) and valid.shape == (3, r * (c - 1))
    diff = np.asarray(nb) != np.asarray(ops)[:, None, :]
    assert (diff.sum(-1) == 1).all()
    for i in range(3):  # each other choice of each slot exactly once
        changed = {(int(np.argmax(d)), int(row[np.argmax(d)])) for d, row in zip(diff[i], np.asarray(nb[i]))}
        assert len(changed) == r * (c - 1)
    np.testing.assert_array_equal(valid, space.is_valid(nb))


@pytest.mark.parametrize("name", ALL)
def test_is_valid_on_host_rows_equals_the_traced_rule(name):
    """numpy rows are checked on the host (a table lookup, or the rule compiled once): the same answers as the
    traced rule, out-of-range choices included."""
    space = spaces.get(name)
    rows = _pool(name)[:16]  # valid rows (drawn once for the module)
    noise = np.random.default_rng(2).integers(-1, space.num_choices + 1, (48, space.num_slots))
    rows = np.concatenate([rows, noise.astype(np.int32)])
    host = space.is_valid(rows)
    assert isinstance(host, np.ndarray) and host.dtype == np.bool_ and host.shape == (64,)
    np.testing.assert_array_equal(host, np.asarray(jax.jit(space.is_valid)(rows)))
    if space.enumerable:  # unrank: numpy in, numpy out
        back = space.unrank(space.rank(rows[:16]))
        assert isinstance(back, np.ndarray)
        np.testing.assert_array_equal(back, rows[:16])
