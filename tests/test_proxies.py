"""Zero-cost proxies as fitness (so far the data-free params and flops)."""

import jax
import numpy as np
import pytest

from jaxnag import errors, proxies, spaces, tables


@pytest.mark.parametrize("name, column, classes, resolution", [
    ("params", "params_mb", 100, 32), ("flops", "flops_m", 120, 16)])
def test_fitness_and_table_equal_the_benchmark_columns(data_dir, name, column, classes, resolution):
    space = spaces.get("nb201")
    dataset = {100: "cifar100", 120: "imagenet16"}[classes]
    ref = tables.load("nb201", dataset, data_dir=data_dir, metric=column)  # a cost: fitness = -metric
    ops = np.asarray(space.all_ops())[np.random.default_rng(0).choice(space.size, 64, replace=False)]
    fit = jax.jit(proxies.fitness("nb201", name, classes=classes, resolution=resolution))  # a space or its name
    connected = np.asarray(space.connected(ops))
    assert 0 < (~connected).sum() < 64  # the draw holds both kinds
    want = np.where(connected, -np.asarray(ref(ops)), -np.inf)  # a disconnected cell is no network: -inf
    np.testing.assert_allclose(np.asarray(fit(ops)), want, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(fit(ops.reshape(8, 8, 6))), want.reshape(8, 8), rtol=1e-5)
    t = proxies.table(space, name, classes=classes, resolution=resolution)
    assert t.goal == "max" and t.info.benchmark == "proxy"
    np.testing.assert_allclose(np.asarray(t(ops)), np.where(connected, want, np.nan), rtol=1e-5)  # NaN in a table


def test_bad_proxy_requests():
    with pytest.raises(errors.UnknownName, match="synflw"):
        proxies.fitness(spaces.get("nb201"), "synflw")
    with pytest.raises(errors.ConfigError, match="nasbench_graph"):
        proxies.fitness(spaces.get("nasbench_graph"), "params")
    with pytest.raises(errors.InvalidArchitecture):
        proxies.fitness(spaces.get("nb201"), "params")(np.zeros((3, 5), np.int32))


# ----------------------------------------------------------------------------- network proxies
import chex  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402

from jaxnag.models import nb201  # noqa: E402

TINY = dict(channels=2, cells=1, classes=3)
CELLS = np.array([[3, 1, 3, 0, 2, 4], [3, 3, 3, 3, 3, 3], [0, 0, 0, 0, 0, 0], [2, 0, 0, 4, 1, 0]])


