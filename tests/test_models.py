"""The NB201 network in NNX: its parameter and FLOP counts against the benchmark table, its forward pass."""

import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxnag import errors, spaces
from jaxnag.models import nb201

DATASETS = (("cifar10", 10, 32), ("cifar100", 100, 32), ("imagenet16", 120, 16))


@pytest.fixture(scope="module")
def table(data_dir):
    return np.load(data_dir / "nb201.npz")


@pytest.mark.parametrize("dataset, classes, resolution", DATASETS)
def test_counts_equal_the_table_for_every_cell(table, dataset, classes, resolution):
    ops = table["ops"]
    assert ops.shape == (15_625, 6)
    np.testing.assert_allclose(nb201.param_count(ops, classes=classes) / 1e6, table[f"params_mb_{dataset}"],
                               rtol=1e-6, atol=0)
    np.testing.assert_allclose(nb201.flops(ops, classes=classes, resolution=resolution) / 1e6,
                               table[f"flops_m_{dataset}"], rtol=1e-6, atol=0)


@pytest.mark.parametrize("dataset, classes, resolution", DATASETS)
def test_naslib_flops_equal_naslibs_for_every_listed_cell(table, data_dir, dataset, classes, resolution):
    """NASLib's ``flops`` of its NB201 sets (about 725 cells per dataset; tensorwatch's counter, float32 millions)
    are our ``convention="naslib"`` counts, numpy and jitted."""
    z = np.load(data_dir / "naslib_zc_subsets.npz")
    name = "ImageNet16-120" if dataset == "imagenet16" else dataset
    ops = table["ops"][z[f"nb201/{name}/nb201_index"]]
    count = lambda o: nb201.flops(o, classes=classes, resolution=resolution, convention="naslib")  # noqa: E731
    np.testing.assert_allclose(count(ops) / 1e6, z[f"nb201/{name}/flops"], rtol=2e-7)
    np.testing.assert_allclose(np.asarray(jax.jit(count)(jnp.asarray(ops))), count(ops), rtol=1e-6)


def _built(ops, classes, **size):
    return nb201.count(nnx.eval_shape(lambda: nb201.Network(ops, classes=classes, rngs=nnx.Rngs(0), **size)))


@pytest.mark.slow  # about 5 s on 2 cores
def test_the_module_has_the_counted_parameters_for_every_conv_mix():
    """A cell's parameters depend only on its numbers of 1x1 and 3x3 convs: one cell of each of the 28 mixes,
    the other edges a rotating choice of none / skip / pool."""
    rng = np.random.default_rng(0)
    for n1, n3 in itertools.product(range(7), range(7)):
        if n1 + n3 > 6:
            continue
        ops = np.asarray([nb201.CONV1] * n1 + [nb201.CONV3] * n3
                         + list(rng.choice([nb201.NONE, nb201.SKIP, nb201.POOL], 6 - n1 - n3)))
        ops = rng.permutation(ops)
        size = dict(channels=4, cells=1)  # the counts' dependence on C and N: the table test above
        assert _built(ops, 10, **size) == nb201.param_count(ops, classes=10, **size), ops


@pytest.mark.slow  # 28 networks of the benchmark's size: about a minute on 2 cores
def test_the_module_has_the_table_parameters_for_every_conv_mix(table):
    """The benchmark-size module (C = 16, N = 5, CIFAR-100's head) against the table's own parameter counts: a
    random cell of each mix of 1x1 and 3x3 convs, the mixes that give every distinct count (test above)."""
    ops = table["ops"]
    mix = (ops == nb201.CONV1).sum(1) * 7 + (ops == nb201.CONV3).sum(1)
    rng = np.random.default_rng(1)
    idx = [rng.choice(np.flatnonzero(mix == m)) for m in np.unique(mix)]
    assert len(idx) == 28
    for i in idx:
        assert abs(_built(ops[i], 100) / 1e6 - table["params_mb_cifar100"][i]) < 1e-6, ops[i]


