"""The seeds' graph spaces: NAS-Bench-101 (adjacency + node ops) and DARTS (two cells of two inputs per node),
their networks' parameter counts against NASLib's, and generators through the protocol on them."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxnag import pgnag, protocol, registry, spaces
from jaxnag.errors import InvalidArchitecture, UnknownName
from jaxnag.models import darts as darts_net
from jaxnag.models import nb101 as nb101_net
from jaxnag.models.layers import count
from jaxnag.spaces import darts, nb101

NB101, DARTS = spaces.get("nb101"), spaces.get("darts")
CONV3 = ["input"] + ["conv3x3-bn-relu"] * 5 + ["output"]


def _chain(v=7):
    return np.eye(v, k=1, dtype=int)


@pytest.mark.parametrize("matrix, ops, message", [
    (_chain() + np.eye(7, k=-1, dtype=int), CONV3, "goes backwards"),  # a cycle
    (np.triu(np.ones((7, 7), int), 1), CONV3, "edges after pruning"),  # 21 edges
    (_chain() * (np.arange(7)[:, None] != 3), CONV3, "not reachable"),  # node 3 -> 4 cut: output disconnected
    (_chain(), CONV3[:3] + ["conv5x5"] + CONV3[4:], "unknown op 'conv5x5'"),
    (_chain(), CONV3[:6], "7 nodes need 7 ops"),
    (np.ones((7, 6)), CONV3, "square matrix"),
])
def test_nb101_rejects_a_bad_cell_with_one_clear_line(matrix, ops, message):
    with pytest.raises(InvalidArchitecture, match=message) as e:
        nb101.from_spec(matrix, ops)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("pairs, message", [
    ([("sep_conv_3x3", 0), ("sep_conv_3x3", 3)] + [("skip_connect", 0), ("skip_connect", 1)] * 3, "takes input 3"),
    ([("conv_7x7", 0), ("sep_conv_3x3", 1)] + [("skip_connect", 0), ("skip_connect", 1)] * 3, "unknown op 'conv_7x7'"),
    ([("sep_conv_3x3", 1), ("sep_conv_3x3", 1)] + [("skip_connect", 0), ("skip_connect", 1)] * 3, "input 1 twice"),
    ([("sep_conv_3x3", 0)] * 3, "8 (op, input) pairs"),
])
def test_darts_rejects_a_bad_genotype_with_one_clear_line(pairs, message):
    good = darts.genotype(DARTS.from_string(darts.DARTS_V2))["reduce"]
    arch = f"Genotype(normal={pairs!r}, normal_concat=[2, 3, 4, 5], reduce={good!r}, reduce_concat=[2, 3, 4, 5])"
    with pytest.raises(InvalidArchitecture, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        DARTS.from_string(arch)
    assert "\n" not in str(e.value)


def test_nb101_jittable_validity_is_nb101s_rule():
    """``is_valid`` (jittable) agrees with pruning on the host: output reachable, at most 9 edges after pruning."""
    rng = np.random.default_rng(0)
    rows = np.concatenate([rng.integers(0, 2, (400, 21)) * (rng.random((400, 21)) < rng.random((400, 1))),
                           rng.integers(0, 3, (400, 5))], axis=1).astype(np.int32)
    got = np.asarray(jax.jit(NB101.is_valid)(rows))
    want = []
    for row in rows:
        matrix, _ = nb101.prune(nb101._matrix(row), list(range(7)))
        want.append(matrix is not None and int(matrix.sum()) <= nb101.MAX_EDGES)
    assert 50 < got.sum() < 350 and (got == np.asarray(want)).all()
    drawn = NB101.random(jax.random.key(0), (64,))
    assert bool(NB101.is_valid(drawn).all())


def test_nb101_hash_is_invariant_to_isomorphism_and_pruning():
    m = np.zeros((7, 7), int)
    m[0, 1] = m[0, 2] = m[1, 3] = m[2, 3] = m[3, 6] = m[4, 5] = 1  # nodes 4, 5 dangle
    ops = ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "maxpool3x3", "maxpool3x3", "output"]
    swapped = ["input", "maxpool3x3", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "maxpool3x3", "output"]
    a, b = nb101.from_spec(m, ops), nb101.from_spec(m, swapped)
    assert not (a == b).all() and nb101.spec_hash(a) == nb101.spec_hash(b)
    assert nb101.spec_hash(a) == nb101.spec_hash(nb101.canonical(a))
    other = ops[:3] + ["conv3x3-bn-relu"] + ops[4:]
    assert nb101.spec_hash(nb101.from_spec(m, other)) != nb101.spec_hash(a)
    assert NB101.from_string(NB101.to_string(a)).tolist() == a.tolist()


def test_nb101_counts_equal_naslib_for_all_500_cells(data_dir):
    """NASLib's ``params`` of its 500 NB101 cells (unpruned 7x7 matrices, float32 millions) are our counts."""
    z = np.load(data_dir / "naslib_zc_subsets.npz")
    arch = z["nb101/cifar10/arch"]
    ours = np.array([nb101_net.param_count(nb101.from_spec(r[:49].reshape(7, 7), r[49:])) for r in arch]) / 1e6
    np.testing.assert_allclose(ours, z["nb101/cifar10/params"], rtol=2e-7)


