"""Benchmark grids: methods (with sweeps) x benchmark tasks x seeds from a TOML file, run sharded.

``jaxnag bench GRID.toml`` (or :func:`run`) reads a grid file, runs every cell with
:func:`jaxnag.parallel.run_chunks` on whatever devices exist (every process's, after
:func:`jaxnag.parallel.initialize`), and appends one JSON line per finished cell to the results file.
A killed run started again reads that file and runs only the cells it lacks; a line cut short by the
kill is dropped. At the end it prints a summary table (hit rate, mean best, unique queries, time per
method x task) and writes it as Markdown beside the results, with a plot of best-so-far against
unique queries.

A grid file::

    seeds = 10                     # seeds 0..9, or a list of seeds
    out = "results.jsonl"          # default: the grid file's name with .jsonl (relative to the grid file)
    chunk = 256                    # cells per compiled call (default 256)

    [[benchmarks]]
    name = "nb201"
    datasets = ["cifar10", "cifar100", "ImageNet16-120"]   # default: every dataset of the benchmark
    # metric = "test_acc"                                  # default: the benchmark's default metric

    [[methods]]
    name = "ednag"
    settings = { population = 30, steps = 100 }
    sweep = { temperature = [0.05, 0.1] }   # a cartesian product; one cell label per combination
    # label = "ednag"                       # default: the method's name

A cell's result depends only on its method, config, task and seed (seed ``s`` runs with
``jax.random.key(s)``), not on the devices, the processes or what else shares its call.

Example:
  >>> import pathlib, tempfile
  >>> d = pathlib.Path(tempfile.mkdtemp())
  >>> _ = (d / "g.toml").write_text('seeds = 2\\n[[benchmarks]]\\nname = "nasbench_graph"\\ndatasets = ["cora"]\\n'
  ...                               '[[methods]]\\nname = "random"\\nsettings = {budget = 20}\\n')
  >>> summary = run(d / "g.toml", progress=False, plot=False, echo=False)
  >>> [(row["label"], row["runs"]) for row in summary]
  [('random', 2)]
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import json
import math
import os
import sys
import time
import tomllib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import ConfigError, DataError, JaxnagError, UnknownName

__all__ = ["Grid", "MethodEntry", "load", "read_results", "run", "summarise"]

_TOP = ("seeds", "out", "chunk", "devices", "data_dir", "benchmarks", "methods")
_BENCH = ("name", "datasets", "metric")
_METHOD = ("name", "label", "settings", "sweep")
DEFAULT_CHUNK = 256


@dataclasses.dataclass(frozen=True)
class MethodEntry:
    """One method of the grid after sweep expansion: one label, one set of settings."""

    label: str
    method: str
    settings: dict       # config settings
    context: dict        # context settings (a prior's source, a checkpoint)
    where: str           # the grid field it came from, for errors: methods[i]
    block: int           # index of its [[methods]] block


@dataclasses.dataclass(frozen=True)
class Grid:
    """A parsed, checked grid file."""

    path: Path
    seeds: np.ndarray
    benchmarks: tuple[tuple[str, tuple[str, ...], str | None], ...]  # (name, datasets, metric)
    methods: tuple[MethodEntry, ...]
    out: Path
    chunk: int
    devices: int | None
    data_dir: str | None

    @property
    def num_cells(self) -> int:
        return len(self.seeds) * len(self.methods) * sum(len(d) for _, d, _ in self.benchmarks)


# ----------------------------------------------------------------------------- the grid file
def _fail(path, field: str, msg: str):
    raise ConfigError(f"{path}: {field}: {msg}")


def _keys(path, field: str, table, allowed) -> None:
    if not isinstance(table, dict):
        _fail(path, field, f"must be a table, got {type(table).__name__}")
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        _fail(path, f"{field}.{unknown[0]}" if field else unknown[0],
              f"unknown field; a {'grid' if not field else field.split('[')[0].rstrip('s')} takes "
              f"{', '.join(allowed)}")


def _named(path, where: str, table, allowed, lookup, names):
    """Check a [[benchmarks]] or [[methods]] table's fields and return what its ``name`` names."""
    _keys(path, where, table, allowed)
    if not isinstance(table.get("name"), str):
        _fail(path, f"{where}.name", f"missing; one of {', '.join(names)}")
    try:
        return lookup(table["name"])
    except UnknownName as e:
        _fail(path, f"{where}.name", str(e))


