"""Each EDNAG building block against hand-computed values."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnag import errors, schedules, shaping
from jaxnag.ednag import denoise, mutation, selection


def test_cosine_schedule_reference():
    a = np.asarray(schedules.cosine(100))
    assert a[0] == 1.0 and a[-1] == 0.0
    k = np.arange(100)
    np.testing.assert_allclose(a, (np.cos(np.pi * k / 99) + 1) / 2, atol=1e-7)
    assert np.all(np.diff(a) < 0)


def test_other_schedules():
    c = np.asarray(schedules.cosine_clipped(10))
    assert c[0] == pytest.approx(1 - 1e-4) and c[-1] == pytest.approx(1e-4)
    lin = np.asarray(schedules.linear(5, 1.0, 0.0))
    np.testing.assert_allclose(lin, [1, 0.75, 0.5, 0.25, 0])
    d = np.asarray(schedules.ddpm(4, 0.1, 0.3))
    np.testing.assert_allclose(d, [1.0, 0.9, 0.9 * 0.8, 0.9 * 0.8 * 0.7], rtol=1e-6)
    with pytest.raises(KeyError, match="unknown schedule"):
        schedules.get("sigmoid", 10)
    with pytest.raises(ValueError, match="at least 2"):
        schedules.cosine(1)


def test_rescale_knots_and_slopes():
    knots = [0, 30, 50, 70, 75, 80, 85, 90, 95]
    values = [0, 3, 23, 63, 78, 103, 153, 303, 503]
    np.testing.assert_allclose(np.asarray(shaping.rescale(jnp.array(knots, jnp.float32))), values, atol=1e-4)
    # Slopes between the knots, and 50 above 95.
    np.testing.assert_allclose(float(shaping.rescale(jnp.float32(92.0))), 303 + 2 * 40, atol=1e-4)
    np.testing.assert_allclose(float(shaping.rescale(jnp.float32(97.0))), 503 + 2 * 50, atol=1e-4)
    np.testing.assert_allclose(float(shaping.rescale(jnp.float32(10.0))), 1.0, atol=1e-5)


def test_energy_and_log_energy():
    f = jnp.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(np.asarray(shaping.energy(f, 2.0)), np.exp(np.array([1, 2, 4]) / 2 - 2 + 5),
                               rtol=1e-6)
    np.testing.assert_allclose(np.asarray(shaping.log_energy(f, 2.0)), np.array([1, 2, 4]) / 2 - 2 + 5, rtol=1e-6)
    big = jnp.array([0.0, 1000.0])
    assert float(shaping.energy(big)[0]) == 0.0  # underflows in float32 ...
    assert float(shaping.log_energy(big)[0]) == pytest.approx(-995.0)  # ... the log form does not


def test_population_shapings_ignore_failures():
    f = jnp.array([1.0, jnp.nan, 3.0, jnp.inf])
    z = np.asarray(shaping.zscore(f))
    np.testing.assert_allclose(z[[0, 2]], [-1.0, 1.0], rtol=1e-6)
    assert np.isneginf(z[1]) and np.isneginf(z[3])
    r = np.asarray(shaping.centered_rank(f))
    assert r[2] == 0.5 and r[0] > r[1] and r[0] > r[3]
    # Ties share the rank of the best of them, on both the comparison and the sorting path.
    g = jnp.array([2.0, 5.0, 2.0, jnp.nan, 5.0, 1.0])
    expect = np.array([3, 5, 3, 0, 5, 1]) / 5 - 0.5
    np.testing.assert_allclose(np.asarray(shaping.centered_rank(g)), expect, atol=1e-7)
    big = jnp.tile(g, 60)  # 360 entries: the sorting path
    ranks = (np.asarray(shaping.centered_rank(big)) + 0.5) * 359
    np.testing.assert_allclose(ranks[:6], np.array([239, 359, 239, 59, 359, 119]), atol=1e-3)
    np.testing.assert_allclose(np.asarray(shaping.failed_as(f, 0.0)), [1, 0, 3, 0])


def _x0_reference(x, w, a):
    n = len(x)
    out = np.zeros_like(x)
    for i in range(n):
        k = np.exp(-np.sum((x[i] - np.sqrt(a) * x) ** 2, axis=1) / (2 * (1 - a)))
        p = (w + 1e-9) * (k + 1e-9) / (1 / n + 1e-9)
        out[i] = (p[:, None] * x).sum(0) / (p.sum() + 1e-9)
    return out


def test_weighted_x0_faithful_matches_loop_and_log_form():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (6, 4)).astype(np.float32)
    w = np.exp(rng.normal(size=6)).astype(np.float32)
    want = _x0_reference(x.astype(np.float64), w.astype(np.float64), 0.6)
    got = np.asarray(denoise.weighted_x0_faithful(jnp.asarray(x), jnp.asarray(w), 0.6))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    got_log = np.asarray(denoise.weighted_x0_log(jnp.asarray(x), jnp.log(jnp.asarray(w)), 0.6))
    np.testing.assert_allclose(got_log, want, rtol=1e-3, atol=1e-4)


def test_weighted_x0_log_never_underflows():
    x = jnp.array([[10.0, 0.0], [0.0, 10.0], [-10.0, -10.0]])
    log_w = jnp.array([-2000.0, 0.0, -jnp.inf])
    x0 = np.asarray(denoise.weighted_x0_log(x, log_w, 0.999))
    assert np.isfinite(x0).all()
    # Each point sits in its own kernel; the failed one gets no weight at all.
    np.testing.assert_allclose(x0[1], [0.0, 10.0], atol=1e-4)
    assert not np.allclose(x0[2], [-10.0, -10.0])


def test_ddim_step_formula_and_endpoints():
    key = jax.random.key(0)
    x = jnp.array([[0.5, -0.2]])
    x0 = jnp.array([[1.0, 0.0]])
    a_t, a_p, eta = 0.3, 0.6, 0.8
    z = np.asarray(jax.random.normal(key, x.shape))
    sigma = eta * np.sqrt((1 - a_p) / (1 - a_t) * (1 - a_t / a_p))
    eps = (np.asarray(x) - np.sqrt(a_t) * np.asarray(x0)) / np.sqrt(1 - a_t)
    want = np.sqrt(a_p) * np.asarray(x0) + np.sqrt(1 - a_p - sigma**2) * eps + sigma * z
    np.testing.assert_allclose(np.asarray(denoise.ddim_step(key, x, x0, a_t, a_p, eta)), want, rtol=1e-5)
    # a_prev = 1: the step returns x0 exactly; a_t = 0: eps = x.
    np.testing.assert_array_equal(np.asarray(denoise.ddim_step(key, x, x0, 0.4, 1.0, eta)), np.asarray(x0))
    out = denoise.ddim_step(key, x, x0, 0.0, 0.5, 0.0)
    np.testing.assert_allclose(np.asarray(out), np.sqrt(0.5) * np.asarray(x0) + np.sqrt(0.5) * np.asarray(x),
                               rtol=1e-6)


def test_normalize():
    x = jnp.array([[0.0, 5.0, 10.0], [3.0, 3.0, 3.0]])
    np.testing.assert_allclose(np.asarray(denoise.normalize(x)), [[-1, 0, 1], [0, 0, 0]])


@pytest.mark.parametrize("m", [5.0, 3.0, 1.0, 2.5])  # exp/log root, two and one square roots, a non-whole power
def test_polynomial_mutation_values(m):
    x = jnp.array([0.0, 0.5, -0.5])
    # u < 0.5 branch, by hand: d1 = (x + 1) / 2
    u = 0.25
    d1 = (np.asarray(x) + 1) / 2
    delta = (2 * u + (1 - 2 * u) * (1 - d1) ** (m + 1)) ** (1 / (m + 1)) - 1
    np.testing.assert_allclose(np.asarray(mutation.polynomial_delta(x, u, m)), np.asarray(x) + 2 * delta, rtol=1e-5)
    u = 0.75
    d2 = (1 - np.asarray(x)) / 2
    delta = 1 - (2 * (1 - u) + 2 * (u - 0.5) * (1 - d2) ** (m + 1)) ** (1 / (m + 1))
    np.testing.assert_allclose(np.asarray(mutation.polynomial_delta(x, u, m)), np.asarray(x) + 2 * delta, rtol=1e-5)
    # Bounds and rounding: values at or a float step past the bounds stay finite and in range.
    edge = jnp.array([-1.0, 1.0, -1.0000001, 1.0000001])
    for u in (0.0, 0.25, 0.5, 0.75, 0.999):
        out = np.asarray(mutation.polynomial_delta(edge, u, m))
        assert np.isfinite(out).all() and (np.abs(out) <= 1.0).all(), (u, out)


def test_per_individual_mutation_keeps_argmax_per_gene_does_not():
    x = jax.random.uniform(jax.random.key(0), (64, 6, 5), minval=-1, maxval=1).reshape(64, 30)
    y = mutation.polynomial(jax.random.key(1), x, 1.0, 5.0, per_gene=False)
    am = lambda v: np.asarray(v).reshape(64, 6, 5).argmax(-1)  # noqa: E731
    assert not np.allclose(np.asarray(y), np.asarray(x))
    np.testing.assert_array_equal(am(y), am(x))  # monotone map: decoding never changes
    z = mutation.polynomial(jax.random.key(1), x, 1.0, 5.0, per_gene=True)
    assert (am(z) != am(x)).any()
    assert bool(jnp.all(jnp.abs(z) <= 1.0))
    none = mutation.polynomial(jax.random.key(1), x, 0.0, 5.0, per_gene=True)
    np.testing.assert_array_equal(np.asarray(none), np.asarray(x))


def test_selection_elites_dedup_diverse_and_distinct():
    # Pool of 10 in 1-D; fitness with a tie at the top.
    x = jnp.array([[0.0], [0.1], [5.0], [0.2], [9.0], [0.3], [0.4], [0.5], [0.6], [0.7]])
    f = jnp.array([10.0, 10.0, 1.0, 8.0, 0.5, 7.0, 6.0, 5.0, 4.0, 3.0])
    for k in range(20):
        idx = np.asarray(selection.select(jax.random.key(k), x, f, 5, 0.4, 0.2))
        assert len(set(idx.tolist())) == 5
        # Elites: 2 places, index 1 ties with index 0 and is skipped, so 0 and 3.
        assert 0 in idx and 3 in idx
        # Diverse: 1 place, the most distant among f >= 0.1 * max = 1: index 2 (x = 5); index 4 is too unfit.
        assert 2 in idx


def test_selection_roulette_follows_probabilities():
    x = jnp.zeros((4, 2))
    f = jnp.array([0.0, 0.0, 0.0, 1.0])  # norm(f (1 + div)) = [0, 0, 0, 1]: p = [.1, .1, .1, 1.0]
    idx = jax.vmap(lambda k: selection.select(k, x, f, 1, 0.0, 0.0))(jax.random.split(jax.random.key(0), 4000))
    share = float(np.mean(np.asarray(idx)[:, 0] == 3))
    assert share == pytest.approx(1.0 / 1.3, abs=0.03)


@pytest.mark.parametrize("seed", range(3))
def test_pairwise_and_sorting_paths_agree(monkeypatch, seed):
    """Small pools use comparisons instead of sorts; both paths give the same answers (ties included)."""
    from jaxnag import queries
    rng = np.random.default_rng(seed)
    m, n = 40, 12
    x = jnp.asarray(rng.normal(size=(m, 6)), jnp.float32)
    f = jnp.asarray(rng.integers(0, 8, m), jnp.float32)  # many ties
    ranks = jnp.asarray(rng.integers(0, 30, m))
    valid = jnp.asarray(rng.random(m) < 0.7)
    prior = jnp.asarray(rng.integers(0, 30, 5))
    seen, _ = queries.mark(queries.empty(30), prior, jnp.ones(5, bool))

    def run():
        return (shaping.descending_position(f), selection._elites(f, 3),
                selection.select(jax.random.key(seed), x, f, n, 0.25, 0.25), *queries.mark(seen, ranks, valid))

    small = jax.jit(run)()  # one program per path (op by op, each operation compiled alone: 3x the time)
    for mod in (shaping, selection, queries):
        monkeypatch.setattr(mod, "PAIRWISE_MAX", 1)
    large = jax.jit(run)()
    for a, b in zip(small, large):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # And against a plain-Python count of the new valid ranks.
    expect = {int(r) for r, v in zip(ranks, valid) if v and int(r) not in set(np.asarray(prior).tolist())}
    assert int(small[4]) == len(expect)


def test_reference_selection_quirks():
    sel = jax.jit(selection.select_reference, static_argnums=3)
    x = jnp.array([[0.0], [0.1], [5.0], [0.2], [9.0], [0.3], [0.4], [0.5], [0.6], [0.7]])
    f = jnp.array([10.0, 10.0, 1.0, 8.0, 0.5, 7.0, 6.0, 5.0, 4.0, 3.0])
    for k in range(5):
        idx = np.asarray(sel(jax.random.key(k), x, f, 5, 0.4, 0.2)).tolist()
        assert idx[:3] == [0, 3, 2]  # elites skip the tie; diverse = most distant fit one
        assert len(set(idx)) == 5
    # Too few distinct values: elites padded from the top of the order (a repeat).
    same = jnp.full(10, 3.0)
    assert np.asarray(sel(jax.random.key(0), x, same, 5, 0.4, 0.0)).tolist()[:2] == [0, 0]
    # Diverse picks do not exclude elites: the best individual is also the most distant one.
    f2 = f.at[4].set(20.0)
    assert np.asarray(sel(jax.random.key(0), x, f2, 5, 0.2, 0.2)).tolist()[:2] == [4, 4]
    # Roulette: a taken index's mass flows to the next free index in pool order.
    z = jnp.zeros((4, 1))
    f3 = jnp.array([1.0, 0.0, 0.0, 0.0])  # p = [1, .1, .1, .1] / 1.3; index 0 is the elite
    idx = jax.vmap(lambda k: sel(k, z, f3, 2, 0.5, 0.0))(jax.random.split(jax.random.key(0), 4000))
    assert (np.asarray(idx)[:, 0] == 0).all()
    assert float(np.mean(np.asarray(idx)[:, 1] == 1)) == pytest.approx(1.1 / 1.3, abs=0.02)


@pytest.mark.parametrize("faithful", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_encode_is_the_inverse_of_decode_and_warm_start_proposes_the_given_cells(faithful):
    from jaxnag import ednag, spaces
    s = spaces.get("nb201")
    cfg = ednag.Config(population=12, faithful=faithful)
    ops = jnp.asarray(s.all_ops()[np.random.default_rng(0).choice(s.size, 50, replace=False)])
    # jitted: op by op, every operation would compile on its own
    got, valid = jax.jit(lambda o: ednag.decode(ednag.encode(o, s, cfg), s, cfg))(ops)
    assert (np.asarray(got) == np.asarray(ops)).all() and bool(valid.all())
    state = jax.jit(lambda k, o: ednag.warm_start(k, s, cfg, o, noise=0.0))(jax.random.key(0), ops[:5])
    proposed, _ = jax.jit(lambda k, st: ednag.ask(k, st, s, cfg))(jax.random.key(1), state)
    assert (np.asarray(proposed[:5]) == np.asarray(ops[:5])).all()
    with pytest.raises(errors.ConfigError, match="at most population"):
        ednag.warm_start(jax.random.key(0), s, cfg, ops[:13])
