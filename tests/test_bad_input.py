"""Bad input, one row per case: the CLI answers with exit 2 and one line (no traceback), the
Python API with a jaxnag error type naming the problem, and no file is lost or corrupted."""

import json
import math

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxnag import errors, spaces, tables
from jaxnag.cli import main

NB201 = spaces.get("nb201")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, out, err)
    assert message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and err.startswith("jaxnag")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    ops = NB201.all_ops()
    np.savez(d / "three.npz", ops=ops[:3], acc=np.array([1.0, 2.0, 3.0], np.float32))
    np.savez(d / "strings.npz", ops=ops[:3], acc=np.array(["a", "b", "c"]))
    np.savez(d / "floatops.npz", ops=ops[:3] + 0.5, acc=np.ones(3, np.float32))
    wide = ops[:3].astype(np.int64)
    wide[0, 0] = 2**32 + 1  # wraps to 1 in int32: must be refused, not read as a valid cell
    np.savez(d / "wide.npz", ops=wide, acc=np.ones(3, np.float32))
    np.savez(d / "dups.npz", ops=np.stack([ops[0], ops[0]]), acc=np.ones(2, np.float32))
    np.savez(d / "allnan.npz", ops=ops[:3], acc=np.full(3, np.nan, np.float32))
    (d / "random.npz").write_bytes(bytes(range(256)) * 8)
    (d / "afile").write_text("not a folder")
    return d