def test_nb101_network_has_the_counted_parameters():
    cells = np.asarray(NB101.random(jax.random.key(2), (3,)))
    for ops, size in zip(cells, (dict(channels=4, stacks=2, cells=1), dict(channels=6, stacks=3, cells=1, classes=3,
                                                                          in_channels=1))):
        net = nnx.eval_shape(lambda ops=ops, size=size: nb101_net.Network(ops, rngs=nnx.Rngs(0), **size))
        assert count(net) == nb101_net.param_count(ops, **size)


@pytest.mark.slow
def test_nb101_network_runs():
    rng = np.random.default_rng(1)
    net = nb101_net.Network(NB101.random(jax.random.key(2), ()), channels=4, stacks=2, cells=1, rngs=nnx.Rngs(0))
    out = nnx.jit(lambda m, x: m(x))(net, jnp.asarray(rng.normal(size=(2, 8, 8, 3)), jnp.float32))
    assert out.shape == (2, 10) and bool(jnp.isfinite(out).all())


def test_darts_decoding_and_sampling_give_valid_genotypes(data_dir):
    z = np.load(data_dir / "naslib_zc_subsets.npz")
    enc = np.stack([darts.from_genotype(g) for g in z["nb301/cifar10/genotype"]])
    assert bool(DARTS.is_valid(enc).all()) and len({e.tobytes() for e in enc}) == 500
    for e in enc[:20]:
        assert DARTS.from_string(DARTS.to_string(e)).tolist() == e.tolist()
    decode = jax.jit(lambda x: DARTS.from_one_hot(x))
    assert np.asarray(decode(DARTS.one_hot(jnp.asarray(enc)))).tolist() == enc.tolist()
    assert bool(DARTS.is_valid(decode(jax.random.normal(jax.random.key(0), (500, 28, 8)))).all())
    drawn = np.asarray(jax.jit(lambda k: DARTS.random(k, (4000,)))(jax.random.key(1)))
    assert bool(jax.jit(DARTS.is_valid)(drawn).all())
    node5 = drawn[:, 9:14] != darts.NONE  # node 5 of the normal cell: each of its 10 input pairs about 1/10
    pairs = np.unique(node5, axis=0, return_counts=True)[1]
    assert len(pairs) == 10 and pairs.min() > 330 and pairs.max() < 470


def test_darts_counts_darts_v2_as_darts_prints_it_and_naslibs_nb301(data_dir):
    """DARTS's train.py prints ``param size = 3.349342MB`` for DARTS-V2 (C=36, 20 cells, no auxiliary head);
    NASLib's NB301 ``params`` are the counts of :data:`~jaxnag.models.darts.NASLIB_NB301`."""
    assert darts_net.param_count(darts.DARTS_V2) == 3_349_342
    z = np.load(data_dir / "naslib_zc_subsets.npz")
    cells = z["nb301/cifar10/genotype"]
    ours = np.array([darts_net.param_count(darts.from_genotype(g), **darts_net.NASLIB_NB301) for g in cells]) / 1e6
    np.testing.assert_allclose(ours, z["nb301/cifar10/params"], rtol=2e-7)
    jitted = jax.jit(lambda o: darts_net.param_count(o, **darts_net.NASLIB_NB301))  # a population in one program
    got = np.asarray(jitted(jnp.asarray(np.stack([darts.from_genotype(g) for g in cells[:50]])))) / 1e6
    np.testing.assert_allclose(got, ours[:50], rtol=2e-7)


