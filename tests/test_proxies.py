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
    fit = jax.jit(proxies.fitness(space, name, classes=classes, resolution=resolution))
    want = -np.asarray(ref(ops))
    np.testing.assert_allclose(np.asarray(fit(ops)), want, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(fit(ops.reshape(8, 8, 6))), want.reshape(8, 8), rtol=1e-5)
    t = proxies.table(space, name, classes=classes, resolution=resolution)
    assert t.goal == "max" and t.info.benchmark == "proxy"
    np.testing.assert_allclose(np.asarray(t(ops)), want, rtol=1e-5)


def test_bad_proxy_requests():
    with pytest.raises(errors.UnknownName, match="synflw"):
        proxies.fitness(spaces.get("nb201"), "synflw")
    with pytest.raises(errors.ConfigError, match="nasbench_graph"):
        proxies.fitness(spaces.get("nasbench_graph"), "params")
    with pytest.raises(errors.InvalidArchitecture):
        proxies.fitness(spaces.get("nb201"), "params")(np.zeros((3, 5), np.int32))