# --------------------------------------------------------------------------- CLI
CLI_CASES = [
    # generate: numbers out of range, before any compilation
    (["generate", "--seeds", "0"], "--seeds must be an integer in [1, 2147483647]"),
    (["generate", "--seeds", "-5"], "--seeds must be an integer in [1, 2147483647]"),
    (["generate", "--seed", "-1"], "--seed must be an integer in [0, 4294967295]"),
    (["generate", "--seed", "99999999999999999999999"], "--seed must be an integer in [0, 4294967295]"),
    (["generate", "--population", "1"], "--population must be an integer >= 2"),
    (["generate", "--population", "0", "--budget", "40"], "--population must be an integer >= 2"),  # not the form's 30
    (["generate", "--method", "ednag", "--batch", "0"], "--batch does not apply to --method ednag"),  # 0 is given
    (["generate", "--steps", "1"], "--steps must be an integer >= 2"),
    (["generate", "--method", "rea", "--budget", "0"], "--budget must be an integer in [1, 26206]"),
    (["generate", "--method", "rea", "--budget", "100000"], "--budget must be an integer in [1, 26206]"),
    (["generate", "--method", "random", "--budget", "-3"], "--budget must be an integer in [1, 26206]"),
    (["generate", "--method", "pgnag", "--k", "0"], "--k must be an integer >= 1"),
    (["generate", "--method", "pgnag", "--temperature", "nan"], "--temperature must be finite"),
    (["generate", "--method", "pgnag", "--temperature", "-1"], "--temperature must be in (0, inf]"),
    (["generate", "--method", "pgnag", "--prior-budget", "-5"], "--prior-budget must be an integer in [1, 26206]"),
    (["generate", "--method", "pgnag", "--samples", "0"], "--samples must be an integer >= 1"),
    (["generate", "--method", "pgnag", "--iterations", "0"], "--iterations must be an integer >= 1"),
    (["generate", "--method", "diffusionnag", "--guidance-scale", "nan"], "--guidance-scale must be finite"),
    (["generate", "--method", "diffusionnag", "--guidance-scale", "-1"], "--guidance-scale must be in [0, inf]"),
    (["generate", "--method", "diffusionnag", "--predictor-queries", "-3"], "--predictor-queries must be an integer"),
    (["generate", "--method", "diffusionnag", "--predictor-queries", "1"], "--predictor-queries must be 0"),
    (["generate", "--method", "diffusionnag", "--pc-steps", "1"], "--pc-steps must be an integer >= 2"),
    (["generate", "--method", "diffusionnag"], "--checkpoint DIR is needed"),
    # generate: flags that do not apply, names that do not exist
    (["generate", "--method", "rea", "--steps", "8"], "--steps does not apply to --method rea"),
    (["generate", "--method", "ednag", "--prior-from", "nb201:cifar10"], "--prior-from does not apply to --method ednag"),
    (["generate", "--method", "evosax", "--strategy", "Adam"], "argument --strategy: invalid choice: 'Adam'"),
    (["generate", "--method", "rea", "--sample", "99"], "--sample must be an integer in [1, 50]"),
    (["generate", "--method", "random", "--budget", "30", "--batch", "7"], "batch (7) must divide budget (30)"),
    (["generate", "--method", "diffusionnag", "--top", "0"], "--top must be an integer >= 1"),
    (["generate", "--method", "ednag", "--budget", "0"], "--budget must be an integer in [1, 26206]"),  # any method takes --budget
    (["generate", "--method", "random", "--faithful"], "--faithful does not apply to --method random"),
    (["generate", "--method", "ednag", "--checkpoint", "x"], "--checkpoint does not apply to --method ednag"),
    (["generate", "--method", "nope"], "invalid choice: 'nope'"),
    (["generate", "--benchmark", "nb999"], "unknown benchmark 'nb999'"),
    (["generate", "--dataset", "mnist"], "unknown dataset 'mnist' for nasbench_graph"),
    (["generate", "--metric", "accuracy"], "unknown metric 'accuracy' for nasbench_graph"),
    (["generate", "--benchmark", "nb201", "--metric", "valid_acc", "--data-dir", "{data}"], "unknown metric 'valid_acc'"),
    (["generate", "--seeds", "many"], "invalid int value: 'many'"),
    (["generate", "--population", "2.5"], "invalid int value: '2.5'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["generate", "--minimise"], "--minimise/--maximise are for --table"),
    (["generate", "--space", "nb201"], "--space is for --table"),
    # generate: data problems
    (["generate", "--benchmark", "nb201", "--data-dir", "/nonexistent"], "nb201.npz not found"),
    (["generate", "--benchmark", "nb201", "--data-dir", "{files}"], "nb201.npz not found"),
    (["generate", "--table", "x.npz"], "--table needs --space NAME and --metric KEY"),
    (["generate", "--table", "{files}/nope.npz", "--space", "nb201", "--metric", "acc"], "nope.npz not found"),
    (["generate", "--table", "{files}/random.npz", "--space", "nb201", "--metric", "acc"], "truncated or corrupt"),
    (["generate", "--table", "{files}/three.npz", "--space", "nb201", "--metric", "loss"], "has no column 'loss'"),
    (["generate", "--table", "{files}/three.npz", "--space", "nb999", "--metric", "acc"], "unknown search space"),
    (["generate", "--table", "{files}/strings.npz", "--space", "nb201", "--metric", "acc"], "must be numeric"),
    (["generate", "--table", "{files}/floatops.npz", "--space", "nb201", "--metric", "acc"], "must be an integer array"),
    (["generate", "--table", "{files}/wide.npz", "--space", "nb201", "--metric", "acc"], "has choice 4.29497e+09"),
    (["generate", "--table", "{files}/dups.npz", "--space", "nb201", "--metric", "acc"], "duplicate row"),
    (["generate", "--table", "{files}/allnan.npz", "--space", "nb201", "--metric", "acc"], "has no finite value"),
    (["generate", "--table", "{files}/three.npz", "--space", "nb201", "--metric", "acc", "--minimise", "--maximise"],
     "exclude each other"),
    # constraints
    (["generate", "--constraint", "latency"], "constraint must look like 'METRIC<=VALUE'"),
    (["generate", "--constraint", "latency<=abc"], "constraint bound must be a number"),
    (["generate", "--constraint", "latency<=nan"], "constraint bound must be finite"),
    (["generate", "--constraint", "speed<=1"], "unknown metric 'speed'"),
    (["generate", "--constraint", "latency<=-1"], "no architecture of nasbench_graph/cora:test satisfies latency<=-1"),
    # pgnag
    (["generate", "--method", "pgnag", "--prior-from", "nb201", "--seeds", "1"], "--prior-from takes BENCHMARK:DATASET"),
    (["generate", "--method", "pgnag", "--prior-from", "nb201:mnist", "--data-dir", "{data}"], "unknown dataset 'mnist'"),
    # diffusionnag checkpoints
    (["generate", "--method", "diffusionnag", "--checkpoint", "{files}/nope", "--benchmark", "nb201",
      "--data-dir", "{data}"], "is not a folder"),
    (["generate", "--method", "diffusionnag", "--checkpoint", "{files}", "--benchmark", "nb201",
      "--data-dir", "{data}"], "is not a jaxnag score checkpoint"),
    # train-score: every numeric flag, before training
    (["train-score", "--out", "{tmp}/ck", "--lr", "nan"], "--lr must be finite"),
    (["train-score", "--out", "{tmp}/ck", "--lr", "0"], "--lr must be in (0, inf]"),
    (["train-score", "--out", "{tmp}/ck", "--batch", "0"], "--batch must be an integer >= 1"),
    (["train-score", "--out", "{tmp}/ck", "--sigma-max", "0"], "--sigma-max must be in (0.1, inf]"),
    (["train-score", "--out", "{tmp}/ck", "--iterations", "0"], "--iterations must be an integer >= 1"),
    (["train-score", "--out", "{tmp}/ck", "--log-every", "0"], "--log-every must be an integer >= 1"),
    (["train-score", "--out", "{tmp}/ck", "--log-every", "-1"], "--log-every must be an integer >= 1"),
    (["train-score", "--out", "{tmp}/ck", "--ckpt-every", "0"], "--ckpt-every must be an integer >= 1"),
    (["train-score", "--out", "{tmp}/ck", "--validity-samples", "-1"], "--validity-samples must be an integer >= 0"),
    (["train-score", "--out", "{tmp}/ck", "--space", "nb999"], "unknown search space 'nb999'"),
    (["train-score", "--out", "{files}/afile"], "is a file, not a folder"),
    (["train-score", "--out", "{files}"], "is not empty and is not a jaxnag score checkpoint"),
    # prior
    (["prior", "--k", "-3"], "--k must be an integer >= 1"),
    (["prior", "--k", "0"], "--k must be an integer >= 1"),
    (["prior", "--budget", "0"], "--budget must be an integer in [1, 26206]"),
    (["prior", "--seed", "-1"], "--seed must be an integer in [0, 4294967295]"),
    (["prior", "--benchmark", "nb999"], "unknown benchmark"),
    (["prior", "--k", "60", "--budget", "50"], "--k 60 is more than the 50 architectures queried (--budget)"),
    (["prior", "--plot", "{files}/nodir/h.png"], "the folder {files}/nodir does not exist"),
    (["prior", "--plot", "{files}/three.npz"], "exists; nothing is overwritten (pass --overwrite"),
    (["prior", "--plot", "{files}"], "is a folder; name a file"),
    (["prior", "--plot", ""], "--plot is empty"),
    # data
    (["data", "import-nats", "{files}/nope", "--out", "{tmp}/x.npz"], "does not exist"),
    (["data", "import-nats", "{files}/nope", "--out", "{files}/three.npz"], "exists; nothing is overwritten"),
    (["data", "import-nats", "{files}/nope", "--out", "{files}/nodir/t.npz"], "the folder {files}/nodir does not exist"),
    (["data", "import-nats", "{files}/nope", "--out", ""], "--out is empty"),
    (["data", "import-nats", "{files}/nope", "--out", "{files}/three"], "{files}/three.npz exists"),
    # proxies: the output is checked before anything is scored
    (["proxies", "--proxy", "params", "--out", "{files}/three"], "--out {files}/three.npz exists; nothing is overwritten"),
    (["proxies", "--proxy", "params", "--out", "{files}/nodir/x.npz"], "the folder {files}/nodir does not exist"),
    (["proxies", "--proxy", "params", "--out", ""], "--out is empty"),
    (["proxies", "--proxy", "synflow", "--space", "nasbench_graph", "--out", "{tmp}/s.npz"], "nasbench_graph"),
    (["proxies", "--proxy", "nwot", "--out", "{tmp}/s.npz"], "reads images: pass --data"),
    (["proxies", "--proxy", "magic", "--out", "{tmp}/s.npz"], "unknown proxy 'magic'"),
    # flags that do not go together, and sizes beyond what JAX takes
    (["generate", "--proxy", "params", "--benchmark", "nb201"], "--benchmark does not apply"),
    (["generate", "--proxy", "params", "--table", "{files}/three.npz", "--metric", "acc"], "do not apply"),
    (["generate", "--seeds", "99999999999999999999"], "--seeds must be an integer in [1, 2147483647]"),
    (["generate", "--surrogate-query", "0"], "--surrogate-query must be an integer >= 1"),
    (["generate", "--method", "ednag", "--surrogate-query", "100000"], "query (100000; --surrogate-query on the "
     "command line) is more than the 30 architectures ednag proposes per round"),
    (["generate", "--method", "pgnag", "--benchmark", "nb201", "--data-dir", "{data}", "--prior-from",
      "nasbench_graph:cora"], "cannot map nasbench_graph onto nb201"),
    # PG-NAG on a proxy: its prior from B proxy queries or from a table, never from the whole space
    (["generate", "--method", "pgnag", "--proxy", "params"], "this fitness is not a table: pass --budget B"),
    (["generate", "--method", "pgnag", "--proxy", "params", "--space", "darts", "--data-dir", "{data}",
      "--prior-from", "nb201:cifar10", "--map-by", "op"], "use sampler='direct'"),
    (["generate", "--method", "diffusionnag", "--proxy", "params"], "--checkpoint DIR is needed"),
    (["generate", "--method", "rea", "--proxy", "params", "--data-dir", "{data}"], "--data-dir does not apply"),
]


@pytest.mark.parametrize("argv, message", CLI_CASES, ids=[" ".join(a)[:60] for a, _ in CLI_CASES])
def test_cli_bad_input_one_line(capsys, files, data_dir, tmp_path, argv, message):
    argv = [a.format(files=files, data=data_dir, tmp=tmp_path) for a in argv]
    message = message.format(files=files, data=data_dir, tmp=tmp_path)
    before = sorted(p.name for p in files.iterdir())
    one_line_error(capsys, argv, message)
    assert sorted(p.name for p in files.iterdir()) == before  # nothing created, nothing lost
    assert not (tmp_path / "ck").exists() or not any((tmp_path / "ck").iterdir())


def test_plot_without_matplotlib_is_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    one_line_error(capsys, ["prior", "--plot", str(tmp_path / "h.png")], "--plot needs matplotlib")
    assert not (tmp_path / "h.png").exists()


def test_too_many_seeds_answers_with_what_fits(capsys):
    code, out, err = run(capsys, "generate", "--method", "ednag", "--seeds", "100000000")
    assert code == 2 and "fit in one call" in err and "GiB" in err and len(err.strip().splitlines()) == 2
    fit = int(err.split("at most ")[1].split()[0])
    assert 0 < fit < 100_000_000


def test_json_is_standard_and_records_the_run(capsys, files):
    code, out, err = run(capsys, "generate", "--method", "rea", "--table", files / "three.npz", "--space", "nb201",
                         "--metric", "acc", "--seeds", "2", "--budget", "20", "--seed", "7", "--json")
    assert code == 0, err
    obj = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert obj["seed"] == 7 and obj["config"]["budget"] == 20 and obj["version"]
    # 20 random queries among 15,625 cells never meet the 3 rows: no best, said plainly.
    assert all(r["best_score"] is None and r["best_arch"] is None for r in obj["runs"]) and obj["hit_rate"] == 0.0
    code, out, err = run(capsys, "generate", "--method", "rea", "--table", files / "three.npz", "--space", "nb201",
                         "--metric", "acc", "--seeds", "2", "--budget", "20")
    assert "2 of 2 runs found no architecture that has a finite metric" in out and "inf" not in out


def test_debug_shows_the_traceback(capsys):
    with pytest.raises(errors.ConfigError):
        main(["--debug", "generate", "--seeds", "0"])


def test_interrupt_is_one_line(capsys, monkeypatch):
    import jaxnag.cli as cli

    def boom(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "_cmd_spaces", boom)
    code, out, err = run(capsys, "spaces")
    assert code == 130 and err.strip() == "jaxnag: interrupted"


def test_missing_optional_dependency_is_one_line(capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "evosax", None)  # as if evosax were not installed
    one_line_error(capsys, ["generate", "--method", "evosax", "--seeds", "1"],
                   "the evosax baselines need evosax: pip install 'jaxnag[baselines]'")


def test_library_bug_keeps_its_traceback(monkeypatch):
    import jaxnag.cli as cli

    def bug(args):
        raise ValueError("an internal bug")
    monkeypatch.setattr(cli, "_cmd_spaces", bug)
    with pytest.raises(ValueError, match="an internal bug"):
        main(["spaces"])


# --------------------------------------------------------------------------- API
def _api_cases():
    from jaxnag import ednag, pgnag, prior
    from jaxnag.baselines import random_search, rea
    from jaxnag.diffusionnag import generator, guidance, train
    from jaxnag.discrete.train import DenoiserTrainConfig as DenoiserConfig
    key = jax.random.key(0)
    t = tables.from_arrays(NB201, NB201.all_ops()[:50], np.arange(50, dtype=np.float32))
    few = tables.from_arrays(NB201, NB201.all_ops()[1::1302], np.arange(12, dtype=np.float32))
    return [
        (lambda: ednag.Config(temperature=float("nan")), errors.ConfigError, "temperature must be finite"),
        (lambda: ednag.Config(temperature=0.0), errors.ConfigError, "temperature must be in (0, inf]"),
        (lambda: ednag.Config(noise=-1.0), errors.ConfigError, "noise must be in [0, inf]"),
        (lambda: ednag.Config(mutation_rate=1.5), errors.ConfigError, "mutation_rate must be in [0, 1]"),
        (lambda: ednag.Config(elite_rate=float("inf")), errors.ConfigError, "elite_rate must be finite"),
        (lambda: ednag.Config(task_scale=0.0), errors.ConfigError, "task_scale must be in (0, inf]"),
        (lambda: ednag.Config(population=2.5), errors.ConfigError, "population must be an integer"),
        (lambda: ednag.Config(shaping="magic"), errors.UnknownName, "unknown shaping 'magic'"),
        (lambda: ednag.Config().batched(temperature=[1.0, float("nan")]), errors.ConfigError, "must be finite"),
        (lambda: rea(key, t, NB201, budget=20_000), errors.ConfigError, "budget must be an integer in [1, 15625]"),
        (lambda: rea(key, t, NB201, budget=10, sample=60), errors.ConfigError, "sample must be an integer in [1, 50]"),
        (lambda: random_search(key, t, NB201, budget=0), errors.ConfigError, "budget must be an integer in [1, 15625]"),
        (lambda: prior.score_table(key, t, k=-3), errors.ConfigError, "k must be an integer >= 1"),
        (lambda: prior.score_table(key, t, k=5, eps=1.0), errors.ConfigError, "eps must be in [0, 1)"),
        (lambda: prior.score_table(key, t, method="magic"), errors.UnknownName, "unknown scoring method"),
        (lambda: pgnag.Config(temperature=float("nan")), errors.ConfigError, "temperature must be finite"),
        (lambda: pgnag.Config(prior_budget=-1), errors.ConfigError, "budget must be an integer >= 1"),
        # A table of 12 spread-out cells lacks most coalition lookups: the prior would be meaningless.
        (lambda: pgnag.report(key, few, few, pgnag.Config(k=5, prior_method="loo", sampler="direct", samples=10)),
         errors.DataError, "of the coalition lookups Shapley scoring needs"),
        (lambda: DenoiserConfig(lr=float("nan")), errors.ConfigError, "lr must be finite"),
        (lambda: DenoiserConfig(d=30, heads=4), errors.ConfigError, "multiple of heads"),
        (lambda: train.ScoreTrainConfig(lr=float("nan")), errors.ConfigError, "lr must be finite"),
        (lambda: train.ScoreTrainConfig(batch=0), errors.ConfigError, "batch must be an integer >= 1"),
        (lambda: train.ScoreTrainConfig(sigma_max=0.05), errors.ConfigError, "sigma_max must be in (0.1, inf]"),
        (lambda: train.ScoreTrainConfig(log_every=0), errors.ConfigError, "log_every must be an integer >= 1"),
        (lambda: train.ScoreTrainConfig(net="huge"), errors.UnknownName, "unknown network config 'huge'"),
        (lambda: generator.Config(guidance_scale=float("nan")), errors.ConfigError, "guidance_scale must be finite"),
        (lambda: generator.Config(pc_steps=1), errors.ConfigError, "pc_steps must be an integer >= 2"),
        (lambda: generator.Config(top=600), errors.ConfigError, "top (600) cannot exceed the samples generated (256)"),
        (lambda: guidance.PredictorConfig(target="mse"), errors.UnknownName, "unknown predictor target 'mse'"),
        (lambda: NB201.check(np.array([[2**33, 0, 0, 0, 0, 0]], np.int64)), errors.InvalidArchitecture, "has choice"),
        (lambda: t(np.array([2**33, 0, 0, 0, 0, 0], np.int64)), errors.InvalidArchitecture, "outside the int32 range"),
        (lambda: NB201.from_string("|conv~0|"), errors.InvalidArchitecture, "must have 3 nodes"),
        (lambda: tables.load("nb201", "cifar10", metric="valid_acc"), errors.UnknownName, "unknown metric"),
        (lambda: tables.from_arrays(NB201, NB201.all_ops()[:2], [1.0, 2.0], goal="up"), errors.DataError,
         "goal must be 'max' or 'min'"),
        (lambda: tables.stack([]), errors.ConfigError, "at least one table"),
    ]


API_IDS = ["ednag-temp-nan", "ednag-temp-0", "ednag-noise", "ednag-mut-rate", "ednag-elite-inf", "ednag-scale",
           "ednag-pop-float", "ednag-shaping", "ednag-batched-nan", "rea-budget", "rea-sample", "random-budget",
           "prior-k", "prior-eps", "prior-method", "pgnag-temp", "pgnag-budget", "pgnag-missing", "denoiser-lr", "denoiser-heads",
           "score-lr", "score-batch", "score-sigma", "score-log-every", "score-net", "generator-scale",
           "generator-steps", "generator-top", "predictor-target", "check-int64", "table-int64", "arch-string", "metric", "goal", "stack"]


@pytest.mark.parametrize("i", range(len(API_IDS)), ids=API_IDS)
def test_api_bad_input_raises_jaxnag_error(i):
    fn, kind, message = _api_cases()[i]
    with pytest.raises(kind, match=None) as info:
        fn()
    assert message in str(info.value) and isinstance(info.value, errors.JaxnagError)


def test_enough_cases():
    assert len(CLI_CASES) + len(API_IDS) >= 60


# --------------------------------------------------------------------------- random bytes
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(min_size=0, max_size=4096))
def test_random_bytes_as_table_never_traceback(capsys, tmp_path, blob):
    path = tmp_path / "t.npz"
    path.write_bytes(blob)
    code, out, err = run(capsys, "generate", "--method", "random", "--table", path, "--space", "nb201",
                         "--metric", "acc", "--seeds", "1", "--budget", "5")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow  # >= 6 s on 2 cores
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(min_size=0, max_size=2048), which=st.sampled_from(["marker", "run", "step"]))
def test_random_bytes_as_checkpoint_never_traceback(capsys, tmp_path, data_dir, blob, which):
    from jaxnag.diffusionnag import train
    ck = tmp_path / "ck"
    run_dir = ck / "runs" / "0"
    (run_dir / "10" / "default").mkdir(parents=True, exist_ok=True)
    (ck / train.MARKER).write_text(json.dumps(dict(format=1, space="nb201", train={})))
    (run_dir / "run.json").write_text(json.dumps(dict(train={})))
    target = {"marker": ck / train.MARKER, "run": run_dir / "run.json",
              "step": run_dir / "10" / "default" / "_METADATA"}[which]
    target.write_bytes(blob)
    code, out, err = run(capsys, "generate", "--method", "diffusionnag", "--checkpoint", ck, "--benchmark", "nb201",
                         "--data-dir", data_dir, "--seeds", "1")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert math.isfinite(len(err))