def test_darts_network_has_the_counted_parameters_and_runs(data_dir):
    z = np.load(data_dir / "naslib_zc_subsets.npz")
    cells = [darts.from_genotype(g) for g in z["nb301/cifar10/genotype"][:2]] + [DARTS.from_string(darts.DARTS_V2)]
    for ops, size in zip(cells, (dict(channels=4, layers=3, auxiliary=True), dict(channels=6, layers=3, affine=False),
                                 dict(channels=2, layers=4, classes=3, in_channels=1, auxiliary=True))):
        net = nnx.eval_shape(lambda ops=ops, size=size: darts_net.Network(ops, rngs=nnx.Rngs(0), **size))
        assert count(net) == darts_net.param_count(ops, **size)


def test_flops_equal_naslibs_for_all_500_cells_of_both_spaces(data_dir):
    """NASLib's ``flops`` (tensorwatch's counter: convolutions, batch norm, ReLU, pooling; float32 millions) of its
    500 NB101 cells and 500 NB301 genotypes are our ``convention="naslib"`` counts; the jitted DARTS count agrees."""
    z = np.load(data_dir / "naslib_zc_subsets.npz")
    arch = z["nb101/cifar10/arch"]
    ours = [nb101_net.flops(nb101.from_spec(r[:49].reshape(7, 7), r[49:]), convention="naslib") for r in arch]
    np.testing.assert_allclose(np.array(ours) / 1e6, z["nb101/cifar10/flops"], rtol=2e-7)
    cells = np.stack([darts.from_genotype(g) for g in z["nb301/cifar10/genotype"]])
    ours = np.array([darts_net.flops(c, convention="naslib", **darts_net.NASLIB_NB301) for c in cells]) / 1e6
    np.testing.assert_allclose(ours, z["nb301/cifar10/flops"], rtol=2e-7)
    jitted = jax.jit(lambda o: darts_net.flops(o, convention="naslib", **darts_net.NASLIB_NB301))
    np.testing.assert_allclose(np.asarray(jitted(jnp.asarray(cells[:50]))) / 1e6, ours[:50], rtol=1e-6)
    with pytest.raises(UnknownName, match="unknown FLOP convention 'mac'; available: macs, naslib"):
        darts_net.flops(cells[0], convention="mac")


def _macs(jaxpr) -> int:
    """Multiply-adds of the convolutions and matrix products in ``jaxpr`` and the jaxprs inside it."""
    total = 0
    for eqn in jaxpr.eqns:
        out = eqn.outvars[0].aval.shape
        if eqn.primitive.name == "conv_general_dilated":  # per output: the kernel's size over output channels
            rhs = eqn.invars[1].aval.shape
            total += int(np.prod(out)) * int(np.prod(rhs)) // rhs[eqn.params["dimension_numbers"].rhs_spec[0]]
        elif eqn.primitive.name == "dot_general":
            (contract, _), _ = eqn.params["dimension_numbers"]
            total += int(np.prod(out)) * int(np.prod([eqn.invars[0].aval.shape[d] for d in contract]))
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                if isinstance(sub, (jax.extend.core.ClosedJaxpr, jax.extend.core.Jaxpr)):
                    total += _macs(getattr(sub, "jaxpr", sub))
    return total


@pytest.mark.parametrize("space, size", [("nb101", dict(channels=4, stacks=3, cells=1, classes=3)),
                                         ("darts", dict(channels=4, layers=5, classes=3))])
def test_macs_are_what_the_networks_trace_to(space, size):
    """``flops(convention="macs")`` counts the multiply-adds the network's own jaxpr does (plus the classifier's
    bias), at a size and resolution other than the benchmark's: nothing is built or compiled."""
    model, found = (nb101_net, NB101) if space == "nb101" else (darts_net, DARTS)
    cell = np.asarray(found.random(jax.random.key(3), ()))
    graphdef, state = nnx.split(nnx.eval_shape(lambda: model.Network(cell, rngs=nnx.Rngs(0), **size)))
    x = jax.ShapeDtypeStruct((1, 12, 12, 3), jnp.float32)  # 12 -> 6 -> 3: both reductions, an odd last size
    traced = jax.make_jaxpr(lambda st, x: nnx.merge(graphdef, st)(x))(state, x).jaxpr
    assert _macs(traced) + size["classes"] == model.flops(cell, resolution=12, **size)


