import bz2
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnag import spaces, tables
from jaxnag.tables import DataError


def test_nb201_optima(data_dir):
    for ds, best, idx in [("cifar10", 94.3733, 6111), ("cifar100", 73.5133, 9930), ("imagenet16", 47.3111, 857)]:
        t = tables.load("nb201", ds, data_dir=data_dir)
        assert float(t.optimum) == pytest.approx(best, abs=1e-3)
        ops, val = t.best()
        d = np.load(data_dir / "nb201.npz")
        assert np.array_equal(ops, d["ops"][idx])
        assert float(t(jnp.asarray(ops))) == pytest.approx(best, abs=1e-3)


def test_aliases_and_metrics(data_dir):
    t = tables.load("nb201", "ImageNet16-120", data_dir=data_dir, metric="params_mb")
    assert t.info.dataset == "imagenet16" and t.info.metric == "params_mb"
    with pytest.raises(KeyError, match="unknown dataset 'mnist'"):
        tables.load("nb201", "mnist", data_dir=data_dir)
    with pytest.raises(KeyError, match="unknown metric 'latency'"):
        tables.load("nb201", "cifar10", data_dir=data_dir, metric="latency")
    with pytest.raises(KeyError, match="unknown benchmark 'nb301'"):
        tables.load("nb301", "cifar10", data_dir=data_dir)


def test_gather_matches_rows_jit_vmap(nb201_c10, data_dir):
    d = np.load(data_dir / "nb201.npz")
    ops = jnp.asarray(d["ops"][:64].astype(np.int32))
    want = d["test_acc_cifar10"][:64]
    got = jax.jit(nb201_c10)(ops)
    np.testing.assert_allclose(np.asarray(got), want)
    got2 = jax.vmap(nb201_c10)(ops.reshape(8, 8, 6))
    np.testing.assert_allclose(np.asarray(got2).reshape(-1), want)
    # Invalid encodings give NaN (a failed evaluation), not a wrong number.
    bad = jnp.array([[0, 0, 9, 0, 0, 0], [-1, 0, 0, 0, 0, 0]])
    assert bool(jnp.all(jnp.isnan(nb201_c10(bad))))
    with pytest.raises(ValueError, match=r"shape \[\.\.\., 6\]"):
        nb201_c10(jnp.zeros((3, 5), jnp.int32))


def test_vmap_over_stacked_tables(data_dir):
    ts = [tables.load("nb201", ds, data_dir=data_dir) for ds in ("cifar10", "cifar100", "imagenet16")]
    st = tables.stack(ts)
    ops = jnp.asarray(ts[1].best()[0])
    vals = jax.jit(jax.vmap(lambda t: t(ops)))(st)
    assert vals.shape == (3,)
    assert float(vals[1]) == pytest.approx(73.5133, abs=1e-3)
    np.testing.assert_allclose(np.asarray(st.optimum), [float(t.optimum) for t in ts])
    with pytest.raises(ValueError, match="cannot stack"):
        tables.stack([ts[0], tables.load("tnb101_micro", "jigsaw", data_dir=data_dir)])


def test_tnb101_and_hw360(data_dir):
    t = tables.load("tnb101_micro", "room_layout", data_dir=data_dir)
    assert t.space is spaces.get("tnb101_micro")
    assert float(t.optimum) == pytest.approx(-0.601, abs=1e-3)
    for task, best in [("class_scene", 54.94), ("jigsaw", 95.37), ("segmentsemantic", 94.61)]:
        assert float(tables.load("tnb101_micro", task, data_dir=data_dir).optimum) == pytest.approx(best, abs=0.01)
    h = tables.load("hw360", "cifar100", data_dir=data_dir)
    c100 = tables.load("nb201", "cifar100", data_dir=data_dir)
    same = np.isclose(np.asarray(h.values), np.asarray(c100.values), atol=1e-3).mean()
    assert same > 0.8  # the README: 13,139 of 15,625 match exactly
    lat = tables.load("hw360", "ninapro", data_dir=data_dir, metric="pi5/onnx/lat_ms")
    assert np.isfinite(np.asarray(lat.values)).all()