# --------------------------------------------------------------------------- a host fitness that answers wrongly
@pytest.mark.parametrize("answer, message", [
    (lambda ops: None, "evaluate returned None for"),
    (lambda ops: 1.0, "one value per architecture"),
    (lambda ops: np.ones(len(ops) + 1), "one value per architecture"),
    (lambda ops: ["a"] * len(ops), "must return numbers"),
    ("not a function", "evaluate must be a callable"),
])
def test_protocol_run_refuses_a_wrong_answer(answer, message):
    """protocol.run never broadcasts a scalar nor reads None as NaN: a host fitness must give one number
    per architecture (NaN for a failed evaluation)."""
    from jaxnag import protocol, registry
    gen = registry.get("random")
    cfg = gen.config(NB201, budget=4)
    with pytest.raises(errors.ConfigError, match=None) as info:
        protocol.run(gen, jax.random.key(0), answer, NB201, cfg)
    assert message in str(info.value)


def test_a_prior_budget_above_the_query_budget_is_refused_before_compiling(capsys, data_dir):
    """PG-NAG scoring its prior on 50 target queries cannot run under a budget of 10: refused at trace
    time (one line after the form's and the protocol's notes), not after the run."""
    code, out, err = run(capsys, "generate", "--method", "pgnag", "--benchmark", "nb201", "--data-dir", data_dir,
                         "--prior-budget", "50", "--budget", "10")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 3 and "Traceback" not in err and "compiling" not in err, err
    assert "query-efficient form" in lines[0]  # --budget chose PG-NAG's iterative form (the budget's note)
    assert lines[1].startswith("jaxnag: pgnag protocol: budgeted")
    assert "can make up to 56 unique target queries (scoring its prior: the random draws and the Shapley coalitions " \
           "of the top-k), more than the query budget 10" in lines[2]  # 50 draws, the form's k = 1: 6 coalitions


