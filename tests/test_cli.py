import json
import subprocess
import sys

import numpy as np
import pytest

from jaxnag import proxies, registry, spaces
from jaxnag.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_spaces_and_benchmarks(capsys, data_dir):
    code, out, _ = run(capsys, "spaces")
    assert code == 0 and "nb201" in out and "nasbench_graph" in out
    code, out, _ = run(capsys, "spaces", "--json")
    assert {r["name"] for r in json.loads(out)} >= {"nb201", "tnb101_micro", "nasbench_graph"}  # and plugins'

    code, out, _ = run(capsys, "benchmarks", "--data-dir", str(data_dir), "--json")
    rows = {r["benchmark"]: r for r in json.loads(out)}
    assert code == 0 and rows["nb201"]["available"] and "cifar100" in rows["nb201"]["datasets"]


@pytest.mark.parametrize("method", ["random", "rea", "ednag"])
def test_generate_json_schema(capsys, data_dir, method):
    own = ["--population", "8", "--steps", "6"] if method == "ednag" else ["--budget", "40"]
    code, out, err = run(capsys, "generate", "--method", method, "--benchmark", "nb201", "--dataset", "cifar10",
                         "--data-dir", str(data_dir), "--seeds", "3", *own, "--json")
    assert code == 0, err
    obj = json.loads(out)
    assert set(obj) >= {"method", "benchmark", "dataset", "optimum", "hit_rate", "time_s", "runs", "seed", "config",
                        "version", "goal"}
    assert obj["goal"] == "max" and obj["seed"] == 0
    assert obj["method"] == method and obj["benchmark"] == "nb201" and obj["dataset"] == "cifar10"
    assert obj["optimum"] == pytest.approx(94.3733, abs=1e-3)
    assert 0.0 <= obj["hit_rate"] <= 1.0 and obj["time_s"] > 0
    assert len(obj["runs"]) == 3
    for r in obj["runs"]:
        assert set(r) == {"seed", "best_arch", "best_score", "queries"}
        assert r["best_arch"].startswith("|") and 10 < r["best_score"] <= obj["optimum"]
        assert r["queries"] >= 1
    if method != "ednag":
        assert all(r["queries"] == 40 for r in obj["runs"])


def test_generate_default_benchmark_and_table(capsys, tmp_path):
    code, out, err = run(capsys, "generate", "--method", "rea", "--seeds", "2", "--budget", "30")
    assert code == 0, err
    assert "nasbench_graph/cora" in out and "hit rate" in out
    from jaxnag import spaces
    s = spaces.get("tnb101_micro")
    ops = s.all_ops()
    np.savez(tmp_path / "t.npz", ops=ops, score=ops.sum(1).astype(np.float32))
    code, out, err = run(capsys, "generate", "--method", "random", "--table", str(tmp_path / "t.npz"),
                         "--metric", "score", "--space", "tnb101_micro", "--budget", "4096", "--seeds", "1",
                         "--json")
    obj = json.loads(out)
    assert obj["optimum"] == 18.0 and obj["hit_rate"] == 1.0


