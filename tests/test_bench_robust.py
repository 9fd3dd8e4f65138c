"""``jaxnag bench`` as careful as ``train-score``: every refusal is one line on stderr and exit 2 (Ctrl-C:
130), found before any cell runs where it can be, and a file the user wrote is byte-identical afterwards.

One tiny grid (random search, budget 20, two seeds on nasbench_graph/cora) is run once per module; the
other cases reuse its compiled call.
"""

import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import jax
import pytest

from jaxnag import bench, errors, outputs, parallel
from jaxnag.cli import main

GRID = ('seeds = 2\n[[benchmarks]]\nname = "nasbench_graph"\ndatasets = ["cora"]\n'
        '[[methods]]\nname = "random"\nsettings = { budget = 20 }\n')


@pytest.fixture(scope="module")
def done(tmp_path_factory, data_dir):
    """A finished run of the grid: a folder with g.toml, g.jsonl (two records), g.md and g.png."""
    d = tmp_path_factory.mktemp("done")
    (d / "g.toml").write_text(f"data_dir = {json.dumps(str(data_dir))}\n" + GRID)
    bench.run_grid(d / "g.toml", progress=False, echo=False)
    assert len(bench.read_results(d / "g.jsonl")) == 2
    return d


@pytest.fixture
def grid(tmp_path, done):
    """The grid file alone in a fresh folder."""
    shutil.copy(done / "g.toml", tmp_path / "g.toml")
    return tmp_path / "g.toml"


@pytest.fixture
def lines(done):
    """The two records of the finished run, as lines (bytes, with their line end)."""
    return (done / "g.jsonl").read_bytes().splitlines(keepends=True)


@pytest.fixture
def no_cells(monkeypatch):
    """Fail the test if anything compiles or runs a cell (what a refusal up front must not do)."""
    def ran(*args, **kwargs):
        raise AssertionError("a cell was compiled or run before the refusal")
    monkeypatch.setattr(parallel, "run_chunks", ran)
    monkeypatch.setattr(parallel, "call_memory", ran)