def test_nasbench_graph_from_package_matches_npz(data_dir):
    t = tables.load("nasbench_graph", "citeseer")
    d = np.load(data_dir / "nasbench_graph.npz")
    assert float(t.optimum) == pytest.approx(float(d["citeseer/test"].max()), abs=1e-6)
    assert len(t.info.row_values) == 26206
    s = t.space
    # Every valid encoding resolves to a row; isomorphic encodings share it.
    assert int(np.isfinite(np.asarray(t.values)).sum()) == s.size - 9
    a = s.from_string("0-0-0-0|gcn|gat|sage|gin")
    b = s.from_string("0-0-0-0|gat|gcn|gin|sage")
    assert float(t(a)) == float(t(b))
    assert int(s.canonical(a)) == int(s.canonical(b))
    p = tables.load("nasbench_graph", "proteins")
    assert len(p.info.row_values) == 2021
    assert bool(jnp.isnan(p(s.from_string("0-1-2-3|gat|gat|gat|gat"))))  # gat is not in the proteins space


# ----------------------------------------------------------------------------- error paths
def test_missing_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("JAXNAG_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="nb201.npz is needed but no data directory is set.*JAXNAG_DATA_DIR"):
        tables.load("nb201", "cifar10")
    with pytest.raises(DataError, match=r"nb201.npz not found in .*import-nats"):
        tables.load("nb201", "cifar10", data_dir=tmp_path)
    with pytest.raises(DataError, match="tnb101_micro.npz not found"):
        tables.load("tnb101_micro", "jigsaw", data_dir=tmp_path)


def test_env_var_is_used(monkeypatch, data_dir):
    monkeypatch.setenv("JAXNAG_DATA_DIR", str(data_dir))
    assert tables.load("nb201", "cifar100").info.dataset == "cifar100"


def test_truncated_and_corrupt_files(tmp_path, data_dir):
    raw = (data_dir / "tnb101_micro.npz").read_bytes()
    (tmp_path / "tnb101_micro.npz").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(DataError, match="truncated or corrupt"):
        tables.load("tnb101_micro", "jigsaw", data_dir=tmp_path)
    (tmp_path / "nb201.npz").write_bytes(b"this is not a zip file")
    with pytest.raises(DataError, match="truncated or corrupt"):
        tables.load("nb201", "cifar10", data_dir=tmp_path)


def test_mismatched_files(tmp_path):
    np.savez(tmp_path / "nb201.npz", index=np.arange(3))
    with pytest.raises(DataError, match="missing keys \\['ops'\\]"):
        tables.load("nb201", "cifar10", data_dir=tmp_path)
    np.savez(tmp_path / "nb201.npz", ops=np.zeros((10, 6), np.int8), test_acc_cifar10=np.zeros(10))
    with pytest.raises(DataError, match="10 rows, expected all 15625"):
        tables.load("nb201", "cifar10", data_dir=tmp_path)
    np.savez(tmp_path / "tnb101_micro.npz", ops=np.zeros((10, 5), np.int8), val_jigsaw=np.zeros(10))
    with pytest.raises(DataError, match=r"shape \[n, 6\]"):
        tables.load("tnb101_micro", "jigsaw", data_dir=tmp_path)


def test_custom_table(tmp_path):
    space = spaces.get("nb201")
    ops = np.asarray(space.sample_unique(jax.random.key(0), 50))
    acc = np.linspace(50, 90, 50).astype(np.float32)
    np.savez(tmp_path / "mine.npz", ops=ops, acc=acc, lat=acc[::-1])
    t = tables.load_custom(tmp_path / "mine.npz", "nb201", "acc")
    assert float(t.optimum) == pytest.approx(90.0)
    np.testing.assert_allclose(np.asarray(jax.jit(t)(jnp.asarray(ops))), acc)
    # Architectures the table lacks are NaN.
    missing = np.setdiff1d(np.arange(space.size), np.asarray(space.rank(ops)))[:3]
    assert bool(jnp.all(jnp.isnan(t(space.unrank(missing)))))
    with pytest.raises(DataError, match="no column 'top1'.*acc, lat"):
        tables.load_custom(tmp_path / "mine.npz", "nb201", "top1")
    np.savez(tmp_path / "dup.npz", ops=np.concatenate([ops, ops[:1]]), acc=np.zeros(51))
    with pytest.raises(DataError, match="duplicate row"):
        tables.load_custom(tmp_path / "dup.npz", "nb201", "acc")
    np.savez(tmp_path / "oob.npz", ops=np.full((2, 6), 7), acc=np.zeros(2))
    with pytest.raises(DataError, match="slot 0 .* has choice 7"):
        tables.load_custom(tmp_path / "oob.npz", "nb201", "acc")
    np.savez(tmp_path / "float.npz", ops=ops.astype(float), acc=acc)
    with pytest.raises(DataError, match="integer array"):
        tables.load_custom(tmp_path / "float.npz", "nb201", "acc")
    with pytest.raises(DataError, match="not found"):
        tables.load_custom(tmp_path / "nope.npz", "nb201", "acc")
    darts = spaces.get("darts")  # a dense table over 1.9e25 genotypes: refused with what to do instead
    np.savez(tmp_path / "darts.npz", ops=np.asarray(darts.random(jax.random.key(0), (3,))), acc=acc[:3])
    with pytest.raises(DataError, match="darts has 1.93e\\+25 .* fit a predictor on these rows"):
        tables.load_custom(tmp_path / "darts.npz", "darts", "acc")


def test_availability(tmp_path, data_dir):
    rows = {r["benchmark"]: r for r in tables.availability(data_dir)}
    assert all(r["available"] for r in rows.values())
    rows = {r["benchmark"]: r for r in tables.availability(tmp_path)}
    assert rows["nasbench_graph"]["available"] and not rows["nb201"]["available"]
    assert "import-nats" in rows["nb201"]["howto"]


# ----------------------------------------------------------------------------- NATS importer
def _results_count(acc_by_set, epochs, params=0.5, flop=50.0):
    return dict(name="x", net_state_dict=None, train_acc1es={}, train_acc5es=None, train_losses={},
                train_times=None, arch_config={}, params=params, flop=flop, seed=0, epochs=epochs,
                latency=None, eval_names=list(acc_by_set),
                eval_acc1es={f"{k}@{epochs - 1}": v for k, v in acc_by_set.items()},
                eval_times={}, eval_losses={})


def _arch_results(idx, arch_str, base):
    all_results, dataset_seed = {}, {}
    for ds, sets in [("cifar10-valid", {"x-valid": base + 0.5, "ori-test": base + 0.4}),
                     ("cifar10", {"ori-test": base + 1.0}),
                     ("cifar100", {"x-valid": base - 20, "x-test": base - 21}),
                     ("ImageNet16-120", {"x-valid": base - 45, "x-test": base - 46})]:
        dataset_seed[ds] = [777, 888]
        for k, seed in enumerate((777, 888)):
            all_results[(ds, seed)] = _results_count({s: v + k for s, v in sets.items()}, 200)
    h200 = dict(arch_index=idx, arch_str=arch_str, all_results=all_results, dataset_seed=dataset_seed,
                clear_net_done=True)
    h12 = dict(arch_index=idx, arch_str=arch_str, dataset_seed={"cifar10": [111]}, clear_net_done=True,
               all_results={("cifar10", 111): _results_count({"ori-test": base - 10}, 12)})
    return {"200": h200, "12": h12}


def _write_pbz2(path, obj):
    path.write_bytes(bz2.compress(pickle.dumps(obj, protocol=4)))


@pytest.fixture
def nats_archive(tmp_path):
    space = spaces.get("nb201")
    meta_archs = [space.to_string(o) for o in space.all_ops()[:20]]
    root = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    root.mkdir()
    _write_pbz2(root / "meta.pickle.pbz2", {"meta_archs": meta_archs})
    for idx, base in [(0, 80.0), (11, 90.0), (17, 85.0)]:
        _write_pbz2(root / f"{idx:06d}.pickle.pbz2", _arch_results(idx, meta_archs[idx], base))
    return root, meta_archs


def test_import_nats_folder(nats_archive, tmp_path):
    from jaxnag.tables.nats_import import import_nats
    root, meta_archs = nats_archive
    out = tmp_path / "out" / "nb201.npz"
    arrays = import_nats(root, out)
    assert out.is_file()
    assert arrays["index"].tolist() == [0, 11, 17]
    assert list(arrays["arch_str"]) == [meta_archs[i] for i in (0, 11, 17)]
    # Mean over the two seeds (v and v + 1) of the last epoch.
    np.testing.assert_allclose(arrays["test_acc_cifar10"], [81.5, 91.5, 86.5])
    np.testing.assert_allclose(arrays["valid_acc_cifar10"], [81.0, 91.0, 86.0])
    np.testing.assert_allclose(arrays["test_acc_cifar100"], [59.5, 69.5, 64.5])
    np.testing.assert_allclose(arrays["test_acc_imagenet16"], [34.5, 44.5, 39.5])
    np.testing.assert_allclose(arrays["test_acc_12ep_cifar10"], [70.0, 80.0, 75.0])
    assert np.isnan(arrays["test_acc_12ep_cifar100"]).all()
    np.testing.assert_allclose(arrays["params_mb_cifar10"], 0.5)
    t = tables.load_custom(out, "nb201", "test_acc_cifar10")
    assert float(t.optimum) == pytest.approx(91.5)
    assert spaces.get("nb201").to_string(t.best()[0]) == meta_archs[11]


def test_import_nats_single_file(tmp_path):
    from jaxnag.tables.nats_import import import_nats
    space = spaces.get("nb201")
    meta_archs = [space.to_string(o) for o in space.all_ops()[:5]]
    data = {"meta_archs": meta_archs, "evaluated_indexes": [1, 3],
            "arch2infos": {1: _arch_results(1, meta_archs[1], 70.0), 3: _arch_results(3, meta_archs[3], 75.0)}}
    _write_pbz2(tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2", data)
    arrays = import_nats(tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2", tmp_path / "t.npz")
    assert arrays["index"].tolist() == [1, 3]
    np.testing.assert_allclose(arrays["test_acc_cifar10"], [71.5, 76.5])


def test_import_nats_errors(nats_archive, tmp_path):
    from jaxnag.tables.nats_import import import_nats
    root, _ = nats_archive
    with pytest.raises(DataError, match="does not exist"):
        import_nats(tmp_path / "nope", tmp_path / "o.npz")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no meta.pickle.pbz2"):
        import_nats(empty, tmp_path / "o.npz")
    (root / "000011.pickle.pbz2").write_bytes(b"BZh91AY&SY truncated")
    with pytest.raises(DataError, match="000011.pickle.pbz2: not a readable bz2 file"):
        import_nats(root, tmp_path / "o.npz")
    # A pickle that would run code (or hold torch weights) is refused.
    (root / "000011.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps({"200": np.random.default_rng(0)})))
    with pytest.raises(DataError, match="refusing to unpickle"):
        import_nats(root, tmp_path / "o.npz")


def test_cost_metrics_are_minimised(data_dir):
    lat = tables.load("hw360", "cifar100", data_dir=data_dir, metric="pi5/litert/lat_ms")
    params = tables.load("nb201", "cifar10", data_dir=data_dir, metric="params_mb")
    for t in (lat, params):
        assert t.goal == "min"
        raw = t.info.row_values[np.isfinite(t.info.row_values)]
        # The optimum is the smallest value, reported in the metric's units.
        assert float(t.to_metric(t.optimum)) == pytest.approx(float(raw.min()))
        ops, best = t.best()
        assert best == pytest.approx(float(raw.min())) and float(t(ops)) == pytest.approx(-best)
    assert tables.load("nb201", "cifar10", data_dir=data_dir).goal == "max"
    assert tables.benchmark("nasbench_graph").goal("latency") == "min"


def test_constraint_penalty_and_constrained_optimum(data_dir):
    acc = tables.load("hw360", "cifar100", data_dir=data_dir)
    lat = tables.load("hw360", "cifar100", data_dir=data_dir, metric="pi5/litert/lat_ms")
    c = tables.constrain(acc, lat, "<=", 2.0)
    a, ms = np.asarray(acc.values), lat.to_metric(np.asarray(lat.values))
    feasible = np.isfinite(ms) & (ms <= 2.0) & np.isfinite(a)
    assert float(c.optimum) == pytest.approx(float(a[feasible].max()))
    assert float(c.optimum) < float(acc.optimum)
    v = np.asarray(c.values)
    infeasible = np.isfinite(ms) & (ms > 2.0) & np.isfinite(a)
    assert v[infeasible].max() < v[feasible].min()  # every penalty below every feasible value
    order = np.argsort(ms[infeasible])
    assert np.all(np.diff(v[infeasible][order]) <= 1e-4)  # further out, lower
    assert np.all(np.isnan(c.to_metric(v[infeasible]))) and np.allclose(c.to_metric(v[feasible]), a[feasible])
    # Constraints compose; the optimum and the floor respect both.
    both = tables.constrain(c, tables.load("hw360", "cifar100", data_dir=data_dir, metric="pi5/onnx/lat_ms"), "<=", 3.0)
    assert float(both.optimum) <= float(c.optimum)
    with pytest.raises(tables.DataError, match="no architecture"):
        tables.constrain(acc, lat, "<=", -1.0)
    assert tables.parse_constraint("pi5/litert/lat_ms <= 5") == ("pi5/litert/lat_ms", "<=", 5.0)


def test_availability_reports_corrupt_files(tmp_path, data_dir):
    (tmp_path / "nb201.npz").write_bytes(b"not a zip file at all")
    rows = {r["benchmark"]: r for r in tables.availability(tmp_path)}
    assert not rows["nb201"]["available"] and "corrupt" in rows["nb201"]["problem"]
    rows = {r["benchmark"]: r for r in tables.availability(data_dir)}
    assert rows["nb201"]["available"] and "valid_acc" not in rows["nb201"]["metrics"]