def test_console_script_entry_point():
    res = subprocess.run([sys.executable, "-m", "jaxnag.cli", "generate", "--method", "nope"],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr


@pytest.mark.slow  # about 10 s on 2 cores: the default run keeps to its 5-minute budget
def test_pgnag_and_prior_commands(capsys, data_dir, tmp_path):
    code, out, err = run(capsys, "generate", "--method", "pgnag", "--benchmark", "tnb101_micro", "--dataset",
                         "jigsaw", "--prior-from", "nb201:cifar10", "--data-dir", str(data_dir), "--seeds", "1",
                         "--iterations", "20", "--samples", "10", "--json")
    assert code == 0, err
    obj = json.loads(out)
    assert obj["method"] == "pgnag" and obj["runs"][0]["best_arch"].startswith("64-41414-")
    assert 1 <= obj["runs"][0]["queries"] <= 10  # transfer: only the generated samples touch the target
    code, out, err = run(capsys, "prior", "--benchmark", "nb201", "--dataset", "cifar10", "--data-dir",
                         str(data_dir), "--k", "5", "--json", "--plot", str(tmp_path / "h.png"))
    obj = json.loads(out)
    assert code == 0 and obj["lookups"] == 5 * 64 and len(obj["score"]) == 6
    assert (tmp_path / "h.png").stat().st_size > 1000
    code, _, err = run(capsys, "generate", "--method", "pgnag", "--prior-from", "nb201", "--seeds", "1")
    assert code == 2 and "--prior-from takes BENCHMARK:DATASET" in err


@pytest.mark.slow  # 6-8 s on 2 cores: the default run keeps to its 5-minute budget
def test_diffusionnag_commands(capsys, tmp_path, data_dir):
    code, out, err = run(capsys, "train-score", "--out", str(tmp_path / "ck"), "--iterations", "20",
                         "--batch", "16", "--log-every", "10", "--ckpt-every", "20", "--validity-samples", "8",
                         "--pc-steps", "20")
    assert code == 0, err
    assert "trained" in out and "saved steps [20]" in out and "validity of 8 unguided samples" in out
    assert (tmp_path / "ck" / "jaxnag-score.json").is_file() and (tmp_path / "ck" / "runs" / "0" / "20").is_dir()
    code, _, err = run(capsys, "generate", "--method", "diffusionnag", "--checkpoint", str(tmp_path / "ck"),
                       "--benchmark", "tnb101_micro", "--dataset", "jigsaw", "--data-dir", str(data_dir))
    assert code == 2 and "trained on nb201, not tnb101_micro" in err
    # 20 training steps give no valid architecture: the first round says so, with the steps held.
    code, _, err = run(capsys, "generate", "--method", "diffusionnag", "--checkpoint", str(tmp_path / "ck"),
                       "--benchmark", "nb201", "--dataset", "cifar10", "--data-dir", str(data_dir), "--seeds", "1",
                       "--predictor-queries", "0", "--pc-steps", "20")
    last = err.strip().splitlines()[-1]
    assert code == 2 and "0% of the generated samples are valid" in last and "holds 20 training steps" in last
    # ... and so does the same run under a query budget (the wrapper forwards DiffusionNAG's check).
    code, _, err = run(capsys, "generate", "--method", "diffusionnag", "--checkpoint", str(tmp_path / "ck"),
                       "--benchmark", "nb201", "--dataset", "cifar10", "--data-dir", str(data_dir), "--seeds", "1",
                       "--predictor-queries", "0", "--pc-steps", "20", "--budget", "30")
    last = err.strip().splitlines()[-1]
    assert code == 2 and "0% of the generated samples are valid" in last and "holds 20 training steps" in last


@pytest.mark.slow  # about 30 s: a score network on DARTS and a run on a proxy
def test_diffusionnag_on_darts_from_the_command_line(capsys, tmp_path):
    """train-score on DARTS (drawn cells: it has too many to list), then generate on a proxy reads it."""
    code, out, err = run(capsys, "train-score", "--space", "darts", "--out", str(tmp_path / "ck"), "--iterations", "4",
                         "--batch", "8", "--log-every", "4", "--validity-samples", "4", "--pc-steps", "4")
    assert code == 0 and "4 steps" in out and "validity of 4 unguided samples" in out, err
    code, _, err = run(capsys, "generate", "--method", "diffusionnag", "--checkpoint", str(tmp_path / "ck"),
                       "--space", "darts", "--proxy", "params", "--seeds", "1", "--predictor-queries", "0",
                       "--pc-steps", "4", "--round-size", "8")
    last = err.strip().splitlines()[-1]  # 4 training steps: no valid cell yet, and it says so
    assert code == 2 and "0% of the generated samples are valid" in last and "holds 4 training steps" in last, err


@pytest.mark.slow  # about 40 s: two PG-NAG programs
def test_pgnag_on_a_proxy_scores_its_prior_on_it_or_transfers_one(capsys, data_dir):
    # budgeted: the prior from the top-k of B proxy queries, counted among the run's queries
    code, out, err = run(capsys, "generate", "--method", "pgnag", "--space", "nb201", "--proxy", "params",
                         "--prior-budget", "12", "--k", "3", "--samples", "6", "--iterations", "10", "--seeds", "2",
                         "--json")
    assert code == 0, err
    r = json.loads(out)
    assert "pgnag protocol: budgeted (prior from the top-3 of 12 random target queries" in err
    assert r["config"]["prior_from"] is None and len(r["runs"]) == 2
    space = spaces.get("nb201")
    for run_ in r["runs"]:  # the proxy is params: the found cell's score is its parameter count
        assert 12 < run_["queries"] <= 12 + 3 * 2**6 + 6 and run_["best_arch"]  # draws, coalitions, samples
        found = space.from_string(run_["best_arch"])[None]
        assert run_["proxy_score"] == pytest.approx(float(proxies.fitness(space, "params")(found)[0]), rel=1e-6)
    # transfer: NB201's prior carried to DARTS op by op; no query of the target before sampling
    code, out, err = run(capsys, "generate", "--method", "pgnag", "--space", "darts", "--proxy", "params",
                         "--data-dir", str(data_dir), "--prior-from", "nb201:cifar10", "--map-by", "op",
                         "--op-map", "sep_conv_3x3=nor_conv_3x3,dil_conv_3x3=nor_conv_3x3", "--sampler", "direct",
                         "--samples", "5", "--seeds", "1", "--json")
    assert code == 0, err
    assert "pgnag protocol: transfer (prior scored on nb201/cifar10" in err
    r = json.loads(out)
    assert r["config"]["prior_from"] == "nb201:cifar10" and r["runs"][0]["queries"] == 5
    darts = spaces.get("darts")
    assert bool(darts.is_valid(darts.from_string(r["runs"][0]["best_arch"])[None])[0])


@pytest.mark.slow  # about 12 s
def test_proxy_generation_training_and_bad_data(capsys, tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 8, 8, 3)).astype(np.float32), rng.integers(0, 3, 40)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    code, out, err = run(capsys, "generate", "--method", "ednag", "--space", "nb201", "--proxy", "params",
                         "--population", "8", "--steps", "3", "--seeds", "2", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert len(r["runs"]) == 2 and all(run_["best_arch"] for run_ in r["runs"])
    code, out, err = run(capsys, "generate", "--method", "ednag", "--space", "tnb101_micro", "--proxy", "params",
                         "--classes", "63", "--seeds", "1", "--json")
    assert code == 0, err  # the largest micro network; NASLib's class_scene params of 64-41414-3_33_333: 41.443935
    assert json.loads(out)["runs"][0]["best_arch"] == "64-41414-3_33_333"
    assert abs(json.loads(out)["runs"][0]["proxy_score"] - 41.443935) < 1e-4
    code, _, err = run(capsys, "generate", "--space", "nasbench_graph", "--proxy", "params")
    assert code == 2 and "nasbench_graph" in err
    bad = {"rank": dict(x=x[:, :, :, 0], y=y), "nan": dict(x=np.where(x > 2, np.nan, x), y=y),
           "labels": dict(x=x, y=y + 0.5)}
    for name, arrays in bad.items():
        np.savez(tmp_path / f"{name}.npz", **arrays)
        code, _, err = run(capsys, "generate", "--proxy", "nwot", "--data", str(tmp_path / f"{name}.npz"))
        assert code == 2 and err.count("\n") == 1, (name, err)
    code, _, err = run(capsys, "generate", "--proxy", "nwot", "--data", str(tmp_path / "d.npz"), "--batch-size", "64")
    assert code == 2 and "64" in err
    code, _, err = run(capsys, "generate", "--proxy", "nwot", "--data", str(tmp_path / "d.npz"), "--classes", "2")
    assert code == 2 and "0..1" in err
    code, _, err = run(capsys, "generate", "--proxy", "snip")
    assert code == 2 and "--data" in err
    code, _, err = run(capsys, "train", "--arch", "nope", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "t"))
    assert code == 2 and "--arch" in err
    code, out, err = run(capsys, "train", "--arch", "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|"
                         "none~1|nor_conv_3x3~2|", "--data", str(tmp_path / "d.npz"), "--epochs", "1", "--batch-size", "8",
                         "--channels", "2", "--cells", "1", "--out", str(tmp_path / "t"), "--json")
    assert code == 0, err
    assert (tmp_path / "t" / "checkpoint").exists() and len(json.loads(out)["history"]) == 1
    code, out, err = run(capsys, "proxies", "--proxy", "flops", "--out", str(tmp_path / "flops.npz"))
    assert code == 0, err
    code, out, err = run(capsys, "generate", "--method", "random", "--table", str(tmp_path / "flops.npz"), "--space",
                         "nb201", "--metric", "flops", "--budget", "300", "--seeds", "1", "--json")
    assert code == 0, err
    assert 7.0 < json.loads(out)["runs"][0]["best_score"] <= 220.2  # CIFAR-10 network FLOPs (M): 7.78..220.12