def _batch(n=4, side=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return proxies.batch(rng.normal(size=(n, side, side, 3)), rng.integers(0, classes, n), classes=classes)


@pytest.mark.slow  # about 10 s on 2 cores: the default run keeps to its 5-minute budget
def test_synflow_log_domain_equals_the_direct_sum():
    """synflow's log-domain computation equals log sum |theta * dR/dtheta| computed directly (a network
    small enough not to overflow), NASLib's definition: |weights|, batch norm off, one all-ones input."""
    space = spaces.get("nb201")
    fit = jax.jit(proxies.fitness(space, "synflow", channels=2, cells=1, classes=3, resolution=8))
    ours = np.asarray(fit(CELLS))
    graphdef, state = nnx.split(nb201.MixedNetwork(**TINY, rngs=nnx.Rngs(jax.random.key(0))))
    net = nnx.merge(graphdef, jax.tree.map(jnp.abs, state))
    for _, m in nnx.iter_modules(net):
        if isinstance(m, nnx.BatchNorm):
            m.mean[...] = jnp.zeros_like(m.mean[...])
            m.var[...] = jnp.full_like(m.var[...], 1.0 - m.epsilon)
            m.scale[...], m.bias[...] = jnp.ones_like(m.scale[...]), jnp.zeros_like(m.bias[...])
    net.eval()
    g, kernels, rest = nnx.split(net, nnx.All(nnx.Param, nnx.PathContains("kernel")), ...)

    @jax.jit
    def direct(cell):
        grads = jax.grad(lambda k: jnp.sum(nb201.merge(g, k, rest)(jnp.ones((1, 8, 8, 3)), cell)))(kernels)
        return sum(jnp.sum(jnp.abs(w * d)) for w, d in zip(jax.tree.leaves(kernels), jax.tree.leaves(grads)))
    for cell, got in zip(CELLS, ours):
        total = float(direct(jnp.asarray(cell)))
        if total == 0:
            assert got == -np.inf  # no path from input to output
        else:
            np.testing.assert_allclose(got, np.log(total), rtol=1e-4)


@pytest.mark.slow  # >= 6 s on 2 cores
def test_population_scores_are_a_fixed_function_of_the_cell_and_compile_once():
    space = spaces.get("nb201")
    fit = chex.assert_max_traces(proxies.fitness(space, "synflow", channels=2, cells=1, resolution=8), n=1)
    jfit = jax.jit(fit)
    a = np.asarray(jfit(CELLS))
    b = np.asarray(jfit(CELLS[::-1]))[::-1]  # same cells, other positions and neighbours
    np.testing.assert_array_equal(a, b)
    assert a[2] == -np.inf and np.isfinite(a[[0, 1, 3]]).all()
    assert a[1] > a[0]  # the all-3x3 cell carries the most synaptic flow


def test_a_member_runs_only_its_ops_also_under_a_vmap_over_seeds():
    """Each member's network runs only its chosen op per edge (a switch, ``case`` in the lowered program), alone
    and under a generator's vmap over seeds; a batched member would run every op and select (no ``case``). The
    vmapped scores are the plain ones."""
    space = spaces.get("nb201")
    fit = proxies.fitness(space, "nwot", _batch(), **TINY)
    two = CELLS.reshape(2, 2, 6)
    for program in (jax.jit(fit).lower(CELLS), jax.jit(jax.vmap(fit)).lower(two)):
        assert program.as_text().count("stablehlo.case") >= 3 * 6  # one per edge of the 3 mixed cells at least
    cheap = proxies.fitness(space, "l2_norm", **TINY)
    np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(cheap))(two)).ravel(), np.asarray(jax.jit(cheap)(CELLS)))


def test_ensemble_is_a_percentile_mean():
    space = spaces.get("nb201")
    one = jax.jit(proxies.ensemble(space, ["params"], reference=50, channels=2, cells=1))
    two = jax.jit(proxies.ensemble(space, ["params", "flops"], reference=50, channels=2, cells=1))
    v1, v2 = np.asarray(one(CELLS)), np.asarray(two(CELLS))
    assert ((v1 >= 0) & (v1 <= 100)).all() and v1[1] == 100.0  # the largest network tops the reference set
    np.testing.assert_allclose(v1, v2, atol=1e-4)  # params and flops rank NB201 cells identically
    with pytest.raises(errors.ConfigError):
        proxies.ensemble(space, [])


def test_bad_batches_and_missing_data():
    space = spaces.get("nb201")
    with pytest.raises(errors.ConfigError, match="reads data"):
        proxies.fitness(space, "snip")
    with pytest.raises(errors.DataError, match="NaN"):
        proxies.batch(np.full((4, 8, 8, 3), np.nan))
    with pytest.raises(errors.DataError, match=r"\[n, height, width, channels\]"):
        proxies.batch(np.zeros((4, 8, 8)))
    with pytest.raises(errors.DataError, match="0..2"):
        proxies.batch(np.zeros((4, 8, 8, 3)), np.array([0, 1, 2, 3]), classes=3)
    with pytest.raises(errors.DataError, match="needs|asked for"):
        proxies.batch(np.zeros((4, 8, 8, 3)), size=16)
    with pytest.raises(errors.DataError, match="4x4"):
        proxies.batch(np.zeros((4, 2, 2, 3)))


@pytest.mark.slow
def test_table_of_a_proxy_reads_back(tmp_path):
    space = spaces.get("nb201")
    t = proxies.table(space, "synflow", channels=2, cells=1, resolution=8, block=625)
    values = np.asarray(t.info.row_values)
    assert len(values) == space.size and np.isnan(values).sum() > 0  # the disconnected cells
    assert np.nanargmax(values) == list(map(tuple, np.asarray(t.info.row_ops))).index((3,) * 6)


