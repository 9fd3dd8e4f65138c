import json
import subprocess
import sys

import numpy as np
import pytest

from jaxnag.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_spaces_and_benchmarks(capsys, data_dir):
    code, out, _ = run(capsys, "spaces")
    assert code == 0 and "nb201" in out and "nasbench_graph" in out
    code, out, _ = run(capsys, "spaces", "--json")
    assert {r["name"] for r in json.loads(out)} == {"nb201", "tnb101_micro", "nasbench_graph"}
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