def cli(capsys, *argv):
    code = main(["bench", *map(str, argv), "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, argv, message, status=2):
    code, out, err = cli(capsys, *argv)
    assert code == status, (code, out, err)
    assert message in err, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("jaxnag") and "Traceback" not in err, err
    return err


def record(line: bytes, **change) -> bytes:
    return (json.dumps({**json.loads(line), **change}) + "\n").encode()


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name or ".probe" in p.name)


# --------------------------------------------------------------------------- the results file
BAD_RESULTS = [
    # (what the file holds, built from the finished run's two lines; what the error says)
    (lambda r: b"my notes\nsecond line, no line end", "line 1 is not a jaxnag bench record (not JSON"),
    (lambda r: b"my notes", "line 1 is not a jaxnag bench record (and has no line end)"),
    (lambda r: b"[1, 2]\n", "line 1 is not a jaxnag bench record (a JSON list, not an object)"),
    (lambda r: b'{"a": 1}\n', "line 1 is not a jaxnag bench record (no 'label' field)"),
    (lambda r: r[0].replace(b'"seed": 0', b'"seed": "zero"'), "line 1 is not a jaxnag bench record ('seed' is"),
    (lambda r: r[0] + b"not json\n" + r[1], "line 2 is not a jaxnag bench record (not JSON"),
    (lambda r: r[0] + b"\xff\xfe notes\n", "line 2 is not UTF-8 text"),
    (lambda r: b"\xff\xfe", "line 1 is not a jaxnag bench record (and has no line end)"),
    (lambda r: r[0] + b"not json\n" + r[1][:40], "line 2 is not a jaxnag bench record"),  # not only a cut tail
    (lambda r: record(r[0], label="ednag"), "line 1 is a result of 'ednag', which"),
    (lambda r: r[0] + record(r[1], dataset="citeseer"), "line 2 is a result on nasbench_graph/citeseer, which"),
    (lambda r: record(r[0], metric="valid"), "line 1 measures nasbench_graph/cora by 'valid'"),
    (lambda r: record(r[0], method="rea"), "line 1 is a result of method 'rea'"),
    (lambda r: record(r[0], settings={"budget": 21}), "with other settings"),
]


@pytest.mark.parametrize("content, message", BAD_RESULTS)
def test_a_results_file_that_is_not_this_grids_is_refused_untouched(tmp_path, grid, lines, capsys, no_cells,
                                                                       content, message):
    notes = tmp_path / "notes.txt"
    notes.write_bytes(data := content(lines))
    err = refused(capsys, [grid, "--out", notes], message)
    assert str(notes) in err
    assert notes.read_bytes() == data
    assert not (tmp_path / "notes.md").exists() and leftovers(tmp_path) == []


def test_read_results_reads_only(tmp_path, lines):
    path = tmp_path / "r.jsonl"
    path.write_bytes(data := lines[0] + lines[1][:30])
    assert [r["seed"] for r in bench.read_results(path)] == [0]  # the cut line is left out, not removed
    assert path.read_bytes() == data
    path.write_bytes(b"notes\n")
    with pytest.raises(errors.DataError, match="line 1 is not a jaxnag bench record"):
        bench.read_results(path)


def test_a_last_line_cut_short_by_a_kill_is_dropped_with_one_line(grid, lines, capsys):
    out = grid.with_suffix(".jsonl")
    out.write_bytes(lines[0] + lines[1][: len(lines[1]) // 2])
    code, _, err = cli(capsys, grid, "--no-plot")
    assert code == 0, err
    assert err.count("dropped its last line") == 1 and "Traceback" not in err
    records = bench.read_results(out)
    assert sorted(r["seed"] for r in records) == [0, 1] and out.read_bytes().startswith(lines[0])
    assert out.read_bytes().endswith(b"\n")


# --------------------------------------------------------------------------- the summary and the plot
@pytest.mark.parametrize("name, content", [("g.md", b"# my notes on this grid\n"),
                                           ("g.png", b"\x89PNG\r\n\x1a\n not bench's plot")])
def test_a_summary_or_plot_the_user_wrote_is_refused_up_front(grid, capsys, monkeypatch, name, content):
    mine = grid.parent / name
    mine.write_bytes(content)
    with monkeypatch.context() as m:
        m.setattr(parallel, "run_chunks", lambda *a, **k: pytest.fail("a cell ran"))
        m.setattr(parallel, "call_memory", lambda *a, **k: pytest.fail("a cell compiled"))
        err = refused(capsys, [grid], "--overwrite")
    assert str(mine) in err and "not a jaxnag bench" in err
    assert mine.read_bytes() == content and not grid.with_suffix(".jsonl").exists()
    code, _, err = cli(capsys, grid, "--overwrite")
    assert code == 0, err
    assert mine.read_bytes() != content and leftovers(grid.parent) == []


def test_a_summary_and_plot_bench_wrote_are_replaced(grid, done, capsys):
    for name in ("g.jsonl", "g.md", "g.png"):
        shutil.copy(done / name, grid.parent / name)
    assert bench._our_summary(grid.with_suffix(".md")) and bench._our_plot(grid.with_suffix(".png"))
    code, _, err = cli(capsys, grid)
    assert code == 0, err
    assert bench._our_summary(grid.with_suffix(".md")) and bench._our_plot(grid.with_suffix(".png"))


def test_a_plot_without_png_text_is_not_benchs(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure()
    fig.savefig(tmp_path / "mine.png")
    plt.close(fig)
    assert not bench._our_plot(tmp_path / "mine.png") and not bench._our_plot(tmp_path / "missing.png")


# --------------------------------------------------------------------------- flags and paths
FLAG_CASES = [
    (lambda d: ["--out", d], "is a folder; name a file"),
    (lambda d: ["--out", ""], "--out is empty"),
    (lambda d: ["--out", d / "missing" / "r.jsonl"], "does not exist (create it first)"),
    (lambda d: ["--out", d / "r.md"], "give the results file another suffix"),
    (lambda d: ["--chunk", "0"], "--chunk must be an integer >= 1, got 0"),
    (lambda d: ["--devices", "0"], "--devices must be an integer >= 1, got 0"),
    (lambda d: ["--devices", "99"], "devices must be an integer in [1, "),
    (lambda d: ["--timeout", "0"], "--timeout must be in (0, inf]"),
    (lambda d: ["--timeout", "nan"], "--timeout must be finite"),
    (lambda d: ["--num-processes", "2"], "--coordinator ($JAXNAG_COORDINATOR) and --process-id ($JAXNAG_PROCESS_ID) "
                                         "missing"),
    (lambda d: ["--coordinator", "localhost", "--num-processes", "2", "--process-id", "1"],
     "--coordinator ($JAXNAG_COORDINATOR) must be HOST:PORT"),
    (lambda d: ["--coordinator", "127.0.0.1:1", "--num-processes", "2", "--process-id", "2"],
     "--process-id must be an integer in [0, 1], got 2"),
]


@pytest.mark.parametrize("flags, message", FLAG_CASES)
def test_a_bad_flag_or_path_is_one_line_before_anything_runs(grid, capsys, no_cells, flags, message):
    refused(capsys, [grid, *flags(grid.parent)], message)
    assert sorted(p.name for p in grid.parent.iterdir()) == ["g.toml"]


def test_some_of_the_multi_process_variables_without_the_others(grid, capsys, monkeypatch, no_cells):
    monkeypatch.setenv("JAXNAG_NUM_PROCESSES", "2")
    refused(capsys, [grid], "--coordinator ($JAXNAG_COORDINATOR) and --process-id ($JAXNAG_PROCESS_ID) missing")
    with pytest.raises(errors.ConfigError, match=r"coordinator_address \(\$JAXNAG_COORDINATOR\) and process_id"):
        parallel.initialize()


def test_an_unreachable_coordinator_is_one_line_after_the_timeout(grid, capsys, no_cells):
    t0 = time.monotonic()
    refused(capsys, [grid, "--coordinator", "127.0.0.1:1", "--num-processes", "2", "--process-id", "1",
                     "--timeout", "1"], "the coordinator 127.0.0.1:1 did not accept a connection within 1 s")
    # a guard far from both sides (about 1 s here; the default --timeout is 60 s), not a timing
    assert time.monotonic() - t0 < 45 and not jax.distributed.is_initialized()


def test_a_grid_that_does_not_fit_in_memory_says_how_many_cells_fit(grid, capsys, monkeypatch):
    """XLA's estimate of the real call (compiled once, kept for the run) against a device said to be small."""
    real, need = parallel.call_memory, []

    def estimate(*args, **kwargs):
        per_call, n = real(*args, **kwargs)
        need.append(n)
        return per_call, n
    monkeypatch.setattr(parallel, "call_memory", estimate)
    monkeypatch.setattr(parallel, "run_chunks", lambda *a, **k: pytest.fail("a cell ran"))
    monkeypatch.setattr(parallel, "device_memory", lambda *a: int(0.9 * need[-1]))  # one cell of two fits
    refused(capsys, [grid], "about 1 cell fits per device; set chunk = 1 or less (--chunk)")
    monkeypatch.setattr(parallel, "device_memory", lambda *a: 100)
    refused(capsys, [grid], "not even one cell fits")
    assert sorted(p.name for p in grid.parent.iterdir()) == ["g.toml"]  # the results file it made is removed


# --------------------------------------------------------------------------- two runs, Ctrl-C
def test_a_results_file_in_use_is_refused_naming_the_other_process(grid, done, capsys, no_cells):
    out = grid.with_suffix(".jsonl")
    shutil.copy(done / "g.jsonl", out)
    data = out.read_bytes()
    with open(out, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        err = refused(capsys, [grid], "is in use by another jaxnag bench")
    assert str(out) in err and f"(pid {os.getpid()})" in err
    assert out.read_bytes() == data and not grid.with_suffix(".md").exists()


def test_ctrl_c_saves_the_finished_chunks_and_the_same_command_resumes(grid, capsys, monkeypatch):
    real, ran, pressed = parallel.run_chunks, [], []

    def interrupted(*args, **kwargs):
        for index, res in real(*args, **kwargs):
            ran.append(len(index))
            if not pressed:
                pressed.append(True)
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the first chunk runs
            yield index, res
    monkeypatch.setattr(parallel, "run_chunks", interrupted)
    refused(capsys, [grid, "--chunk", "1", "--no-plot"], "interrupted: 1 of 2 cells are saved in", status=130)
    out = grid.with_suffix(".jsonl")
    assert len(bench.read_results(out)) == 1 and ran == [1] and not grid.with_suffix(".md").exists()
    ran.clear()
    code, _, err = cli(capsys, grid, "--chunk", "1", "--no-plot")
    assert code == 0, err
    assert ran == [1] and sorted(r["seed"] for r in bench.read_results(out)) == [0, 1]


@pytest.mark.slow
def test_two_runs_on_one_results_file_compute_each_cell_once(grid):
    """Two real processes at once: the second is refused while the first holds the file (or, started after
    it finished, finds nothing to do); every cell is in the file exactly once."""
    cmd = [sys.executable, "-m", "jaxnag.cli", "bench", str(grid), "--no-progress", "--no-plot"]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) in ([0, 0], [0, 2]), results
    for code, err in results:
        if code == 2:
            assert "is in use by another jaxnag bench" in err and len(err.strip().splitlines()) == 1, err
    seeds = [r["seed"] for r in bench.read_results(grid.with_suffix(".jsonl"))]
    assert sorted(seeds) == [0, 1]


# --------------------------------------------------------------------------- file systems
def test_a_read_only_folder_is_refused_up_front(grid, done, capsys, no_cells):
    shutil.copy(done / "g.jsonl", grid.parent / "g.jsonl")
    data = (grid.parent / "g.jsonl").read_bytes()
    grid.parent.chmod(0o500)
    try:
        if os.access(grid.parent, os.W_OK):
            pytest.skip("this user can write to a read-only folder (root)")
        refused(capsys, [grid], "permission denied")
    finally:
        grid.parent.chmod(0o700)
    assert (grid.parent / "g.jsonl").read_bytes() == data and leftovers(grid.parent) == []


@pytest.fixture
def tmpfs(mount_tmpfs):
    """A 64 KiB tmpfs (skipped where mounting is not allowed)."""
    return mount_tmpfs("64k")


def test_a_read_only_file_system_is_refused_up_front(grid, lines, tmpfs, capsys, no_cells):
    (tmpfs / "r.jsonl").write_bytes(data := lines[0] + lines[1][:50])  # even a cut line stays as it is
    r = subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot remount read-only: {r.stderr.strip()}")
    refused(capsys, [grid, "--out", tmpfs / "r.jsonl"], "the file system is read-only")
    assert (tmpfs / "r.jsonl").read_bytes() == data


@pytest.mark.parametrize("free_pages", [0, 1, 3, 6, 16])
def test_a_full_file_system_fails_with_one_line_and_no_half_written_file(grid, tmpfs, capsys, free_pages):
    """Whatever the free space, the run ends with exit 0 or one line; every file left is whole (the results
    only whole lines) and no temporary file remains."""
    page = 4096
    filler = tmpfs / "filler"
    if free_pages < 16:
        with open(filler, "wb") as f:
            f.write(b"\0" * (16 - free_pages) * page)
    out = tmpfs / "r.jsonl"
    code, _, err = cli(capsys, grid, "--out", out)
    if free_pages == 0:  # found by the probe, before anything runs
        assert code == 2 and "no space left on the device" in err and not out.exists(), err
    elif code:  # the summary or the plot did not fit: the cells are saved, the same command writes them
        assert "2 of 2 cells are saved" in err, err
    if code:
        assert code == 2 and "no space left on the device" in err, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert leftovers(tmpfs) == []
    if out.exists():
        data = out.read_bytes()
        assert data.endswith(b"\n") and len(bench.read_results(out)) == data.count(b"\n") == 2
    if out.with_suffix(".md").exists():
        assert bench._our_summary(out.with_suffix(".md")) and out.with_suffix(".md").read_text().endswith("\n")
    if out.with_suffix(".png").exists():
        assert bench._our_plot(out.with_suffix(".png")) and out.with_suffix(".png").read_bytes()[-8:-4] == b"IEND"


def test_a_write_that_fails_mid_run_leaves_whole_lines(grid, done, capsys, monkeypatch):
    """A full disk met while appending (not found by the probe): the file is cut back to its whole lines."""
    out = grid.with_suffix(".jsonl")
    real = os.fsync

    def full(fd):
        if os.readlink(f"/proc/self/fd/{fd}") == os.path.realpath(out):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)
    monkeypatch.setattr(os, "fsync", full)
    refused(capsys, [grid, "--no-plot"], f"{out}: cannot write (no space left on the device)")
    assert not out.exists() and leftovers(grid.parent) == []  # it made the file, wrote nothing whole: removed


# --------------------------------------------------------------------------- the Python API
@pytest.mark.parametrize("kwargs, error, message", [
    (dict(path=None), errors.ConfigError, "path must be the grid file's path"),
    (dict(path=""), errors.ConfigError, "path is empty"),
    (dict(out=""), outputs.OutputError, "--out is empty"),
    (dict(out=3), errors.ConfigError, "out must be a results file path"),
    (dict(chunk=0), errors.ConfigError, "chunk must be an integer >= 1, got 0"),
    (dict(chunk="8"), errors.ConfigError, "chunk must be an integer"),
    (dict(devices=0), errors.ConfigError, "devices must be an integer >= 1, got 0"),
    (dict(devices=1.5), errors.ConfigError, "devices must be an integer"),
])
def test_run_checks_its_arguments(grid, no_cells, kwargs, error, message):
    kwargs = {"path": grid, **kwargs}
    with pytest.raises(error, match=message.replace("(", r"\(")):
        bench.run_grid(kwargs.pop("path"), progress=False, echo=False, **kwargs)
    assert sorted(p.name for p in grid.parent.iterdir()) == ["g.toml"]