def _int(path, field: str, value, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        _fail(path, field, f"must be an integer >= {lo}, got {value!r}")
    return value


def load(path, *, out=None, chunk: int | None = None, devices: int | None = None) -> Grid:
    """Parse and check a grid file (every method's settings are checked against every benchmark's
    space here, before anything runs). ``out``, ``chunk`` and ``devices`` override the file's.

    Raises:
      ConfigError: a bad field, named as ``FILE: methods[1].settings.budget: ...``.
      DataError: the file is missing or not TOML.
    """
    from . import spaces, tables
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"grid file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read grid file {path}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not a valid TOML file: {e}") from None
    _keys(path, "", raw, _TOP)
    for need in ("seeds", "benchmarks", "methods"):
        if need not in raw:
            _fail(path, need, "missing (a grid needs seeds, [[benchmarks]] and [[methods]])")

    seeds = raw["seeds"]
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = list(range(_int(path, "seeds", seeds, 1)))
    if not isinstance(seeds, list) or not seeds:
        _fail(path, "seeds", f"must be a count or a non-empty list of seeds, got {raw['seeds']!r}")
    for i, s in enumerate(seeds):
        _int(path, f"seeds[{i}]", s, 0)
        if s >= 2**31:
            _fail(path, f"seeds[{i}]", f"must be below 2**31, got {s}")
    if len(set(seeds)) != len(seeds):
        _fail(path, "seeds", "lists a seed twice")

    chunk = chunk if chunk is not None else _int(path, "chunk", raw.get("chunk", DEFAULT_CHUNK), 1)
    devices = devices if devices is not None else (
        _int(path, "devices", raw["devices"], 1) if "devices" in raw else None)
    data_dir = raw.get("data_dir")
    if data_dir is not None and not isinstance(data_dir, str):
        _fail(path, "data_dir", "must be a string (a folder)")
    if data_dir is not None:
        data_dir = str((path.parent / data_dir).resolve())
    out_field = raw.get("out", path.with_suffix(".jsonl").name)
    if not isinstance(out_field, str) or not out_field:
        _fail(path, "out", "must be a file name")
    out = Path(out) if out is not None else path.parent / out_field

    if not isinstance(raw["benchmarks"], list) or not raw["benchmarks"]:
        _fail(path, "benchmarks", "must be a non-empty array of tables ([[benchmarks]])")
    benchmarks = []
    for i, b in enumerate(raw["benchmarks"]):
        where = f"benchmarks[{i}]"
        bench = _named(path, where, b, _BENCH, tables.benchmark, tables.BENCHMARKS)
        datasets = b.get("datasets", list(bench.datasets))
        if isinstance(datasets, str):
            datasets = [datasets]
        if not isinstance(datasets, list) or not datasets or not all(isinstance(d, str) for d in datasets):
            _fail(path, f"{where}.datasets", "must be a non-empty list of dataset names")
        try:
            datasets = tuple(bench.dataset(d) for d in datasets)
        except UnknownName as e:
            _fail(path, f"{where}.datasets", str(e))
        if len(set(datasets)) != len(datasets):
            _fail(path, f"{where}.datasets", "lists a dataset twice")
        metric = b.get("metric")
        if metric is not None and metric not in bench.metrics:
            _fail(path, f"{where}.metric", f"unknown metric {metric!r}; available: {', '.join(bench.metrics)}")
        benchmarks.append((bench.name, datasets, metric))
    names = [(b, d) for b, ds, _ in benchmarks for d in ds]
    if len(set(names)) != len(names):
        _fail(path, "benchmarks", "lists a benchmark's dataset twice")

    if not isinstance(raw["methods"], list) or not raw["methods"]:
        _fail(path, "methods", "must be a non-empty array of tables ([[methods]])")
    methods = []
    for i, m in enumerate(raw["methods"]):
        methods.extend(_method_entries(path, i, m))
    labels = [m.label for m in methods]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        _fail(path, "methods", f"two cells are labelled {dup[0]!r}; give each [[methods]] its own label")
    # every config is built against every benchmark's space now: a bad value fails before anything runs
    for name, _, _ in benchmarks:
        space = spaces.get(tables.benchmark(name).space)
        for m in methods:
            _config(path, m, space)
    return Grid(path, np.asarray(seeds, np.int64), tuple(benchmarks), tuple(methods), out, chunk, devices, data_dir)