@pytest.mark.slow  # a fresh process (and the probe it starts): 5-10 s
def test_a_platform_this_machine_lacks_is_one_line():
    """JAX_PLATFORMS naming a platform that is not here: one line listing the platforms that are."""
    import os
    import subprocess
    import sys
    env = {**os.environ, "JAX_PLATFORMS": "tpu"}
    proc = subprocess.run([sys.executable, "-m", "jaxnag.cli", "generate", "--method", "random", "--budget", "5",
                           "--seeds", "1"], env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode == 0:
        pytest.skip("this machine has a TPU")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    line, = proc.stderr.strip().splitlines()
    assert line.startswith("jaxnag: error: JAX_PLATFORMS=tpu: this machine cannot run it") and "platforms present: " \
        in line and "cpu" in line.split("platforms present: ")[1], line


@pytest.mark.parametrize("ro", [False, True], ids=["full", "read-only"])
def test_proxies_into_a_full_or_read_only_file_system(capsys, mount_tmpfs, ro):
    """`proxies --out` on a 64 KiB file system (the table needs about 440 KiB), and on a read-only one:
    one line, and nothing left behind (no 0-byte file to block the rerun, no temporary file)."""
    fs = mount_tmpfs("16k", ro=ro)
    one_line_error(capsys, ["proxies", "--proxy", "params", "--out", fs / "params.npz"],
                   "read-only" if ro else "no space left")
    assert sorted(p.name for p in fs.iterdir()) == []