@pytest.mark.slow  # >= 6 s on 2 cores
def test_budget_flag_applies_to_every_method(capsys):
    code, out, err = run(capsys, "generate", "--method", "ednag", "--benchmark", "nb201", "--dataset", "cifar100",
                         "--budget", "40", "--population", "10", "--plain", "--seeds", "3", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["config"]["budget"] == 40 and [x["queries"] for x in r["runs"]] == [40, 40, 40]
    assert r["config"]["steps"] == 150 and r["config"]["population"] == 10  # what ran, not None
    code, out, err = run(capsys, "generate", "--method", "ednag", "--benchmark", "nb201", "--dataset", "cifar100",
                         "--budget", "40", "--reference", "--plain", "--seeds", "1", "--json")
    assert code == 0, err
    assert json.loads(out)["config"]["steps"] == 100  # the reference's T
    code, _, err = run(capsys, "generate", "--method", "ednag", "--benchmark", "nb201", "--budget", "0")
    assert code == 2 and "--budget" in err


@pytest.mark.slow  # two compilations of EDNAG + the GP surrogate: 15 s
def test_budget_picks_the_query_efficient_form(capsys):
    """--budget alone runs EDNAG's query-efficient form (registry.EDNAG_BUDGETED: the GP surrogate, UCB, local
    search), said in one line; a flag given wins over the form; --plain needs --budget."""
    args = ["generate", "--method", "ednag", "--benchmark", "nb201", "--dataset", "cifar100", "--budget", "40",
            "--seeds", "2", "--json"]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    cfg = json.loads(out)["config"]
    assert "query-efficient form" in err and "--plain" in err
    assert {k: cfg[k] for k in registry.EDNAG_BUDGETED} == registry.EDNAG_BUDGETED and cfg["memory"] == 40
    assert [x["queries"] for x in json.loads(out)["runs"]] == [40, 40]
    code, out, err = run(capsys, *args, "--population", "12", "--surrogate-predictor", "ridge")
    assert code == 0, err
    cfg = json.loads(out)["config"]
    assert cfg["population"] == 12 and cfg["predictor"] == "ridge" and cfg.get("acquisition", "greedy") == "greedy"
    code, _, err = run(capsys, "generate", "--method", "ednag", "--benchmark", "nb201", "--plain")
    assert code == 2 and "--plain works with --budget" in err


@pytest.mark.slow  # >= 6 s on 2 cores
def test_surrogate_flags(capsys):
    code, out, err = run(capsys, "generate", "--method", "ednag", "--benchmark", "nb201", "--dataset", "cifar100",
                         "--budget", "40", "--population", "10", "--surrogate-query", "5", "--surrogate-local", "3",
                         "--seeds", "2", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["config"]["query"] == 5 and r["config"]["local"] == 3
    assert [x["queries"] for x in r["runs"]] == [40, 40]
    code, _, err = run(capsys, "generate", "--method", "ednag", "--benchmark", "nb201", "--surrogate-local", "3")
    assert code == 2 and "--surrogate-query" in err
    code, _, err = run(capsys, "generate", "--method", "ednag", "--benchmark", "nb201", "--population", "10",
                       "--surrogate-query", "50")
    assert code == 2 and "query" in err


@pytest.mark.slow  # about 5 s on 2 cores
def test_pgnag_iterative_flags(capsys):
    code, out, err = run(capsys, "generate", "--method", "pgnag", "--benchmark", "nb201", "--dataset", "cifar100",
                         "--iterative", "--sampler", "direct", "--prior-budget", "20", "--prior-method", "loo", "--k",
                         "5", "--samples", "2", "--rounds", "100", "--sharpness", "8", "--budget", "60", "--seeds", "2",
                         "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["config"]["iterative"] is True and r["config"]["sharpness"] == 8.0
    assert [x["queries"] for x in r["runs"]] == [60, 60]
    code, _, err = run(capsys, "generate", "--method", "pgnag", "--benchmark", "nb201", "--iterative")
    assert code == 2 and "sampler='direct'" in err


@pytest.mark.slow  # >= 6 s on 2 cores
def test_generate_objectives_prints_the_front(capsys, data_dir, tmp_path):
    """--objectives: each run's front (the table's own values) and its hypervolume share; --plot never
    replaces a file it did not write unless --overwrite."""
    plot = tmp_path / "front.png"
    plot.write_text("mine")
    args = ["generate", "--method", "nsga2", "--benchmark", "nb201", "--dataset", "cifar10", "--data-dir",
            str(data_dir), "--objectives", "test_acc,params_mb", "--budget", "40", "--population", "10", "--seeds",
            "2"]
    assert main(args + ["--plot", str(plot)]) != 0
    assert plot.read_text() == "mine" and "exists" in capsys.readouterr().err
    code, out, err = run(capsys, *args, "--json", "--plot", str(plot), "--overwrite")
    assert code == 0, err
    res = json.loads(out)
    assert res["objectives"] == ["test_acc", "params_mb"] and res["goals"] == ["max", "min"]
    assert res["exact_front_size"] == 14 and plot.read_bytes()[:4] == b"\x89PNG"
    from jaxnag import spaces, tables
    acc = tables.load("nb201", "cifar10", data_dir, "test_acc")
    space = spaces.get("nb201")
    for r in res["runs"]:
        assert r["queries"] == 40 and 0 < r["hv_share"] <= 1
        for p in r["front"]:
            assert float(acc.to_metric(acc(space.from_string(p["arch"])))) == pytest.approx(p["test_acc"])
    code, _, err = run(capsys, *args[:-2], "--seeds", "1", "--metric", "test_acc")
    assert code != 0 and "--metric names one objective" in err


def test_the_commands_keys_are_jax_random_keys_of_the_seed():
    """The command line makes its keys in one compiled program: the same keys as ``jax.random.key(seed)`` and
    ``jax.random.split(key, n)`` made eagerly, for every seed up to SEED_MAX."""
    import jax

    from jaxnag import cli
    for seed in (0, 7, 2**31 - 1, 2**31, cli.SEED_MAX):
        eager = jax.random.key(seed)
        np.testing.assert_array_equal(jax.random.key_data(cli._keys(seed)), jax.random.key_data(eager))
        np.testing.assert_array_equal(jax.random.key_data(cli._keys(seed, 3)),
                                      jax.random.key_data(jax.random.split(eager, 3)))


TRANSFER = ["generate", "--method", "pgnag", "--benchmark", "nasbench_graph", "--prior-from", "nb201:cifar10",
            "--samples", "8", "--seeds", "1", "--k", "5"]


@pytest.mark.parametrize("extra, message", [
    ([], "cannot map nb201 onto nasbench_graph slot by slot: the cell graphs differ (map_by='op'"),
    (["--map-by", "op"], "no op of nasbench_graph has a counterpart in nb201"),
    (["--map-by", "op", "--op-map", "gcn=nor_conv_3x3,x"], "--op-map takes TARGET=SOURCE op names"),
    (["--map-by", "op", "--op-map", "gcn=conv9"], "maps 'gcn' to 'conv9', not an op of nb201"),
    (["--map-by", "op", "--op-map", "gcn=nor_conv_3x3"], "use sampler='direct'"),
], ids=["graphs", "no-shared-op", "syntax", "unknown-op", "denoiser"])
def test_pgnag_transfer_across_cell_graphs_says_what_is_missing(capsys, extra, message):
    """A prior from NB201 for NAS-Bench-Graph (another cell graph, other op names): each missing piece is one
    line, before anything is compiled."""
    code, out, err = run(capsys, *TRANSFER, *extra)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.slow  # compiles a PG-NAG run: 5-10 s
def test_pgnag_transfer_across_cell_graphs_runs(capsys):
    code, out, err = run(capsys, *TRANSFER, "--map-by", "op", "--op-map", "gcn=nor_conv_3x3,skip=skip_connect",
                         "--sampler", "direct")
    assert code == 0, err
    assert "gcn" in out and "mean best" in out