def _method_entries(path, i: int, m) -> list[MethodEntry]:
    from . import registry
    where = f"methods[{i}]"
    gen = _named(path, where, m, _METHOD, registry.get, registry.names())
    settings = m.get("settings", {})
    sweep = m.get("sweep", {})
    for field, table in (("settings", settings), ("sweep", sweep)):
        if not isinstance(table, dict):
            _fail(path, f"{where}.{field}", "must be a table ({ name = value, ... })")
    accepted = _accepted(gen)
    for field, table in (("settings", settings), ("sweep", sweep)):
        for k in table:
            if k not in accepted:
                _fail(path, f"{where}.{field}.{k}", f"{gen.name} has no setting {k!r}; its settings: "
                                                    f"{', '.join(accepted)}")
    for k, values in sweep.items():
        if not isinstance(values, list) or not values:
            _fail(path, f"{where}.sweep.{k}", "must be a non-empty list of values")
        if k in gen.settings and gen.settings[k].context:
            _fail(path, f"{where}.sweep.{k}", "a context setting cannot be swept (use one [[methods]] per value)")
        if k in settings:
            _fail(path, f"{where}.sweep.{k}", "is also in settings; give it in one place")
    label = m.get("label", gen.name)
    if not isinstance(label, str) or not label:
        _fail(path, f"{where}.label", "must be a non-empty string")
    out = []
    for combo in itertools.product(*sweep.values()) if sweep else [()]:
        chosen = dict(zip(sweep, combo))
        full = {**settings, **chosen}
        context = {k: v for k, v in full.items() if k in gen.settings and gen.settings[k].context}
        config = {k: v for k, v in full.items() if k not in context}
        name = label + "".join(f" {k}={v}" for k, v in chosen.items())
        out.append(MethodEntry(name, gen.name, config, context, where, i))
    return out


def _accepted(gen) -> list[str]:
    """The names a generator's ``config`` takes: its settings, and its config fields where ``config``
    passes further keywords on (EDNAG's temperature, noise, ...)."""
    names = list(gen.settings)
    params = inspect.signature(gen.config).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        names += [f.name for f in dataclasses.fields(gen.config_type) if f.name not in names]
    return names


def _config(path, entry: MethodEntry, space):
    from . import registry
    from .errors import renamed
    gen = registry.get(entry.method)
    field = f"{entry.where}.settings"
    try:
        return renamed(lambda: gen.config(space, **entry.settings), {k: f"{field}.{k}" for k in entry.settings})
    except JaxnagError as e:
        raise ConfigError(f"{path}: {e}" if str(e).startswith(field) else f"{path}: {field}: {e}") from None
    except TypeError as e:  # a value of the wrong type (a string for a number...)
        raise ConfigError(f"{path}: {field}: {e}") from None


# ----------------------------------------------------------------------------- results file
_VOLATILE = ("seconds", "devices", "processes")  # what may differ between runs of one cell


def _key(label: str, benchmark: str, dataset: str, seed) -> tuple:
    """A cell's identity in the results file."""
    return label, benchmark, dataset, int(seed)


def _cell_key(record: dict) -> tuple:
    return _key(record["label"], record["benchmark"], record["dataset"], record["seed"])


def read_results(out) -> list[dict]:
    """The records of a results file; a last line cut short (a killed run) is dropped from the file.

    Raises:
      DataError: a line other than the last is not a JSON object.
    """
    out = Path(out)
    if not out.exists():
        return []
    data = out.read_bytes()
    if data and not data.endswith(b"\n"):  # a write cut short by a kill: drop the partial line
        keep = data.rfind(b"\n") + 1
        with open(out, "r+b") as f:
            f.truncate(keep)
        data = data[:keep]
    records = []
    for n, line in enumerate(data.decode().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            _cell_key(rec)
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise DataError(f"{out}: line {n} is not a jaxnag bench record ({e}); move the file away to start "
                            "afresh") from None
        records.append(rec)
    return records


def _append(out: Path, records: list[dict]) -> None:
    text = "".join(json.dumps(r, allow_nan=False) + "\n" for r in records)
    with open(out, "a") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


# ----------------------------------------------------------------------------- running
def _same(a, b) -> bool:
    import jax
    la, ta = jax.tree.flatten(a)
    lb, tb = jax.tree.flatten(b)
    return ta == tb and all(x is y or np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)
                            for x, y in zip(la, lb))