@pytest.mark.slow
def test_darts_mixed_network_is_the_genotypes_network_and_scores_a_population():
    """One compiled program over a population: the mixed network's logits and synflow equal the concrete networks'
    with the same weights; an invalid encoding scores -inf; params and FLOPs come from the jittable counts."""
    from jaxnag import proxies
    size = dict(channels=4, cells=3, resolution=8)
    ops = DARTS.random(jax.random.key(0), (3,)).at[2, 0].set(0)  # the last: node 2 with one input, invalid
    net = darts_net.MixedNetwork(channels=4, cells=3, rngs=nnx.Rngs(jax.random.key(0)))
    x = jax.random.normal(jax.random.key(1), (2, 8, 8, 3))
    np.testing.assert_allclose(np.asarray(net(x, ops[0])), np.asarray(net.concrete(ops[0])(x)), atol=1e-5)
    got = np.asarray(jax.jit(proxies.fitness(DARTS, "synflow", **size))(ops))
    want = [float(proxies.network("synflow", net.concrete(o), resolution=8)["synflow"]) for o in ops[:2]]
    np.testing.assert_allclose(got[:2], want, rtol=1e-5)
    assert got[2] == -np.inf
    params = np.asarray(proxies.fitness(DARTS, "params", channels=4, cells=3)(ops))
    assert params[0] == pytest.approx(darts_net.param_count(np.asarray(ops[0]), channels=4, layers=3, affine=False) / 1e6)
    flops = np.asarray(jax.jit(proxies.fitness(DARTS, "flops", channels=4, cells=3, resolution=16))(ops))
    assert flops[0] == pytest.approx(darts_net.flops(np.asarray(ops[0]), channels=4, layers=3, resolution=16) / 1e6)
    assert flops[2] == -np.inf


@pytest.mark.slow
def test_darts_network_runs_with_its_auxiliary_head():
    net = darts_net.Network(DARTS.from_string(darts.DARTS_V2), channels=4, layers=3, auxiliary=True,
                            rngs=nnx.Rngs(0))
    logits, aux = nnx.jit(lambda m, x: (m(x), m.auxiliary(x)))(net, jnp.ones((2, 32, 32, 3)))
    assert logits.shape == aux.shape == (2, 10) and bool(jnp.isfinite(logits).all() & jnp.isfinite(aux).all())


@pytest.mark.parametrize("name, space_name", [
    ("ednag", "darts"),
    pytest.param("rea", "nb101", marks=pytest.mark.slow),
    pytest.param("random", "darts", marks=pytest.mark.slow),
    pytest.param("ednag", "nb101", marks=pytest.mark.slow),
])
def test_generators_propose_only_valid_architectures_on_graph_spaces(name, space_name):
    """Through the protocol with a host fitness: every proposal is a valid cell, every query counted once."""
    space = spaces.get(space_name)
    gen = registry.get(name)
    cfg = gen.config(space, **gen.small)
    w = np.random.default_rng(0).normal(size=space.shape).astype(np.float32)
    asked = []

    def host(ops):
        asked.append(np.asarray(ops))
        return w[np.arange(space.num_slots), ops].sum(-1)
    res = protocol.run(gen, jax.random.key(0), host, space, cfg)
    rows = np.concatenate(asked).reshape(-1, space.num_slots)
    valid = np.asarray(space.is_valid(rows))  # invalid proposals reach the fitness; the generator discards them
    assert valid.mean() > 0.5 and bool(space.is_valid(res.best_ops))
    assert int(res.queries) == len({r.tobytes() for r in rows[valid]}) > 1
    assert float(res.best_fitness) == pytest.approx(float(w[np.arange(space.num_slots), rows[valid]].sum(-1).max()))


def _direct_synflow(net):
    """log(sum |theta| * d R / d |theta|) without synflow's per-layer normalisation (small networks only)."""
    from jaxnag.proxies import measures
    g, (kernels, rest) = measures._synflow_prepare(*nnx.split(net), jax.random.key(0))

    def r(k):
        m = nnx.merge(g, k, rest)
        return jnp.sum(jnp.mean(m.feature_map(jnp.ones((1, 16, 16, 3))), axis=(1, 2)) @ m.classifier.kernel[...])
    grads = jax.grad(r)(kernels)
    return jnp.log(sum(jnp.sum(w * d) for w, d in zip(jax.tree.leaves(kernels), jax.tree.leaves(grads))))


