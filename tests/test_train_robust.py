"""`jaxnag train` is careful: nothing of the user's is overwritten, every bad input is one line before any
compilation, saves are all or nothing (a full disk included), and Ctrl-C stops within a step, saves the
weights so far and exits 130: never a crash, never a process left running."""

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnag import cli, data, errors, outputs, train

CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
NONE_CELL = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
SMALL = ["--epochs", "2", "--batch-size", "16", "--channels", "4", "--cells", "1"]


def _images(n=64, side=8, classes=3, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = (rng.normal(size=(n, side, side, channels)) + y[:, None, None, None]).astype(np.float32)
    return x, y


def _npz(path, x, y):
    np.savez(path, x=x, y=y)  # not data.save: these files are meant to be refused
    return str(path)


def snapshot(folder):
    """Every file under ``folder`` (hidden ones included) with a hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def run_cli(argv, capsys):
    """``jaxnag ARGV`` in this process: (exit status, stderr lines)."""
    capsys.readouterr()
    rc = cli.main(argv)
    err = capsys.readouterr().err
    return rc, err.strip().splitlines()


def one_line(rc, lines, *words):
    assert rc == 2, lines
    assert len(lines) == 1 and lines[0].startswith("jaxnag"), lines
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def dataset(tmp_path):
    return _npz(tmp_path / "d.npz", *_images())


def fill(folder, leave: int = 0):
    """Fill ``folder``'s file system with a user's file, leaving about ``leave`` bytes free."""
    path = Path(folder) / "users-file.bin"
    free = shutil.disk_usage(folder).free
    with open(path, "wb") as f:
        try:
            f.write(os.urandom(max(free - leave, 0)))
        except OSError:
            pass
    return path


# ----------------------------------------------------------------------------- --out, checked first
def test_existing_folder_is_never_touched(tmp_path, dataset, capsys):
    run1 = tmp_path / "run1"
    run1.mkdir()
    (run1 / "metrics.json").write_text('{"mine": true}')
    (run1 / "notes.txt").write_text("keep")
    before = snapshot(run1)
    line = one_line(*run_cli(["train", "--arch", CELL, "--data", dataset, "--out", str(run1)] + SMALL, capsys),
                    "--out", "nothing is overwritten")
    assert "holds other files" in line
    assert snapshot(run1) == before


def test_out_checked_before_the_data_is_read(tmp_path, capsys):
    # the --data file does not exist: the --out error comes first, before anything is loaded
    (tmp_path / "afile").write_text("mine")
    one_line(*run_cli(["train", "--arch", CELL, "--data", str(tmp_path / "absent.npz"), "--out",
                       str(tmp_path / "afile")], capsys), "--out", "is a file")
    assert (tmp_path / "afile").read_text() == "mine"
    one_line(*run_cli(["train", "--arch", CELL, "--data", str(tmp_path / "absent.npz"), "--out",
                       str(tmp_path / "no" / "run")], capsys), "--out", "does not exist")
    assert not (tmp_path / "no").exists()


def test_read_only_and_full_file_systems_up_front(mount_tmpfs, dataset, capsys):
    ro = mount_tmpfs("64k", ro=True)
    one_line(*run_cli(["train", "--arch", CELL, "--data", dataset, "--out", str(ro / "run")], capsys),
             "--out", "read-only")
    full = mount_tmpfs("64k")
    filler = fill(full)
    before = snapshot(full)
    one_line(*run_cli(["train", "--arch", CELL, "--data", dataset, "--out", str(full / "run")], capsys),
             "--out", "no space left")
    assert snapshot(full) == before and sorted(os.listdir(full)) == [filler.name]


def test_api_checks_out_first(tmp_path):
    x, y = _images()
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(outputs.OutputError, match="is a file"):
        train.train(CELL, (x, y), epochs=1, batch_size=16, channels=2, cells=1, out=tmp_path / "afile")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("{}")
    with pytest.raises(errors.CheckpointError, match="exists"):
        train.train(CELL, (x, y), epochs=1, batch_size=16, channels=2, cells=1, out=tmp_path / "run")
    (tmp_path / "run2").mkdir()
    (tmp_path / "run2" / "other").write_text("x")
    with pytest.raises(outputs.OutputError, match="holds other files"):
        train.train(CELL, (x, y), epochs=1, batch_size=16, channels=2, cells=1, out=tmp_path / "run2")
    assert (tmp_path / "afile").read_text() == "mine" and (tmp_path / "run2" / "other").read_text() == "x"


# ----------------------------------------------------------------------------- meaningless networks and data
def test_disconnected_cell_is_refused(tmp_path, dataset, capsys):
    one_line(*run_cli(["train", "--arch", NONE_CELL, "--data", dataset, "--out", str(tmp_path / "r")], capsys),
             "--arch", "does not connect")
    # conv edges that never reach node 3 are no better
    one_line(*run_cli(["train", "--arch", "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|",
                       "--data", dataset, "--out", str(tmp_path / "r")], capsys), "--arch", "does not connect")
    x, y = _images()
    with pytest.raises(errors.InvalidArchitecture, match="does not connect"):
        train.train(NONE_CELL, (x, y), epochs=1, batch_size=16, channels=2, cells=1)
    with pytest.raises(errors.InvalidArchitecture, match="does not connect"):
        train.train([0] * 6, (x, y), epochs=1, batch_size=16, channels=2, cells=1)
    assert not (tmp_path / "r").exists()


def test_nonsense_labels_are_refused(tmp_path, capsys):
    x, y = _images()
    big = _npz(tmp_path / "big.npz", x, y * 10**8)
    line = one_line(*run_cli(["train", "--arch", CELL, "--data", big, "--out", str(tmp_path / "r")], capsys),
                    "np.unique(y, return_inverse=True)", "--classes", "largest label + 1")
    assert "200,000,001 classes" in line
    with pytest.raises(errors.DataError, match="return_inverse"):
        data.check(x, y * 10**8)
    with pytest.raises(errors.DataError, match="return_inverse"):
        data.check(x, y * 1000)  # 2,001 classes, 3 of them used
    data.check(x, y * 10)  # 21 classes, a few unused: fine
    with pytest.raises(errors.ConfigError, match="classes"):
        data.check(x, y, classes=10**9)
    with pytest.raises(errors.ConfigError, match="classes"):
        train.train(CELL, (x, y), epochs=1, batch_size=16, channels=2, cells=1, classes=10**6)
    with pytest.raises(errors.DataError, match="return_inverse"):
        train.train(CELL, (x, y * 10**8), epochs=1, batch_size=16, channels=2, cells=1)


def test_absurd_pixels_are_refused(tmp_path, capsys):
    x, y = _images()
    huge = _npz(tmp_path / "huge.npz", x * 1e30, y)
    one_line(*run_cli(["train", "--arch", CELL, "--data", huge, "--out", str(tmp_path / "r")], capsys),
             "normalise", "e+30")
    nan = x.copy()
    nan[0, 0, 0, 0] = np.nan
    one_line(*run_cli(["train", "--arch", CELL, "--data", _npz(tmp_path / "nan.npz", nan, y), "--out",
                       str(tmp_path / "r")], capsys), "NaN")
    with pytest.raises(errors.DataError, match="normalise"):
        data.check(x * 1e30, y)
    with pytest.raises(errors.DataError, match="NaN or infinite"):
        data.check(x.astype(np.float64) * 1e300, y)  # beyond float32
    data.check((x * 40 + 128).clip(0, 255).astype(np.uint8), y)  # raw 0..255 images are fine


def test_test_images_must_match(tmp_path, dataset, capsys):
    x, y = _images()
    for name, xt in (("res", _images(16, side=16)[0]), ("chan", _images(16, channels=1)[0])):
        line = one_line(*run_cli(["train", "--arch", CELL, "--data", dataset, "--test",
                                  _npz(tmp_path / f"{name}.npz", xt, y[:16]), "--out", str(tmp_path / "r")], capsys),
                        "--test", "same resolution and channels")
        assert "8x8x3" in line
        with pytest.raises(errors.DataError, match="same resolution"):
            train.train(CELL, (x, y), (xt, y[:16]), epochs=1, batch_size=16, channels=2, cells=1)


# ----------------------------------------------------------------------------- errors name the flags typed
@pytest.mark.parametrize("extra, words", [
    (["--split", "1"], ["--split"]),
    (["--split", "0"], ["--split"]),
    (["--split", "0.999"], ["--split 0.999"]),
    (["--classes", "2"], ["--classes 2", "labels reach 2"]),
    (["--classes", "1000000"], ["--classes"]),
    (["--batch-size", "100"], ["--batch-size 100", "--split 0.8"]),
    (["--epochs", "0"], ["--epochs"]),
    (["--lr", "-1"], ["--lr"]),
    (["--channels", "0"], ["--channels"]),
    (["--seed", "-1"], ["--seed"]),
    (["--recipe", "darts", "--lr", "0"], ["--lr"]),
    (["--recipe", "darts"], ["--recipe darts trains DARTS networks (an auxiliary head, drop-path); --space is nb201"]),
])
def test_errors_name_the_flag(tmp_path, dataset, capsys, extra, words):
    line = one_line(*run_cli(["train", "--arch", CELL, "--data", dataset, "--out", str(tmp_path / "r")] + extra,
                             capsys), *words)
    assert "fraction" not in line and "batch_size" not in line and "learning_rate" not in line
    assert not (tmp_path / "r").exists()


def test_api_checks_arguments():
    x, y = _images()
    small = dict(epochs=1, batch_size=16, channels=2, cells=1)
    with pytest.raises(errors.InvalidArchitecture):
        train.train([9] * 6, (x, y), **small)
    with pytest.raises(errors.DataError, match="pair"):
        train.train(CELL, x, **small)
    with pytest.raises(errors.DataError, match="height, width, channels"):
        train.train(CELL, (x[..., 0], y), **small)
    with pytest.raises(errors.ConfigError, match="learning_rate"):
        train.train(CELL, (x, y), **small, learning_rate=float("nan"))
    with pytest.raises(errors.ConfigError, match="channels"):
        train.train(CELL, (x, y), **dict(small, channels=0))
    with pytest.raises(errors.DataError, match="largest training label"):
        train.train(CELL, (x, y), (x[:16], y[:16] + 5), **small)


# ----------------------------------------------------------------------------- full disk while saving
def _state(n=40):
    return {f"w{i}": jax.random.normal(jax.random.key(i), (1500,)) for i in range(n)}


def test_full_disk_while_saving_leaves_nothing(mount_tmpfs):
    """A save that does not fit: refused up front when it cannot fit; when the disk fills during the write
    (the up-front estimate bypassed), still one error, and no orbax temporary folder or partial file."""
    fs = mount_tmpfs("256k")
    filler = fill(fs, leave=48 * 1024)
    before = snapshot(fs)
    with pytest.raises(outputs.OutputError, match="no space left on the device: it needs"):
        train._save(fs / "run", _state(), {"ops": [1] * 6})
    assert snapshot(fs) == before
    real = train._check_space
    try:
        train._check_space = lambda *a: None
        with pytest.raises(outputs.OutputError, match=r"^out .*checkpoint: cannot save the checkpoint \(no space"):
            train._save(fs / "run", _state(), {"ops": [1] * 6})
    finally:
        train._check_space = real
    time.sleep(0.5)  # writes still in flight would show up now
    assert sorted(os.listdir(fs)) == [filler.name] and snapshot(fs) == before


def test_full_disk_is_not_called_out_of_memory(monkeypatch, capsys):
    """tensorstore reports a full disk as RESOURCE_EXHAUSTED, which cli.main also reads as out of memory."""
    def full(args):
        raise ValueError('RESOURCE_EXHAUSTED: Error writing "a/0": Failed to write 7866 bytes to file 17: No space '
                         "left on device [os_error_code='28']")
    monkeypatch.setattr(cli, "_cmd_train", full)
    rc, lines = run_cli(["train", "--arch", CELL, "--data", "x", "--out", "y"], capsys)
    line = one_line(rc, lines, "no space left on the device")
    assert "memory" not in line and "--seeds" not in line


@pytest.mark.slow  # trains (compiles) a small network: 20-60 s on 2 cores
def test_full_disk_after_training_is_one_line(mount_tmpfs, tmp_path, dataset, capsys, monkeypatch):
    fs = mount_tmpfs("256k")
    filler = fill(fs, leave=40 * 1024)
    before = snapshot(fs)
    monkeypatch.setattr(train, "_check_space", lambda *a: None)  # the disk fills during the write itself
    line = one_line(*run_cli(["train", "--arch", CELL, "--data", dataset, "--out", str(fs / "run")] + SMALL, capsys),
                    "--out", "no space left on the device")
    assert "RESOURCE_EXHAUSTED" not in line and "memory" not in line
    time.sleep(0.5)
    assert sorted(os.listdir(fs)) == [filler.name] and snapshot(fs) == before


# ----------------------------------------------------------------------------- results and Ctrl-C in process
def _reference(ops, x, y, epochs, batch_size, channels, cells, seed):
    """The training as it was before chunking: one jitted ``lax.scan`` per epoch (:func:`train._epoch_fn`)."""
    from flax import nnx

    from jaxnag.models import nb201
    classes = int(y.max()) + 1
    net = nb201.Network(ops, channels=channels, cells=cells, classes=classes, in_channels=x.shape[-1],
                        rngs=nnx.Rngs(seed))
    graphdef, params, rest = nnx.split(net, nnx.Param, ...)
    tx = train._optimizer(train.Schedule(epochs, batch_size), epochs * (len(x) // batch_size))
    opt_state = tx.init(params)
    epoch = jax.jit(train._epoch_fn(graphdef, tx, batch_size, len(x)))
    key, losses = jax.random.key(seed), []
    for e in range(epochs):
        params, rest, opt_state, loss, _ = epoch(params, rest, opt_state, jax.random.fold_in(key, e), jnp.asarray(x),
                                                 jnp.asarray(y))
        losses.append(float(loss))
    return nnx.state(nnx.merge(graphdef, params, rest)), losses


@pytest.mark.slow  # two trainings: 40-90 s on 2 cores
def test_chunked_steps_are_bit_identical_to_whole_epochs(monkeypatch):
    x, y = _images(72)
    monkeypatch.setattr(train, "CHUNK_SECONDS", 1e-9)  # every chunk one step
    run = train.train(CELL, (x, y), epochs=2, batch_size=16, channels=4, cells=1, seed=3)
    state, losses = _reference(CELL, x, y, 2, 16, 4, 1, 3)
    from flax import nnx
    got, want = jax.tree.leaves(nnx.state(run.network)), jax.tree.leaves(state)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert [r["train_loss"] for r in run.history] == losses


@pytest.mark.slow  # trains a small network: 20-60 s on 2 cores
def test_ctrl_c_mid_epoch_saves_and_says_where(tmp_path, dataset, capsys, monkeypatch):
    """A real SIGINT during the 6th chunk of 1 step (epoch 2, step 2 of 3): the weights so far are saved,
    metrics.json says where, one line, status 130; the estimate line came first."""
    handler = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(train, "CHUNK_SECONDS", 1e-9)
    monkeypatch.setattr(train, "ESTIMATE_AFTER", 0.0)
    real, calls = train._compile, []

    def compile_and_count(jobs, stop):
        order_of, chunk, *rest = real(jobs, stop)

        def counted(*a):
            calls.append(int(a[-3]) - int(a[-4]))  # (..., start, stop, key, epoch)
            out = chunk(*a)
            if len(calls) == 5:
                signal.raise_signal(signal.SIGINT)  # Ctrl-C while the 5th chunk runs
            return out
        return [order_of, counted, *rest]
    monkeypatch.setattr(train, "_compile", compile_and_count)
    out = tmp_path / "run"
    rc, lines = run_cli(["train", "--arch", CELL, "--data", dataset, "--out", str(out), "--epochs", "50",
                         "--batch-size", "16", "--channels", "4", "--cells", "1"], capsys)
    assert rc == 130, lines
    assert len(lines) == 2 and lines[0].startswith("jaxnag: training will take about"), lines
    assert lines[1].startswith("jaxnag: interrupted at epoch 2 step 2/3") and "saved" in lines[1], lines
    assert calls == [1] * 5  # the bar moved per chunk, and nothing ran after Ctrl-C
    meta = json.loads((out / "metrics.json").read_text())
    assert meta["interrupted"] == dict(epoch=2, step=2, steps=3) and len(meta["history"]) == 1
    assert sorted(os.listdir(out)) == ["checkpoint", "metrics.json"]
    net = train.load(out)
    x = jnp.asarray(np.load(dataset)["x"][:4])
    assert np.isfinite(np.asarray(net(x))).all()
    assert signal.getsignal(signal.SIGINT) is handler  # the handler is given back


# ----------------------------------------------------------------------------- Ctrl-C in a real process
def _jax_loaded(pid: int) -> bool:
    try:
        return "jaxlib" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.slow  # several real processes: 1-3 min
def test_sigint_at_random_points_exits_130_promptly(tmp_path):
    """SIGINT at seeded random moments (during start-up, compilation, training or saving) into a real
    `jaxnag train`: every trial exits 130 (or 0 when it finished first) within seconds, never by a signal
    (a crash), with one last line and no traceback; what it saved is complete and loadable."""
    x, y = _images(48)
    path = _npz(tmp_path / "d.npz", x, y)
    # one persistent compilation cache for the trials: after the first, they reach training in seconds
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "cache"),
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0", "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
           "PYTHONUNBUFFERED": "1"}
    rng = random.Random(28)
    outcomes = []
    for trial in range(5):
        out = tmp_path / f"run{trial}"
        # 3,000 epochs of 3 steps: about 15 s of training on an idle 2-core CPU, after 10-20 s of start-up
        argv = [sys.executable, "-m", "jaxnag.cli", "train", "--arch", CELL, "--data", path, "--out", str(out),
                "--epochs", "3000", "--batch-size", "16", "--channels", "4", "--cells", "1"]
        # Ctrl-C as in a terminal: the child starts with SIGINT's default action. A process started in the
        # background by a non-interactive shell (as `.ci/run` may be) ignores SIGINT, its children inherit that, and
        # Python keeps an inherited SIG_IGN: a SIGINT before the command's first loop was ignored (two CI failures).
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        if trial == 4:  # the last trial is stopped during training for certain: after its first epoch line
            deadline = time.time() + 300
            while time.time() < deadline and not proc.stdout.readline().startswith("epoch"):
                assert proc.poll() is None, proc.stderr.read()
            time.sleep(rng.uniform(0.0, 2.0))
        else:  # the others at a random moment: start-up, compilation or training
            deadline = time.time() + 120
            while not _jax_loaded(proc.pid) and proc.poll() is None and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 25.0))
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=90)  # a guard against a hang, not a timing
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"trial {trial}: still running 90 s after SIGINT")
        assert proc.returncode in (0, 130), (trial, proc.returncode, err)  # never negative: no segfault
        # promptly: the trial stopped at most 2 s into ~15 s of training stops there, not at its end (no clock
        # read: a loaded machine only makes the training longer)
        assert trial != 4 or proc.returncode == 130, (trial, err)
        assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("jaxnag"), err
        assert not any(p.name.startswith(".") for p in out.glob("*")) if out.exists() else True
        if (out / "metrics.json").exists():
            meta = json.loads((out / "metrics.json").read_text())
            # an interrupted run says where it stopped; one stopped while its final save finished is complete
            assert proc.returncode == 0 or "interrupted" in meta or len(meta["history"]) == 3000, (trial, err)
            train.load(out)  # complete and loadable
            outcomes.append("saved")
        else:
            assert not out.exists() or not any(out.iterdir()), sorted(os.listdir(out))
            outcomes.append("nothing")
    assert outcomes[-1] == "saved", outcomes  # the trial stopped during training saved its weights