def _jobs(grid: Grid):
    """The grid's runs, grouped so that each group is one compiled grid call: per benchmark and
    [[methods]] block, the configs with one static structure, over the datasets with the same context."""
    import jax

    from . import registry, spaces, tables
    blocks: dict[int, list[MethodEntry]] = {}
    for m in grid.methods:
        blocks.setdefault(m.block, []).append(m)
    for bench_name, datasets, metric in grid.benchmarks:
        bench = tables.benchmark(bench_name)
        space = spaces.get(bench.space)
        loaded = {d: tables.load(bench_name, d, data_dir=grid.data_dir, metric=metric) for d in datasets}
        for entries in blocks.values():
            gen = registry.get(entries[0].method)
            configs = [_config(grid.path, m, space) for m in entries]
            by_structure: dict = {}
            for m, c in zip(entries, configs):
                by_structure.setdefault(jax.tree.structure(c), []).append((m, c))
            # datasets whose contexts are equal share one stacked call
            groups: list[tuple[dict, dict, list[str]]] = []
            for d in datasets:
                try:
                    ctx, notes = gen.context_for(entries[0].context, loaded[d], grid.data_dir)
                except JaxnagError as e:
                    raise type(e)(f"{grid.path}: {entries[0].where}.settings: {e}") from None
                for g in groups:
                    if _same(g[0], ctx):
                        g[2].append(d)
                        break
                else:
                    groups.append((ctx, notes, [d]))
            for members in by_structure.values():
                for ctx, notes, ds in groups:
                    yield Job(gen, space, [m for m, _ in members], [c for _, c in members],
                              [loaded[d] for d in ds], ctx, notes)


class Job(NamedTuple):
    """One compiled grid call: a generator's configs (one static structure) over tasks with one context."""

    gen: object
    space: object
    entries: list
    configs: list
    tables: list
    context: dict
    notes: dict

    def preflight(self, path) -> None:
        """Trace one cell (no compilation, no computation): an error a run would meet comes now, naming
        the grid field, before any cell runs."""
        import jax
        try:
            jax.eval_shape(lambda k, t, c, ctx: self.gen.generate(k, t, self.space, c, **ctx), jax.random.key(0),
                           self.tables[0], self.configs[0], self.context)
        except JaxnagError as e:
            raise type(e)(f"{path}: {self.entries[0].where} ({self.gen.name}) on {self.tables[0].name}: {e}") \
                from None


def _records(gen, entries, task_tables, cells, res, seconds, devices, processes) -> list[dict]:
    from . import __version__
    n = len(cells.seed)
    fitness = np.asarray(res.best_fitness, np.float64)
    traces = np.asarray(res.best_trace, np.float64)
    metric, trace_metric = np.empty(n), np.empty(traces.shape)
    optimum = {}  # task -> (fitness, metric)
    for t in np.unique(cells.task):
        mask = cells.task == t
        metric[mask] = task_tables[t].to_metric(fitness[mask])
        trace_metric[mask] = task_tables[t].to_metric(traces[mask])
        best = float(task_tables[t].optimum)
        optimum[t] = (float(np.float32(best)), float(task_tables[t].to_metric(np.asarray([best]))[0]))
    best_ops, queries, trace_queries = np.asarray(res.best_ops), np.asarray(res.queries), np.asarray(res.queries_trace)
    out = []
    for j in range(n):
        entry, table = entries[cells.config[j]], task_tables[cells.task[j]]
        opt_fitness, opt_metric = optimum[cells.task[j]]
        out.append(dict(
            label=entry.label, method=gen.name, settings={**entry.settings, **entry.context},
            benchmark=table.info.benchmark, dataset=table.info.dataset, metric=table.info.metric, goal=table.goal,
            seed=int(cells.seed[j]), best=_finite(metric[j]),
            optimum=opt_metric, hit=bool(math.isfinite(fitness[j]) and fitness[j] >= opt_fitness),
            queries=int(queries[j]), arch=table.space.to_string(best_ops[j]) if math.isfinite(metric[j]) else None,
            trace_queries=trace_queries[j].tolist(), trace_best=[_finite(v) for v in trace_metric[j]],
            seconds=seconds, devices=devices, processes=processes, jaxnag=__version__))
    return out


