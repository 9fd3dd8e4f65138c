"""jaxnag.rng draws exactly what jax.random draws, on the fused path and off it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnag import rng

SHAPES = [(1,), (7,), (3, 5), (2, 3, 4)]


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", SHAPES)
def test_draws_equal_jax_random_for_typed_and_raw_keys(shape):
    for key in (jax.random.key(11), jax.random.PRNGKey(12)):
        _same(rng.bits(key, shape), jax.random.bits(key, shape))
        _same(rng.uniform(key, shape), jax.random.uniform(key, shape))
        _same(rng.uniform(key, shape, -2.0, 3.0), jax.random.uniform(key, shape, minval=-2.0, maxval=3.0))
        _same(rng.normal(key, shape), jax.random.normal(key, shape))
        _same(rng.gumbel(key, shape), jax.random.gumbel(key, shape))
    key = jax.random.key(13)
    _same(jax.random.key_data(rng.split(key, 4)), jax.random.key_data(jax.random.split(key, 4)))
    raw = jax.random.PRNGKey(13)
    _same(rng.split(raw, 3), jax.random.split(raw, 3))


def test_draws_equal_jax_random_under_jit_and_vmap():
    keys = jax.random.split(jax.random.key(3), 5)
    for ours, theirs in ((rng.normal, jax.random.normal), (rng.uniform, jax.random.uniform),
                         (rng.gumbel, jax.random.gumbel)):
        got = jax.jit(jax.vmap(lambda k: ours(k, (4, 6))))(keys)
        _same(got, jax.vmap(lambda k: theirs(k, (4, 6)))(keys))
    got = jax.jit(jax.vmap(lambda k: jax.random.key_data(rng.split(k, 3))))(keys)
    _same(got, jax.vmap(lambda k: jax.random.key_data(jax.random.split(k, 3)))(keys))


def test_other_keys_and_shapes_go_to_jax_random():
    key = jax.random.key(0, impl="philox2x32")
    _same(rng.normal(key, (3,)), jax.random.normal(key, (3,)))
    _same(jax.random.key_data(rng.split(key, 2)), jax.random.key_data(jax.random.split(key, 2)))
    _same(rng.uniform(jax.random.key(1), ()), jax.random.uniform(jax.random.key(1), ()))
    assert rng.normal(jax.random.key(1), (0, 3)).shape == (0, 3)
    with pytest.raises(Exception):
        rng.normal(jax.random.split(jax.random.key(0), 2), (3,))  # a batch of keys, as jax.random refuses it


def test_the_fused_path_has_no_loop():
    text = jax.jit(lambda k: rng.normal(k, (8, 8))).lower(jax.random.key(0)).as_text()
    assert "while" not in text and "threefry" not in text
    assert "while" in jax.jit(lambda k: jax.random.normal(k, (8, 8))).lower(jax.random.key(0)).compile().as_text()


def test_space_decoding_argmax_equals_jnp_argmax():
    from jaxnag.spaces._space import _argmax
    rs = np.random.default_rng(0)
    x = rs.integers(0, 3, (400, 5)).astype(np.float32)  # many ties
    x[rs.random(x.shape) < 0.1] = np.nan
    x[rs.random(x.shape) < 0.1] = -np.inf
    x[:3] = -np.inf
    for cols in (1, 2, 5):
        _same(jax.jit(_argmax)(x[:, :cols]), jnp.argmax(x[:, :cols], axis=-1).astype(jnp.int32))


@pytest.mark.slow  # 4-6 s: two compilations of EDNAG's step
def test_ednag_runs_as_with_jax_random(monkeypatch):
    """EDNAG through jaxnag.rng runs as through jax.random: the same architectures and fitness, and populations
    equal to float32 rounding. Not bit for bit: inside a larger program XLA fuses the draws with their
    consumers differently (a multiply-add contracted or not), so a population value can differ in its last
    bit (22 of 720 here after five steps)."""
    from jaxnag import ednag, spaces

    space = spaces.get("nb201")
    fitness = lambda ops: (ops @ jnp.arange(1, 7, dtype=jnp.int32)).astype(jnp.float32)  # noqa: E731
    cfg = ednag.Config(population=8, steps=6)
    keys = jax.random.split(jax.random.key(4), 3)

    def states(key):  # the population itself (floats), not only the discrete results
        k0, key = jax.random.split(key)
        state = ednag.init(k0, space, cfg)
        state = ednag.tell(state, fitness(state.ops), space, cfg)
        step = lambda s, k: (ednag.step(k, s, fitness, space, cfg), None)  # noqa: E731
        return jax.lax.scan(step, state, jax.random.split(key, cfg.steps - 1))[0]

    def run():
        return jax.jit(jax.vmap(states))(keys)
    ours = run()
    monkeypatch.setattr(rng, "split", lambda key, num=2: jax.random.split(key, num))
    monkeypatch.setattr(rng, "normal", lambda key, shape, dtype=jnp.float32: jax.random.normal(key, shape, dtype))
    monkeypatch.setattr(rng, "uniform", lambda key, shape, minval=0.0, maxval=1.0, dtype=jnp.float32:
                        jax.random.uniform(key, shape, dtype, minval, maxval))
    monkeypatch.setattr(rng, "gumbel", lambda key, shape, dtype=jnp.float32: jax.random.gumbel(key, shape, dtype))
    theirs = run()
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        a, b = np.asarray(a), np.asarray(b)
        if np.issubdtype(a.dtype, np.floating):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
        else:
            np.testing.assert_array_equal(a, b)


def test_concrete_keys_draw_on_the_host_with_the_same_values_and_no_compilation():
    from jaxnag import cache
    counts = cache.compile_counts()
    keys = [jax.random.key(s) for s in (0, 7, 2**31 - 1)]
    keys = keys + [jax.random.key_data(k) for k in keys]  # raw keys too
    draws = []
    before = counts["requests"]
    for i, key in enumerate(keys):
        shape = (211 + i, 13)  # new shapes: a compilation would show
        draws.append((key, shape, rng.bits(key, shape), rng.uniform(key, shape), rng.uniform(key, shape, -1.0, 1.0),
                      rng.uniform(key, shape, -0.25, 0.25)))
    assert counts["requests"] == before
    for key, shape, b, u, sym, narrow in draws:
        _same(b, jax.random.bits(key, shape))
        _same(u, jax.random.uniform(key, shape))
        _same(sym, jax.random.uniform(key, shape, minval=-1.0, maxval=1.0))
        _same(narrow, jax.random.uniform(key, shape, minval=-0.25, maxval=0.25))