@pytest.mark.slow  # about 12 s
def test_tnb101_proxies_score_the_micro_network():
    """On TransNAS-Bench-101 micro: l2_norm of the mixed network counts exactly the weights of the
    architecture's own network (the op weights of convs and factorized reductions), synflow is finite
    on connected cells, params are the exact counts; the all-none cell is -inf for every one of them
    (the module's disconnected-cell convention)."""
    from jaxnag.models import tnb101
    space = spaces.get("tnb101_micro")
    size = dict(channels=4, cells=1, classes=5)
    cells = np.array([[3, 0, 1, 1, 2, 3], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], [2, 2, 0, 0, 0, 3]])
    l2 = np.asarray(jax.jit(proxies.fitness(space, "l2_norm", **size))(cells))
    net = tnb101.MixedNetwork(**size, rngs=nnx.Rngs(jax.random.key(0)))
    connected = np.asarray(space.connected(cells))
    assert connected.tolist() == [True, True, False, True]
    for cell, got, ok in zip(cells, l2, connected):
        kernels = nnx.state(net.concrete(cell), nnx.All(nnx.Param, nnx.PathContains("kernel")))
        want = sum(float(jnp.linalg.norm(w)) for w in jax.tree.leaves(kernels)) if ok else -np.inf
        np.testing.assert_allclose(got, want, rtol=1e-5)
    syn = np.asarray(jax.jit(proxies.fitness(space, "synflow", **size))(cells))
    assert np.isfinite(syn[[0, 1, 3]]).all() and syn[2] == -np.inf
    params = np.asarray(proxies.fitness(space, "params", **size)(cells))
    np.testing.assert_allclose(params[connected] * 1e6, tnb101.param_count(cells, **size)[connected], rtol=1e-6)
    assert params[2] == -np.inf


def test_counts_follow_the_disconnected_convention():
    """The module's one convention, on the cheap proxies: a cell that cuts the input off is -inf."""
    space = spaces.get("nb201")
    cells = np.array([[3, 3, 3, 0, 0, 0], [0, 3, 3, 3, 0, 3], [0, 0, 0, 0, 0, 0]])
    assert np.asarray(space.connected(cells)).tolist() == [False, True, False]
    for name in proxies.COUNTS:
        got = np.asarray(proxies.fitness(space, name, **TINY)(cells))
        assert got[0] == got[2] == -np.inf and np.isfinite(got[1]), (name, got)


@pytest.mark.slow  # one compilation per proxy, two where masked mode is compared: minutes on 2 cores
@pytest.mark.parametrize("name", proxies.NAMES)  # one test per proxy, so the slow step's workers share them
@pytest.mark.parametrize("space_name", ["nb201", "tnb101_micro"])
def test_every_proxy_scores_a_disconnected_cell_minus_inf(space_name, name):
    """One convention for every proxy (module doc): -inf exactly where ``space.connected`` is False, a
    finite score elsewhere; NB201's [3, 3, 3, 0, 0, 0] (a dead end before the output) included. The measures
    that read every op's values score the same with every op computed and masked (``models.layers.masked``)
    as with the switch over ops."""
    from jaxnag import models
    space = spaces.get(space_name)
    cells = np.array([[3, 3, 3, 0, 0, 0], [0, 3, 3, 3, 0, 3], [2, 1, 0, 3, 1, 0], [0, 0, 0, 0, 0, 0]])
    if space_name == "nb201":
        cells = np.concatenate([cells, CELLS[[0, 1, 3]]])
    size = TINY if space_name == "nb201" else dict(channels=4, cells=1, classes=3)
    data = _batch(side=8 if space_name == "nb201" else 32)  # the micro network divides the resolution by 32
    connected = np.asarray(space.connected(cells))
    assert 0 < connected.sum() < len(cells)
    compared = ("nwot", "snip", "fisher") + (("grad_norm", "grasp") if space_name == "nb201" else ())
    got = np.asarray(jax.jit(proxies.fitness(space, name, data, **size))(cells))
    assert (got[~connected] == -np.inf).all() and np.isfinite(got[connected]).all(), got
    if name in compared:
        with models.layers.masked():
            masked = np.asarray(jax.jit(proxies.fitness(space, name, data, **size))(cells))
        np.testing.assert_allclose(masked, got, rtol=2e-3, atol=1e-6)