@pytest.mark.parametrize("make", [
    pytest.param(lambda: darts_net.Network(DARTS.from_string(darts.DARTS_V2), channels=2, layers=3, rngs=nnx.Rngs(1)),
                 marks=pytest.mark.slow),  # 12 s on 2 cores
    pytest.param(lambda: nb101_net.Network(nb101.from_spec(_chain(4), ["input", "conv3x3-bn-relu", "maxpool3x3",
                                                                       "output"]),
                                           channels=3, stacks=2, cells=1, rngs=nnx.Rngs(1)), marks=pytest.mark.slow),
], ids=["darts", "nb101"])
def test_synflow_of_a_concrete_network_is_the_unnormalised_value(make):
    """``proxies.network`` divides every layer's (DARTS: every cell's, both of the next cell's inputs) output by a
    constant to stay in float32; on a network small enough not to overflow it equals the direct computation."""
    from jaxnag import proxies
    from jaxnag.proxies.measures import network_program
    net = make()
    got = proxies.network("synflow", net, resolution=16, batch_size=2)["synflow"]
    np.testing.assert_allclose(float(got), float(_direct_synflow(net)), rtol=1e-5)
    compiled = network_program._cache_size()
    again = proxies.network("synflow", make(), resolution=16, batch_size=2)["synflow"]  # same structure: no compile
    assert network_program._cache_size() == compiled and float(again) == float(got)
    with pytest.raises(Exception, match="exact count"):
        proxies.network("params", net)


@pytest.mark.parametrize("space_name, sampler", [
    pytest.param("darts", "direct", marks=pytest.mark.slow),  # about 6 s of compilation
    pytest.param("nb101", "diffusion", marks=pytest.mark.slow),
])
def test_pgnag_generates_valid_cells_on_graph_spaces(space_name, sampler):
    """PG-NAG on a space too large to list: the budgeted prior's Shapley coalitions stay valid cells (an op is
    removed to skip_connect on DARTS), the samples are decoded or drawn valid, the queries are counted."""
    space = spaces.get(space_name)
    favoured = space.num_choices - 1  # DARTS: dil_conv_5x5 on every edge; NB101: maxpool on every node, few edges
    edges = jnp.asarray([c == ("none", "edge") for c in space.choices])

    def fitness(ops):
        count = lambda x: jnp.sum(x, axis=-1).astype(jnp.float32)  # noqa: E731
        return 10.0 + count(ops == favoured) - 0.25 * count(jnp.where(edges, ops, 0))  # > 0, an invalid cell
    cfg = pgnag.Config(k=5, prior_method="loo", prior_budget=40, samples=10, sampler=sampler,
                       train=pgnag.DenoiserTrainConfig(iterations=300))
    res = jax.jit(lambda k: pgnag.generate(k, fitness, space, cfg))(jax.random.key(0))
    samples = np.asarray(res.extras["samples"]).reshape(-1, space.num_slots)
    assert bool(space.is_valid(samples).all()) and float(res.extras["missing_share"]) == 0.0
    assert 40 < int(res.queries) <= 40 + 5 * (space.num_slots + 1) + 10
    prior = np.asarray(res.extras["prior"])
    ops_slots = space.choice_counts > favoured
    # it learned what scores, on NB101's node ops too (scored against maxpool3x3, its declared baseline)
    assert (prior[ops_slots, favoured] > 1.0 / space.choice_counts[ops_slots] + 0.05).mean() > 0.5
    with pytest.raises(Exception, match="coalitions per architecture .* use prior_method='mc'"):
        pgnag.generate(jax.random.key(0), fitness, space, cfg.replace(prior_method="exact"))


@pytest.mark.slow
def test_pgnag_under_a_query_budget_on_darts_counts_its_scoring_queries():
    """``--budget`` on a space too large for a bit set: the prior's scoring queries go into the budget's hash set,
    so the run stops at the budget with every distinct query counted once."""
    favoured = DARTS.choices[0].index("sep_conv_3x3")
    fitness = lambda ops: jnp.sum(ops == favoured, axis=-1).astype(jnp.float32)  # noqa: E731
    settings = {**registry.budget_form("pgnag", {}, set(), 150, DARTS), "budget": 150}
    gen = registry.compose("pgnag", settings)
    res = jax.jit(lambda k: gen.generate(k, fitness, DARTS, gen.config(DARTS, **settings)))(jax.random.key(0))
    assert int(res.queries) == 150 and float(res.best_fitness) >= 8  # random cells average 2 of 16 edges
    trace = np.asarray(res.best_trace)
    assert np.all(np.diff(trace[np.isfinite(trace)]) >= 0) and trace[-1] == float(res.best_fitness)