def run(path, *, out=None, chunk: int | None = None, devices: int | None = None, progress: bool = True,
        plot: bool = True, echo: bool = True) -> list[dict]:
    """Run (or resume) the grid file at ``path``; returns the summary rows (see :func:`summarise`).

    Every process of a multi-process run calls it; process 0 reads and writes the results file.
    ``progress`` shows a progress bar, ``plot`` writes ``<out>.png``, ``echo`` prints the summary.
    """
    import jax

    from . import parallel, tables
    grid = load(path, out=out, chunk=chunk, devices=devices)
    if grid.devices is not None and jax.process_count() > 1:
        raise ConfigError(f"{grid.path}: devices: a multi-process run uses every device of every process")
    mesh = parallel.mesh(grid.devices)
    lead = jax.process_index() == 0
    done = {}
    if lead:
        grid.out.parent.mkdir(parents=True, exist_ok=True)
        wanted = {m.label: {**m.settings, **m.context} for m in grid.methods}
        for rec in read_results(grid.out):
            if rec["label"] in wanted and rec.get("settings") != wanted[rec["label"]]:
                raise ConfigError(f"{grid.out} holds results labelled {rec['label']!r} with other settings "
                                  f"({rec.get('settings')} here, {wanted[rec['label']]} in {grid.path}); "
                                  "write to another out file or give the method another label")
            done[_cell_key(rec)] = rec
    jobs = list(_jobs(grid))
    for job in jobs:
        job.preflight(grid.path)
    bar = _Progress(grid.num_cells, len(done) if lead else 0, enabled=progress and lead)
    try:
        for gen, space, entries, configs, task_tables, ctx, notes in jobs:
            table = tables.stack(task_tables)
            cells = parallel.cells(len(configs), len(task_tables), grid.seeds)
            keys = [_key(entries[c].label, task_tables[t].info.benchmark, task_tables[t].info.dataset, s)
                    for c, t, s in zip(cells.config, cells.task, cells.seed)]
            todo = np.asarray([k not in done for k in keys], bool)
            if jax.process_count() > 1:
                from jax.experimental import multihost_utils
                todo = np.asarray(multihost_utils.broadcast_one_to_all(todo), bool)
            if not todo.any():
                continue
            t0 = time.perf_counter()
            for index, res in parallel.run_chunks(gen, grid.seeds, table, space, configs, mesh=mesh,
                                                  chunk=grid.chunk, select=todo, **ctx):
                gen.check_result(res, configs[0], notes)
                seconds = (time.perf_counter() - t0) / len(index)
                sub = parallel.Cells(cells.config[index], cells.task[index], cells.seed[index], cells.shape)
                records = _records(gen, entries, task_tables, sub, res, seconds, mesh.devices.size,
                                   jax.process_count())
                if lead:
                    _append(grid.out, records)
                    for r in records:
                        done[_cell_key(r)] = r
                bar.advance(len(index))
                t0 = time.perf_counter()
    finally:
        bar.close()
    if not lead:
        return []
    mine = [done[k] for k in _grid_keys(grid) if k in done]
    rows = summarise(mine)
    md = grid.out.with_suffix(".md")
    md.write_text(_markdown(grid, rows, mine, plot))
    if plot:
        _plot(mine, grid.out.with_suffix(".png"))
    if echo:
        _print_table(rows)
        print(f"jaxnag: {len(mine)} cells in {grid.out}; summary in {md}"
              + (f", plot in {grid.out.with_suffix('.png')}" if plot else ""), file=sys.stderr)
    return rows


def _grid_keys(grid: Grid):
    for bench_name, datasets, _ in grid.benchmarks:
        for m in grid.methods:
            for d in datasets:
                for s in grid.seeds:
                    yield _key(m.label, bench_name, d, s)