@pytest.mark.slow  # about 10 s on 2 cores: the default run keeps to its 5-minute budget
def test_forward_train_and_eval():
    space = spaces.get("nb201")
    arch = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
    net = nb201.Network(arch, channels=4, cells=1, classes=7, rngs=nnx.Rngs(0))
    assert net.ops == tuple(space.from_string(arch))
    x = jax.random.normal(jax.random.key(0), (4, 8, 8, 3))
    forward = nnx.jit(lambda m, images: m(images))
    y = forward(net, x)
    chex.assert_shape(y, (4, 7))
    chex.assert_tree_all_finite(y)
    # training mode normalises with the batch's statistics: changing two images changes the others' logits
    other = x.at[2:].set(0.0)
    assert not np.allclose(forward(net, other)[:2], y[:2])
    net.eval()  # running averages: every image on its own
    chex.assert_trees_all_close(forward(net, other)[:2], forward(net, x)[:2], atol=1e-6)
    # an all-none cell has no parameters of its own
    empty = nnx.eval_shape(lambda: nb201.Network([0] * 6, channels=4, cells=1, classes=3, rngs=nnx.Rngs(0)))
    assert nb201.count(empty) == nb201.param_count([0] * 6, channels=4, cells=1, classes=3)


@pytest.mark.parametrize("bad", [[0, 1, 2], [0, 1, 2, 3, 4, 5], "|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                                 [0.5] * 6])
def test_bad_cells_are_refused(bad):
    with pytest.raises(errors.InvalidArchitecture):
        nb201.Network(bad, rngs=nnx.Rngs(0))


@pytest.mark.slow  # 6-13 s on 2 cores: the default run keeps to its 5-minute budget
def test_bad_images_are_refused():
    net = nb201.Network([1] * 6, channels=4, cells=1, rngs=nnx.Rngs(0))
    with pytest.raises(errors.ConfigError, match="images"):
        net(jnp.ones((32, 32, 3)))


@pytest.mark.slow  # about 15 s: the default run keeps to its 5-minute budget
def test_mixed_network_is_the_concrete_network_and_runs_a_population():
    size = dict(channels=4, cells=1, classes=5)
    x = jax.random.normal(jax.random.key(1), (3, 8, 8, 3))
    graphdef, states = nb201.init_population(jax.random.key(0), 4, **size)
    pop = jnp.asarray([[3, 1, 2, 0, 4, 3], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1], [2, 3, 4, 2, 3, 4]])
    run = jax.jit(lambda s, o, images: nb201.apply_population(graphdef, s, o, images))
    y = run(states, pop, x)
    chex.assert_shape(y, (4, 3, 5))
    forward = nnx.jit(lambda m, images: m(images))
    for i in (3,):  # member i is the concrete network of its ops, with its own weights
        member = nnx.merge(graphdef, jax.tree.map(lambda leaf: leaf[i], states))
        net = member.concrete(np.asarray(pop[i]))
        assert nb201.count(net) == nb201.param_count(np.asarray(pop[i]), **size)
        chex.assert_trees_all_close(forward(net, x), y[i], atol=1e-5)
    assert not np.allclose(y[0], y[3])  # different ops and weights: different networks
    with pytest.raises(errors.ConfigError, match="mode"):
        nb201.apply_population(graphdef, states, pop, x, mode="loop")


@pytest.mark.slow
def test_population_by_lax_map_equals_vmap():
    size = dict(channels=4, cells=1, classes=5)
    x = jax.random.normal(jax.random.key(1), (3, 8, 8, 3))
    graphdef, states = nb201.init_population(jax.random.key(0), 5, **size)
    pop = jax.random.randint(jax.random.key(2), (5, 6), 0, 5)
    got = {mode: jax.jit(lambda s, o, images, mode=mode: nb201.apply_population(graphdef, s, o, images, mode=mode))(
        states, pop, x) for mode in ("vmap", "map")}
    chex.assert_trees_all_close(got["map"], got["vmap"], atol=1e-5)
    # under an outer vmap (two populations), `map` still runs each member alone: a switch per edge (`case`), same
    # logits
    outer = jax.jit(jax.vmap(lambda o: nb201.apply_population(graphdef, states, o, x, mode="map")))
    two = jnp.stack([pop[::-1], pop])
    assert outer.lower(two).as_text().count("stablehlo.case") >= 3 * 6
    chex.assert_trees_all_close(outer(two)[1], got["map"], atol=1e-5)


# ----------------------------------------------------------------------------- TransNAS-Bench-101 micro
from jaxnag.models import tnb101  # noqa: E402

TNB_HEADS = (("class_object", 100), ("class_scene", 63), ("room_layout", 9))


@pytest.mark.parametrize("task, classes", TNB_HEADS)
def test_tnb101_counts_equal_naslib_for_every_listed_cell(data_dir, task, classes):
    """NASLib's ``params`` and ``flops`` of its TransNAS-Bench-101 micro sets (711 cells per task, stored as
    float32 millions) are our counts (FLOPs as NASLib counts them: batch norm, ReLU, pooling too); multiply-adds
    alone are 0.2-3% lower."""
    z = np.load(data_dir / "naslib_zc_subsets.npz")
    ops = z[f"tnb101_micro/{task}/arch"]
    assert ops.shape == (711, 6)
    np.testing.assert_allclose(tnb101.param_count(ops, classes=classes) / 1e6, z[f"tnb101_micro/{task}/params"],
                               rtol=2e-7, atol=2e-6)
    naslib = tnb101.flops(ops, classes=classes, convention="naslib")
    np.testing.assert_allclose(naslib / 1e6, z[f"tnb101_micro/{task}/flops"], rtol=2e-7)
    np.testing.assert_allclose(np.asarray(tnb101.flops(jnp.asarray(ops), classes=classes, convention="naslib")),
                               naslib, rtol=1e-6)
    ratio = naslib / tnb101.flops(ops, classes=classes)
    assert ((ratio > 1.0) & (ratio < 1.03)).all()
    assert tnb101.param_count(jnp.asarray(ops), classes=classes).dtype == jnp.float32  # jittable form


def test_tnb101_module_has_the_counted_parameters():
    rng = np.random.default_rng(0)
    cells = [rng.integers(0, 4, 6) for _ in range(3)] + [np.ones(6, int)]
    for ops in cells:
        for size in (dict(channels=4, cells=1, classes=5), dict(channels=6, cells=3, classes=7, in_channels=1)):
            built = tnb101.count(nnx.eval_shape(lambda ops=ops, size=size: tnb101.Network(ops, rngs=nnx.Rngs(0),
                                                                                          **size)))
            assert built == tnb101.param_count(ops, **size), (ops, size)
    full = nnx.eval_shape(lambda: tnb101.Network("64-41414-1_02_333", rngs=nnx.Rngs(0)))
    assert tnb101.count(full) == tnb101.param_count([1, 0, 2, 3, 3, 3])


@pytest.mark.slow  # about 10 s of compilation; the counts above and the proxies' test run by default
def test_tnb101_mixed_network_is_the_concrete_network():
    """The switch, the masked form and the concrete network agree, shapes shrink by 32 (stem 4, three
    reductions), and bad cells and images are refused."""
    size = dict(channels=4, cells=1, classes=5)
    net = tnb101.MixedNetwork(**size, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (2, 32, 32, 3))
    cells = np.array([[3, 0, 1, 1, 2, 3], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]])
    graphdef, state = nnx.split(net)

    def run(o, images):
        return jax.lax.map(lambda c: tnb101.merge(graphdef, state)(images, c), o)
    switched = jax.jit(run)(cells, x)
    with tnb101.masked():
        masked = jax.jit(run)(cells, x)
    chex.assert_shape(switched, (3, 2, 5))
    chex.assert_trees_all_close(masked, switched, atol=1e-5)
    forward = nnx.jit(lambda m, images: m(images))
    for i in (0, 2):
        concrete = net.concrete(cells[i])
        assert tnb101.count(concrete) == tnb101.param_count(cells[i], **size)
        chex.assert_trees_all_close(forward(concrete, x), switched[i], atol=1e-5)
    chex.assert_shape(concrete.feature_map(x), (2, 1, 1, 32))  # 8C channels
    assert not np.allclose(switched[0], switched[1])
    for bad in ([0, 1, 2, 3, 4, 0], "64-41414-3_01_12", [1, 2, 3]):
        with pytest.raises(errors.InvalidArchitecture):
            tnb101.Network(bad, **size, rngs=nnx.Rngs(0))
    with pytest.raises(errors.ConfigError, match="even"):
        tnb101.Network([1] * 6, channels=5, rngs=nnx.Rngs(0))