def test_naslib_subsets_load_as_encodings_and_fit_a_surrogate(data_dir, tmp_path):
    from jaxnag import predictors, tables
    from jaxnag.errors import DataError
    sub = tables.naslib_subset("nb301", data_dir)
    assert sub.space is DARTS and sub.ops.shape == (500, 28) and sub.metrics["val_accuracy"].shape == (500,)
    with pytest.raises(DataError, match="naslib_zc_subsets.npz not found"):
        tables.naslib_subset("nb101", tmp_path)
    with pytest.raises(DataError, match="holds 100 rows, 500 given"):
        predictors.fitted(predictors.get("gp", memory=100), DARTS, sub.ops, sub.metrics["val_accuracy"])
    fit = predictors.fitted(predictors.get("ridge"), DARTS, sub.ops, sub.metrics["val_accuracy"])
    pred = np.asarray(jax.jit(fit)(jnp.asarray(np.concatenate([sub.ops[:50], np.zeros((1, 28), np.int32)]))))
    assert np.isnan(pred[-1])  # no edges at all: not a genotype
    assert np.corrcoef(pred[:-1], sub.metrics["val_accuracy"][:50])[0, 1] > 0.9


@pytest.mark.slow
@pytest.mark.parametrize("space_name, arch", [
    ("darts", darts.DARTS_V2),
    ("nb101", "0110001|0001000|0001000|0000001|0000000|0000000|0000000"
              "|conv3x3-bn-relu|maxpool3x3|conv1x1-bn-relu|conv3x3-bn-relu|conv3x3-bn-relu"),
])
def test_train_and_load_a_graph_space_network(space_name, arch, tmp_path):
    from jaxnag import train
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(48, 16, 16, 3)).astype(np.float32), rng.integers(0, 3, 48)
    run = train.train(arch, (x, y), (x[:16], y[:16]), epochs=2, batch_size=16, channels=4, cells=3, space=space_name,
                      out=tmp_path / "run")
    assert len(run.history) == 2 and np.isfinite(run.history[-1]["train_loss"])
    again = train.load(tmp_path / "run")
    np.testing.assert_allclose(np.asarray(again(jnp.asarray(x[:4]))), np.asarray(run.network(jnp.asarray(x[:4]))),
                               rtol=1e-5, atol=1e-5)


def test_train_refuses_a_bad_graph_cell_before_anything_runs():
    from jaxnag import train
    with pytest.raises(InvalidArchitecture, match="takes input 3"):
        train.check_cell(darts.DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 9)").replace(
            "('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0)", "('sep_conv_3x3', 0), ('sep_conv_3x3', 3), "
            "('sep_conv_3x3', 0)", 1), space="darts")
    with pytest.raises(Exception, match="trains networks of nb201, nb101, darts"):
        train.check_cell([0] * 5, space="nasbench_graph")


def test_a_user_space_declares_its_own_sampler_and_decoding():
    """Two of four switches on (a rule rejection sampling rarely meets at scale): the user's sampler and
    decoding keep every draw and every decoded score valid."""
    def top2(scores):
        best = jnp.argsort(-scores, axis=-1)[..., :2]
        return jnp.sum(jax.nn.one_hot(best, 4, dtype=jnp.int32), axis=-2)
    space = spaces.categorical(
        "two_of_four_test", ("off", "on"), slots=4, valid=lambda ops: jnp.sum(ops, axis=-1) == 2,
        sample=lambda key, shape: top2(jax.random.uniform(key, tuple(shape) + (4,))),
        decode=lambda scores: top2(scores[..., 1] - scores[..., 0]))
    drawn = space.random(jax.random.key(0), (50,))
    assert bool(space.is_valid(drawn).all())
    assert bool(space.is_valid(space.from_one_hot(jax.random.normal(jax.random.key(1), (50, 4, 2)))).all())
    with pytest.raises(Exception, match="sample must be a jittable function"):
        spaces.categorical("bad_sample_test", ("a", "b"), slots=2, sample=3)