class _Progress:
    """A rich progress bar on stderr (or nothing)."""

    def __init__(self, total: int, completed: int, enabled: bool):
        self._p = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
            self._p = Progress(TextColumn("jaxnag bench"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                               console=Console(stderr=True))
            self._p.start()
            self._task = self._p.add_task("cells", total=total, completed=completed)

    def advance(self, n: int) -> None:
        if self._p is not None:
            self._p.advance(self._task, n)

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()


# ----------------------------------------------------------------------------- summary
def summarise(records: list[dict]) -> list[dict]:
    """One row per label x benchmark x dataset: runs, hit rate, mean and std of the best metric,
    mean unique queries, total seconds."""
    groups: dict = {}
    for r in records:
        groups.setdefault((r["label"], r["benchmark"], r["dataset"]), []).append(r)
    rows = []
    for (label, bench, ds), rs in groups.items():
        best = np.asarray([r["best"] for r in rs if r["best"] is not None], np.float64)
        rows.append(dict(label=label, benchmark=bench, dataset=ds, runs=len(rs),
                         hit_rate=float(np.mean([r["hit"] for r in rs])),
                         mean_best=float(best.mean()) if best.size else None,
                         std_best=float(best.std()) if best.size else None, optimum=rs[0]["optimum"],
                         goal=rs[0]["goal"], mean_queries=float(np.mean([r["queries"] for r in rs])),
                         seconds=float(sum(r["seconds"] for r in rs))))
    return rows


def _fmt(v, spec=".4f") -> str:
    return "-" if v is None else format(v, spec)


def _columns(row) -> list[str]:
    return [row["label"], f"{row['benchmark']}/{row['dataset']}", str(row["runs"]), f"{row['hit_rate']:.0%}",
            f"{_fmt(row['mean_best'])} ± {_fmt(row['std_best'])}", _fmt(row["optimum"]),
            f"{row['mean_queries']:.0f}", f"{row['seconds']:.2f}"]


_HEAD = ["method", "task", "runs", "hit rate", "mean best", "optimum", "unique queries", "time (s)"]


def _print_table(rows) -> None:
    from rich.console import Console
    from rich.table import Table
    t = Table(*_HEAD, title="jaxnag bench")
    for row in rows:
        t.add_row(*_columns(row))
    Console(width=None if sys.stdout.isatty() else 160).print(t)


def _markdown(grid: Grid, rows, records, plot: bool) -> str:
    runs = {(r["devices"], r["processes"]) for r in records}
    where = ", ".join(f"{d} device{'s' * (d > 1)} in {p} process{'es' * (p > 1)}" for d, p in sorted(runs))
    lines = [f"# jaxnag bench: {grid.path.name}", "",
             f"`jaxnag bench {grid.path}` ({len(grid.seeds)} seeds per method x task; cells run on {where}). "
             f"Results: `{grid.out.name}`, one JSON line per cell with its trace. Time is the wall time of each "
             "cell's compiled call shared among its cells, compilation included.", "",
             "| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
    lines += ["| " + " | ".join(_columns(r)) + " |" for r in rows]
    if plot:
        lines += ["", f"![mean best so far against unique queries]({grid.out.with_suffix('.png').name})"]
    return "\n".join(lines) + "\n"


def _curve(records: list[dict]):
    """Mean best-so-far (metric units) on the union of the runs' query counts, where every run has a
    value (a run that ended keeps its final best)."""
    grid = np.unique(np.concatenate([np.asarray(r["trace_queries"], np.float64) for r in records]))
    grid = grid[grid > 0]
    vals = np.full((len(records), len(grid)), np.nan)
    for i, r in enumerate(records):
        q = np.asarray(r["trace_queries"], np.float64)
        b = np.asarray([np.nan if v is None else v for v in r["trace_best"]], np.float64)
        idx = np.searchsorted(q, grid, side="right") - 1
        vals[i] = np.where(idx >= 0, b[np.clip(idx, 0, None)], np.nan)
    return grid, vals.mean(axis=0)  # NaN wherever a run has no value yet


def _plot(records: list[dict], path: Path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("jaxnag: the plot needs matplotlib (pip install 'jaxnag[bench]'); skipped", file=sys.stderr)
        return
    tasks = list(dict.fromkeys((r["benchmark"], r["dataset"]) for r in records))
    cols = min(3, len(tasks))
    rows = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    for ax, (bench, ds) in zip(axes.ravel(), tasks):
        mine = [r for r in records if (r["benchmark"], r["dataset"]) == (bench, ds)]
        for label in dict.fromkeys(r["label"] for r in mine):
            runs = [r for r in mine if r["label"] == label and r["trace_queries"]]
            if runs:
                q, m = _curve(runs)
                few = np.isfinite(m).sum() < 5  # a method with one or two rounds: show its points
                ax.step(q, m, where="post", label=label, marker="o" if few else None, ms=4)
        ax.axhline(mine[0]["optimum"], color="k", lw=0.6, ls=":")
        ax.set_xscale("log")
        ax.set_title(f"{bench}/{ds}", fontsize=9)
        ax.set_xlabel("unique queries")
        ax.set_ylabel(f"mean best {mine[0]['metric']}")
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(tasks):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