_SLOW = pytest.mark.slow


@pytest.mark.parametrize("k, stride, padding, size", [(3, 2, ((1, 1), (1, 1)), 9),
                                                      pytest.param(3, 1, "SAME", 9, marks=_SLOW),
                                                      pytest.param(1, 1, "VALID", 9, marks=_SLOW),
                                                      pytest.param(1, 2, ((0, 0), (0, 0)), 9, marks=_SLOW),
                                                      (3, 1, "SAME", 2), pytest.param(3, 2, ((1, 1), (1, 1)), 4,
                                                                                      marks=_SLOW)])
def test_conv_gradients_equal_lax_inside_a_switch_too(k, stride, padding, size):
    """``layers.conv`` (the networks' convolution, whose gradients are written as forward-layout convolutions
    so that XLA runs them fast inside ``switch`` branches; a map smaller than the kernel as a product of
    patches) has ``lax.conv_general_dilated``'s value and both gradients and its Hessian-vector products, in
    plain code and inside a ``switch``; forward mode needs ``layers.forward_mode``."""
    from jaxnag.models import layers
    x = jax.random.normal(jax.random.key(0), (2, size, size, 3))
    w = jax.random.normal(jax.random.key(1), (k, k, 3, 4))
    pads = (jax.lax.padtype_to_pads((size, size), (k, k), (stride, stride), padding) if isinstance(padding, str)
            else padding)

    def ref(x, w):
        return jax.lax.conv_general_dilated(x, w, (stride, stride), pads, dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def mine(x, w):
        return layers.conv(x, w, (stride, stride), padding)

    def loss(f, i):
        return lambda x, w: jnp.sum(jnp.sin(jax.lax.switch(i, [lambda: 0.0 * f(x, w), lambda: f(x, w)])))
    np.testing.assert_allclose(mine(x, w), ref(x, w), rtol=1e-5, atol=1e-5)
    for i in (0, 1):
        for a, b in zip(jax.grad(loss(mine, i), (0, 1))(x, w), jax.grad(loss(ref, i), (0, 1))(x, w), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    # second order (grasp's Hessian-vector product, reverse over reverse) as lax's, in the switch too
    v = jax.random.normal(jax.random.key(2), w.shape)

    def hvp(f):
        return jax.grad(lambda w: jnp.vdot(jax.grad(loss(f, 1), 1)(x, w), v))(w)
    np.testing.assert_allclose(hvp(mine), hvp(ref), rtol=1e-3, atol=1e-3)
    out = (size + sum(pads[0]) - k) // stride + 1
    if min(size, out) >= k:  # (a product of patches, for a map smaller than the kernel, is JAX's own: jvp too)
        with pytest.raises(TypeError, match="forward-mode"):
            jax.jvp(lambda w: mine(x, w), (w,), (w,))
    with layers.forward_mode():
        np.testing.assert_allclose(jax.jvp(lambda w: mine(x, w), (w,), (w,))[1], ref(x, w), rtol=1e-5, atol=1e-5)


def test_conv_derivatives_of_any_order_compile_to_the_forward_layout_inside_loops_and_switches():
    """Every convolution of a second derivative (grasp's Hessian-vector product) of ``layers.conv``, stride 1 and
    2, under ``lax.map`` and inside a ``switch`` (how a population's proxies run), compiles in the forward's
    layout (NHWC images, HWIO kernels): XLA's CPU backend leaves the swapped layouts and reversed windows that
    JAX's own transposes and its operand swap produce as they are in loops and branches, and runs them 3-30x
    slower. (The previous form, with its second derivatives through ``lax``, left 24 of 448 swapped in one NB201
    cell's grasp program; a map smaller than its kernel, TransNAS micro's last stage, had its operands swapped
    by XLA even in the forward pass.)"""
    import re

    from jaxnag.models import layers
    x, w = jnp.ones((4, 8, 8, 8)), jnp.ones((3, 3, 8, 8))

    def loss(w, x, i):
        h = x
        for stride in (1, 2, 2, 1):  # 8x8, 4x4, 2x2 (smaller than the kernel: a product of patches), 2x2
            h = jax.lax.switch(i, [lambda h, w, s=stride: layers.conv(jax.nn.relu(h), w, (s, s), ((1, 1), (1, 1))),
                                   lambda h, w, s=stride: 2.0 * h[:, ::s, ::s]], h, w)
        return jnp.sum(jnp.tanh(h))

    def hvp(w, i):
        g = jax.lax.stop_gradient(jax.grad(loss)(w, x, i))
        return jax.grad(lambda v: jnp.vdot(jax.grad(loss)(v, x, i), g))(w)
    text = jax.jit(lambda ws, i: jax.lax.map(lambda a: hvp(*a), (ws, i))).lower(
        jnp.stack([w, w]), jnp.zeros(2, jnp.int32)).compile().as_text()
    labels = re.findall(r"convolution\(.*?dim_labels=([^,\s]+)", text)
    assert len(labels) >= 10
    assert set(labels) == {"b01f_01io->b01f"}, sorted(set(labels))
    assert "rhs_reversal" not in text


def test_initialisation_draws_what_flax_draws_eagerly_jitted_and_vmapped():
    """layers.variance_scaling (through jaxnag.rng, on the host for a concrete key) equals flax's value for value."""
    from jaxnag.models import layers
    key, keys = jax.random.key(5), jax.random.split(jax.random.key(6), 3)
    for mode, distribution in (("fan_in", "uniform"), ("fan_out", "normal"), ("fan_avg", "uniform")):
        ours, theirs = layers.variance_scaling(0.7, mode, distribution), nnx.initializers.variance_scaling(
            0.7, mode, distribution)
        np.testing.assert_array_equal(np.asarray(ours(key, (3, 3, 4, 8))), np.asarray(theirs(key, (3, 3, 4, 8))))
    # Traced keys (a population's networks built under vmap): the jax path, the same values.
    np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(lambda k: ours(k, (3, 2, 5))))(keys)),
                                  np.asarray(jax.jit(jax.vmap(lambda k: theirs(k, (3, 2, 5))))(keys)))
    bound = 1 / np.sqrt(7)  # a linear layer as PyTorch's, drawn as flax and jax.random draw it
    flax_linear = nnx.Linear(7, 3, kernel_init=nnx.initializers.variance_scaling(1 / 3, "fan_in", "uniform"),
                             bias_init=lambda k, s, d: jax.random.uniform(k, s, d, -bound, bound), rngs=nnx.Rngs(2))
    lin = layers.linear(7, 3, nnx.Rngs(2))
    for a, b in ((lin.kernel, flax_linear.kernel), (lin.bias, flax_linear.bias)):
        np.testing.assert_array_equal(np.asarray(a[...]), np.asarray(b[...]))
    with pytest.raises(errors.ConfigError, match="fan_in, fan_out or fan_avg"):
        layers.variance_scaling(1.0, "fan_sum", "uniform")
