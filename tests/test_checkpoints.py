"""Score checkpoints cannot lose work: run folders, exact step counts, saves at every multiple,
refusals before training, Ctrl-C saves, and a SIGKILL mid-training resumes to the same parameters."""

import hashlib
import os
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxnag import spaces
from jaxnag.diffusionnag import train
from jaxnag.errors import CheckpointError

S = spaces.get("nb201")
CFG = train.ScoreTrainConfig(iterations=25, batch=8, log_every=7, ckpt_every=10, keep=5)
X, LVL = jnp.linspace(-1, 1, 2 * 8 * 7).reshape(2, 8, 7), jnp.ones(2)


def snapshot(folder):
    """Every file under ``folder`` with a hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


_FORWARD = nnx.jit(lambda model: model(X, LVL))  # compiled once: op by op, every call would compile each operation


def out(model):
    return np.asarray(_FORWARD(model))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("ck") / "ck"
    model, info = train.train_score(jax.random.key(0), S, CFG, d, verbose=False)
    return d, model, info


def test_exact_steps_and_saves_at_every_multiple(trained):
    d, model, info = trained
    assert info["steps"] == 25 and info["saved"] == [10, 20, 25]
    assert train._steps(d / "runs" / "0") == [10, 20, 25] and train.latest_step(d) == 25
    loaded, cfg, space = train.load_score(d)
    assert cfg == CFG and space is S
    np.testing.assert_array_equal(out(loaded), out(model))


@pytest.mark.slow  # 6-13 s on 2 cores: the default run keeps to its 5-minute budget
def test_resume_equals_uninterrupted_run(trained, tmp_path):
    d, _, _ = trained
    longer = train.ScoreTrainConfig(**{**CFG.__dict__, "iterations": 33})
    import shutil
    shutil.copytree(d, tmp_path / "ck")
    resumed, info = train.train_score(jax.random.key(123), S, longer, tmp_path / "ck", verbose=False)
    assert info["steps"] == 33 and info["saved"] == [30, 33]  # the stored key is used, not key(123)
    straight, _ = train.train_score(jax.random.key(0), S, longer, tmp_path / "straight", verbose=False)
    np.testing.assert_array_equal(out(resumed), out(straight))
    # Asking for fewer iterations than done trains nothing and deletes nothing.
    before = snapshot(tmp_path / "ck")
    _, info = train.train_score(jax.random.key(0), S, CFG, tmp_path / "ck", verbose=False)
    assert info["saved"] == [] and snapshot(tmp_path / "ck") == before


def test_restart_keeps_every_earlier_step(trained, tmp_path):
    d, _, _ = trained
    import shutil
    shutil.copytree(d, tmp_path / "ck")
    before = snapshot(tmp_path / "ck")
    short = train.ScoreTrainConfig(**{**CFG.__dict__, "iterations": 5, "keep": 1})
    _, info = train.train_score(jax.random.key(1), S, short, tmp_path / "ck", resume=False, verbose=False)
    after = snapshot(tmp_path / "ck")
    assert info["run"].name == "1" and info["saved"] == [5]
    assert all(after.get(k) == v for k, v in before.items())  # nothing of run 0 changed or vanished
    assert train.latest_step(tmp_path / "ck") == 5  # the newest run is the one loaded


@pytest.mark.parametrize("setup, message", [
    (lambda d: (d / "0").mkdir(parents=True), "not a jaxnag score checkpoint"),
    (lambda d: (d.mkdir(), (d / "notes.txt").write_text("mine")), "not a jaxnag score checkpoint"),
    (lambda d: (d.mkdir(), (d / "config.json").write_text("{}")), "an older jaxnag checkpoint"),
    (lambda d: d.write_text("a file"), "is a file"),
])
def test_refuses_folders_it_does_not_own(tmp_path, setup, message):
    d = tmp_path / "out"
    setup(d)
    before = snapshot(tmp_path)
    with pytest.raises(CheckpointError, match=message):
        train.train_score(jax.random.key(0), S, CFG, d, verbose=False)
    assert snapshot(tmp_path) == before


def test_refuses_another_network_before_training(trained):
    d, _, _ = trained
    before = snapshot(d)
    for other in (dict(net="reference"), dict(lr=0.5), dict(sigma_max=4.0)):
        with pytest.raises(CheckpointError, match="another kind"):
            train.train_score(jax.random.key(0), S, train.ScoreTrainConfig(**{**CFG.__dict__, **other}), d, verbose=False)
    with pytest.raises(CheckpointError, match="space nb201 vs tnb101_micro"):
        train.train_score(jax.random.key(0), spaces.get("tnb101_micro"), CFG, d, verbose=False)
    assert snapshot(d) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only folder")
def test_refuses_read_only_folder(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    with pytest.raises(CheckpointError, match="cannot write"):
        train.train_score(jax.random.key(0), S, CFG, d / "ck", verbose=False)


@pytest.mark.slow  # about 5 s on 2 cores
def test_network_size_mismatch_is_named(trained, tmp_path):
    import json
    import shutil
    d, _, _ = trained
    shutil.copytree(d, tmp_path / "ck")
    run = tmp_path / "ck" / "runs" / "0" / "run.json"
    raw = json.loads(run.read_text())
    raw["train"]["net"] = "reference"
    run.write_text(json.dumps(raw))
    with pytest.raises(CheckpointError, match="holds a network of another size"):
        train.load_score(tmp_path / "ck")


def test_corrupt_checkpoints(trained, tmp_path):
    import shutil
    d, _, _ = trained
    with pytest.raises(CheckpointError, match="no jaxnag-score.json"):
        train.load_score(tmp_path)
    shutil.copytree(d, tmp_path / "ck")
    for f in (tmp_path / "ck" / "runs").rglob("*"):
        if f.is_file() and f.name != "run.json" and f.stat().st_size > 100:
            f.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="corrupt or incomplete"):
        train.load_score(tmp_path / "ck")
    (tmp_path / "ck" / train.MARKER).write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        train.load_score(tmp_path / "ck")
    with pytest.raises(CheckpointError, match="trained on nb201, not tnb101_micro"):
        train.load_score(d, spaces.get("tnb101_micro"))


def test_interrupted_save_leaves_previous_step_loadable(trained, tmp_path):
    import shutil
    d, _, _ = trained
    shutil.copytree(d, tmp_path / "ck")
    # What a save killed half-way leaves behind: orbax's temporary folder, never a step.
    partial = tmp_path / "ck" / "runs" / "0" / "30.orbax-checkpoint-tmp-1234"
    (partial / "default").mkdir(parents=True)
    (partial / "default" / "junk").write_bytes(b"\0" * 10)
    assert train.latest_step(tmp_path / "ck") == 25
    train.load_score(tmp_path / "ck")


@pytest.mark.slow  # >= 6 s on 2 cores
def test_ctrl_c_saves_the_current_step(tmp_path, monkeypatch):
    real = train._chunk_fn
    calls = []

    def interrupting(*a, **kw):
        chunk = real(*a, **kw)

        def wrapped(tree, n):
            calls.append(int(n))
            if len(calls) == 3:
                raise KeyboardInterrupt
            return chunk(tree, n)
        return wrapped
    monkeypatch.setattr(train, "_chunk_fn", interrupting)
    with pytest.raises(train.TrainingInterrupted, match="interrupted at step 10; saved"):
        train.train_score(jax.random.key(0), S, CFG, tmp_path / "ck", verbose=False)
    assert train.latest_step(tmp_path / "ck") == 10  # steps 7 and 10 done: the 10 is saved (a multiple)
    monkeypatch.setattr(train, "_chunk_fn", real)
    resumed, info = train.train_score(jax.random.key(0), S, CFG, tmp_path / "ck", verbose=False)
    assert info["steps"] == 25


@pytest.mark.slow
def test_sigkill_mid_training_resumes_to_the_same_parameters(tmp_path):
    """A real process killed with SIGKILL after a checkpoint, then the same command again."""
    argv = [sys.executable, "-m", "jaxnag.cli", "train-score", "--out", str(tmp_path / "ck"), "--iterations", "60",
            "--batch", "8", "--log-every", "5", "--ckpt-every", "10", "--validity-samples", "0"]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run0 = tmp_path / "ck" / "runs" / "0"
    deadline = time.time() + 300
    while time.time() < deadline and not any(s >= 20 for s in train._steps(run0)):
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = train._steps(run0)[-1]
    assert 20 <= killed_at < 60, "the process was killed mid-training"
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"resumed {run0} at step {killed_at}" in res.stderr
    resumed, _, _ = train.load_score(tmp_path / "ck")
    cfg = train.ScoreTrainConfig(iterations=60, batch=8, log_every=5, ckpt_every=10)
    straight, _ = train.train_score(jax.random.key(0), S, cfg, verbose=False)
    np.testing.assert_array_equal(out(resumed), out(straight))


@pytest.mark.slow
def test_sigint_saves_and_exits_with_one_line(tmp_path):
    argv = [sys.executable, "-m", "jaxnag.cli", "train-score", "--out", str(tmp_path / "ck"), "--iterations", "100000",
            "--batch", "8", "--log-every", "5", "--ckpt-every", "100000", "--validity-samples", "0"]
    proc = subprocess.Popen(argv, env={**os.environ, "JAX_PLATFORMS": "cpu"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    line = ""
    while time.time() < deadline and "step 10/" not in line:
        line = proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("jaxnag: error: interrupted at step") and "Traceback" not in err
    step = int(last.split("interrupted at step ")[1].split(";")[0])
    assert step >= 10 and train.latest_step(tmp_path / "ck") == step


@pytest.mark.slow  # >= 6 s on 2 cores
def test_corrupt_checkpoint_is_one_line_in_a_real_process(trained, tmp_path, data_dir):
    """orbax logs a damaged file through absl before raising: the user still sees one line."""
    import shutil
    d, _, _ = trained
    shutil.copytree(d, tmp_path / "ck")
    for f in (tmp_path / "ck" / "runs" / "0" / "25").rglob("*"):
        if f.is_file():
            f.write_bytes(b"garbage")
    res = subprocess.run([sys.executable, "-m", "jaxnag.cli", "generate", "--method", "diffusionnag", "--checkpoint",
                          str(tmp_path / "ck"), "--benchmark", "nb201", "--data-dir", str(data_dir), "--seeds", "1"],
                         env={**os.environ, "JAX_PLATFORMS": "cpu"}, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "step 25" in res.stderr and "corrupt or incomplete" in res.stderr
