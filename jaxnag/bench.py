"""Benchmark grids: methods (with sweeps) x benchmark tasks x seeds from a TOML file, run sharded.

``jaxnag bench GRID.toml`` (or :func:`run`) reads a grid file, runs every cell with
:func:`jaxnag.parallel.run_chunks` on whatever devices exist (every process's, after
:func:`jaxnag.parallel.initialize`), and appends one JSON line per finished cell to the results file.
A killed run started again reads that file and runs only the cells it lacks; a line cut short by the
kill is dropped. At the end it prints a summary table (hit rate, mean best, unique queries, time per
method x task) and writes it as Markdown beside the results, with a plot of best-so-far against
unique queries.

Nothing a user wrote is lost: before any cell runs, the results file is checked (every line must be a
record of this grid; a file of anything else is refused untouched, naming the line) and locked (a
second ``jaxnag bench`` on it is refused); the summary (.md) and plot (.png) replace only files that
bench wrote (or any with ``--overwrite``), atomically; a full or read-only folder is found before any
computation. Ctrl-C stops after the current chunk, with the finished cells saved.

A grid file::

    seeds = 10                     # seeds 0..9, or a list of seeds
    out = "results.jsonl"          # default: the grid file's name with .jsonl (relative to the grid file)
    chunk = 256                    # cells per compiled call (default 256)

    [[benchmarks]]
    name = "nb201"
    datasets = ["cifar10", "cifar100", "ImageNet16-120"]   # default: every dataset of the benchmark
    # metric = "test_acc"                                  # default: the benchmark's default metric
    # objectives = ["test_acc", "params_mb"]               # several: a Pareto front per run (jaxnag.pareto);
                                                           # a cell's best is its hypervolume's share of the
                                                           # exact front's, a hit the exact front's HV

    [[benchmarks]]                 # a table file on any registered space (your own included):
    table = "mine.npz"             # benchmark "custom", dataset "mine" (the file's stem)
    space = "chain5"
    metric = "acc"
    # goal = "min"                 # for a cost (default "max")

    [[methods]]
    name = "ednag"
    settings = { population = 30, steps = 100 }
    sweep = { temperature = [0.05, 0.1] }   # a cartesian product; one cell label per combination
    # label = "ednag"                       # default: the method's name
    # settings = { budget = 300, query = 10 }  # the wrappers, as on the command line: a query budget,
                                              # the online surrogate (jaxnag.registry.compose)
    # plain = true                 # with a budget: the method's settings as given, cut at the budget;
                                   # default: its query-efficient form for the settings not given, as
                                   # `jaxnag generate --budget` runs (jaxnag.registry.budget_form)

A cell's result depends only on its method, config, task and seed (seed ``s`` runs with
``jax.random.key(s)``), not on the devices, the processes or what else shares its call.

Examples:
  >>> import pathlib, tempfile
  >>> d = pathlib.Path(tempfile.mkdtemp())
  >>> _ = (d / "g.toml").write_text('seeds = 2\\n[[benchmarks]]\\nname = "nasbench_graph"\\ndatasets = ["cora"]\\n'
  ...                               '[[methods]]\\nname = "random"\\nsettings = {budget = 20}\\n')
  >>> summary = run_grid(d / "g.toml", progress=False, plot=False, echo=False)
  >>> summary[0]["label"], summary[0]["runs"], len(summary)
  ('random', 2, 1)
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
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

from . import outputs
from .errors import ConfigError, DataError, Interrupted, JaxnagError, UnknownName, check_int, old_names

__all__ = ["Grid", "MethodEntry", "load", "read_results", "run_grid", "summarise"]

_TOP = ("seeds", "out", "chunk", "devices", "data_dir", "benchmarks", "methods")
_BENCH = ("name", "datasets", "metric", "objectives")
_CUSTOM = ("table", "space", "metric", "goal")


class CustomTable(NamedTuple):
    """A ``[[benchmarks]]`` entry naming a table file on any registered space (benchmark ``custom``,
    dataset the file's stem)."""

    path: str
    space: str
    metric: str
    goal: str

    def load(self):
        """The table (read once per file version: the grid's check and its run share it)."""
        try:
            stamp = os.stat(self.path).st_mtime_ns
        except OSError:
            stamp = None  # load_custom says what is wrong with the path
        return _load_custom(self.path, self.space, self.metric, self.goal, stamp)


@functools.lru_cache(maxsize=16)
def _load_custom(path, space, metric, goal, stamp):
    from . import tables
    return tables.load_custom(path, space, metric, goal)


def _space_of(grid_custom: dict, bench_name: str, datasets):
    from . import spaces, tables
    if bench_name == "custom":
        return spaces.get(grid_custom[datasets[0]].space)
    return spaces.get(tables.benchmark(bench_name).space)


def _custom_entry(path, where: str, b) -> tuple[str, CustomTable]:
    """A ``[[benchmarks]]`` entry with ``table = FILE``: checked now (the file is read)."""
    from . import spaces
    _keys(path, where, b, _CUSTOM)
    for field in ("table", "space", "metric"):
        if not isinstance(b.get(field), str) or not b[field]:
            _fail(path, f"{where}.{field}", "missing (a table entry needs table = FILE, space = NAME, metric = "
                                            "COLUMN)" if field not in b else "must be a non-empty string")
    goal = b.get("goal", "max")
    if goal not in ("max", "min"):
        _fail(path, f"{where}.goal", f"must be 'max' or 'min', got {goal!r}")
    try:
        spaces.get(b["space"])
    except UnknownName as e:
        _fail(path, f"{where}.space", str(e))
    entry = CustomTable(str((path.parent / b["table"]).resolve()), b["space"], b["metric"], goal)
    try:
        entry.load()
    except JaxnagError as e:
        _fail(path, f"{where}.table", str(e))
    return Path(entry.path).stem, entry
_METHOD = ("name", "label", "settings", "sweep", "plain")
DEFAULT_CHUNK = 256


@dataclasses.dataclass(frozen=True)
class MethodEntry:
    """One method of the grid after sweep expansion: one label, one set of settings.

    Examples:
      >>> import pathlib, tempfile
      >>> from jaxnag import bench
      >>> with tempfile.TemporaryDirectory() as d:
      ...     path = pathlib.Path(d) / "g.toml"
      ...     _ = path.write_text('seeds = 2\\n[[benchmarks]]\\nname = "nasbench_graph"\\ndatasets = ["cora"]\\n'
      ...                         '[[methods]]\\nname = "random"\\nsettings = {budget = 20}\\n'
      ...                         'sweep = {batch = [10, 20]}\\n')
      ...     entries = bench.load(path).methods  # one entry per value of the sweep
      >>> for m in entries:
      ...     print(m.label, "|", m.method, m.settings, m.context, m.where, m.block)
      random batch=10 | random {'budget': 20, 'batch': 10} {} methods[0] 0
      random batch=20 | random {'budget': 20, 'batch': 20} {} methods[0] 0
    """

    label: str
    method: str
    settings: dict       # config settings
    context: dict        # context settings (a prior's source, a checkpoint)
    where: str           # the grid field it came from, for errors: methods[i]
    block: int           # index of its [[methods]] block
    plain: bool = False  # with a budget: the settings as given (not the method's query-efficient form)

    @property
    def recorded(self) -> dict:
        """The settings a result line records (and a resumed run must match): config and context settings, and
        ``plain`` where it is set."""
        return {**self.settings, **self.context, **({"plain": True} if self.plain else {})}

    def settings_for(self, space) -> dict:
        """The config settings that run on ``space``: with a ``budget`` (and not ``plain``), the method's
        query-efficient form filled in for the settings not given (:func:`jaxnag.registry.budget_form`, what
        ``jaxnag generate --budget`` runs); else :attr:`settings`.

        Examples:
          >>> import dataclasses
          >>> from jaxnag import bench, spaces
          >>> entry = bench.MethodEntry("ednag", "ednag", {"budget": 100, "population": 20}, {}, "methods[0]", 0)
          >>> s = entry.settings_for(spaces.get("nb201"))
          >>> s["population"], s["predictor"], s["memory"]  # the population given; the GP form's other settings
          (20, 'gp_rank', 100)
          >>> dataclasses.replace(entry, plain=True).settings_for(spaces.get("nb201"))  # as given
          {'budget': 100, 'population': 20}
        """
        if self.plain or "budget" not in self.settings:
            return self.settings
        from . import registry
        return registry.budget_form(self.method, dict(self.settings), set(self.settings), self.settings["budget"],
                                    space)


@dataclasses.dataclass(frozen=True)
class Grid:
    """A parsed, checked grid file.

    Examples:
      >>> import pathlib, tempfile
      >>> from jaxnag import bench
      >>> with tempfile.TemporaryDirectory() as d:
      ...     path = pathlib.Path(d) / "g.toml"
      ...     _ = path.write_text('seeds = [0, 7]\\n[[benchmarks]]\\nname = "nasbench_graph"\\ndatasets = ["cora"]\\n'
      ...                         '[[methods]]\\nname = "random"\\nsweep = {budget = [10, 20]}\\n')
      ...     grid = bench.load(path)
      >>> grid.seeds.tolist(), grid.benchmarks, len(grid.methods), grid.num_cells, grid.out.name
      ([0, 7], (('nasbench_graph', ('cora',), None),), 2, 4, 'g.jsonl')
    """

    path: Path
    seeds: np.ndarray
    benchmarks: tuple[tuple[str, tuple[str, ...], str | None], ...]  # (name, datasets, metric)
    methods: tuple[MethodEntry, ...]
    out: Path
    chunk: int
    devices: int | None
    data_dir: str | None
    custom: dict = dataclasses.field(default_factory=dict)  # dataset -> CustomTable (benchmark "custom")
    objectives: dict = dataclasses.field(default_factory=dict)  # (benchmark, first dataset) -> its Objectives

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

    Examples:
      >>> import pathlib, tempfile
      >>> from jaxnag import bench, errors
      >>> with tempfile.TemporaryDirectory() as d:
      ...     path = pathlib.Path(d) / "g.toml"
      ...     _ = path.write_text('seeds = 3\\n[[benchmarks]]\\nname = "nasbench_graph"\\n'
      ...                         'datasets = ["cora", "citeseer"]\\n'
      ...                         '[[methods]]\\nname = "random"\\nsweep = {budget = [10, 20]}\\n')
      ...     grid = bench.load(path, chunk=64)
      ...     print(grid.seeds.tolist(), [m.label for m in grid.methods], grid.num_cells, grid.chunk, grid.out.name)
      ...     _ = path.write_text(path.read_text().replace("sweep", "settings").replace("[10, 20]", "0"))
      ...     try:
      ...         bench.load(path)
      ...     except errors.ConfigError as e:
      ...         print(str(e).split(": ", 1)[1])  # the error names the field (after the file's path)
      [0, 1, 2] ['random budget=10', 'random budget=20'] 12 64 g.jsonl
      methods[0].settings.budget must be an integer in [1, 26206], got 0
    """
    from . import tables
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

    chunk = check_int("chunk", chunk, lo=1) if chunk is not None else \
        _int(path, "chunk", raw.get("chunk", DEFAULT_CHUNK), 1)
    devices = check_int("devices", devices, lo=1) if devices is not None else (
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
    benchmarks, custom, objectives = [], {}, {}
    for i, b in enumerate(raw["benchmarks"]):
        where = f"benchmarks[{i}]"
        if isinstance(b, dict) and "table" in b:  # a table file on any registered space
            stem, entry = _custom_entry(path, where, b)
            if stem in custom:
                _fail(path, where, f"a second table called {stem!r} (datasets are named by file stem)")
            custom[stem] = entry
            benchmarks.append(("custom", (stem,), entry.metric))
            continue
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
        if "objectives" in b:  # several metrics: a Pareto front per run
            if metric is not None:
                _fail(path, f"{where}.objectives", "give metric (one) or objectives (several), not both")
            metric = b["objectives"]
            metric = metric.split(",") if isinstance(metric, str) else metric
            if not isinstance(metric, list) or not all(isinstance(x, str) and x for x in metric):
                _fail(path, f"{where}.objectives", "must be a list of metric names")
            try:  # read now: an unknown name or missing data fails before anything runs
                objectives[(bench.name, datasets[0])] = tables.objectives(bench.name, datasets[0], metric,
                                                                          data_dir=data_dir)
            except JaxnagError as e:
                _fail(path, f"{where}.objectives", str(e))
            metric = tuple(metric)
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
    for name, datasets, _ in benchmarks:
        space = _space_of(custom, name, datasets)
        for m in methods:
            _config(path, m, space, objectives.get((name, datasets[0])))
    return Grid(path, np.asarray(seeds, np.int64), tuple(benchmarks), tuple(methods), out, chunk, devices, data_dir,
                custom, objectives)


def _method_entries(path, i: int, m) -> list[MethodEntry]:
    from . import registry
    where = f"methods[{i}]"
    gen = _named(path, where, m, _METHOD, registry.get, registry.names())
    for field in ("settings", "sweep"):  # old setting names work for one release, with a note
        if isinstance(m.get(field), dict):
            for old in [k for k in m[field] if k in registry.DEPRECATED]:
                new = registry.DEPRECATED[old]
                print(registry.deprecation_note(f"{where}.{field}.{old}", f"{where}.{field}.{new}"),
                      file=sys.stderr)
                m = dict(m, **{field: {(new if k == old else k): v for k, v in m[field].items()}})
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
    plain = m.get("plain", False)
    if not isinstance(plain, bool):
        _fail(path, f"{where}.plain", f"must be true or false, got {plain!r}")
    if plain and "budget" not in settings and "budget" not in sweep:
        _fail(path, f"{where}.plain", "works with a budget (it keeps the method's settings under it)")
    out = []
    for combo in itertools.product(*sweep.values()) if sweep else [()]:
        chosen = dict(zip(sweep, combo))
        full = {**settings, **chosen}
        context = {k: v for k, v in full.items() if k in gen.settings and gen.settings[k].context}
        config = {k: v for k, v in full.items() if k not in context}
        name = label + "".join(f" {k}={v}" for k, v in chosen.items())
        out.append(MethodEntry(name, gen.name, config, context, where, i, plain))
    return out


def _accepted(gen) -> list[str]:
    """The names a generator's ``config`` takes: its settings, its config fields where ``config``
    passes further keywords on (EDNAG's temperature, noise, ...), and the wrappers' (``budget``, the
    surrogate's ``query``...: :func:`jaxnag.registry.compose` adds the wrapper they ask for)."""
    from . import registry
    names = list(gen.settings) + [k for k in ("budget",) + registry.SURROGATE_SETTINGS if k not in gen.settings]
    params = inspect.signature(gen.config).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        fields = [f.name for f in dataclasses.fields(gen.config_type)] if dataclasses.is_dataclass(gen.config_type) \
            else list(getattr(gen.config_type, "_fields", ()))  # a NamedTuple Config (protocol.generator)
        names += [f for f in fields if f not in names]
    return names


def _generator(entry: MethodEntry, objectives, space):
    """The entry's generator on ``space`` (:func:`jaxnag.registry.compose`), on a vector fitness where the
    benchmark has ``objectives`` (:func:`jaxnag.pareto.with_objectives`)."""
    from . import pareto, registry
    gen = registry.compose(entry.method, entry.settings_for(space))
    return gen if objectives is None else pareto.with_objectives(gen)


def _config(path, entry: MethodEntry, space, objectives=None):
    from .errors import renamed
    gen = _generator(entry, objectives, space)
    field = f"{entry.where}.settings"
    extra = {} if objectives is None else dict(objectives=objectives)
    settings = entry.settings_for(space)
    try:
        return renamed(lambda: gen.config(space, **extra, **settings), {k: f"{field}.{k}" for k in settings})
    except JaxnagError as e:
        raise ConfigError(f"{path}: {e}" if str(e).startswith(field) else f"{path}: {field}: {e}") from None
    except TypeError as e:  # a value of the wrong type (a string for a number...)
        raise ConfigError(f"{path}: {field}: {e}") from None


# ----------------------------------------------------------------------------- results file
_VOLATILE = ("seconds", "devices", "processes")  # what may differ between runs of one cell
_NUMBER = (int, float)
# every key a record needs, with the types the summary and the plot read it as
_RECORD = dict(label=str, method=str, settings=dict, benchmark=str, dataset=str, metric=str, goal=str, seed=int,
               best=_NUMBER + (type(None),), optimum=_NUMBER, hit=bool, queries=int, trace_queries=list,
               trace_best=list, seconds=_NUMBER, devices=int, processes=int)
_START = b'{"label": '  # how every line bench writes starts (json.dumps keeps the key order)


def _key(label: str, benchmark: str, dataset: str, seed) -> tuple:
    """A cell's identity in the results file."""
    return label, benchmark, dataset, int(seed)


def _cell_key(record: dict) -> tuple:
    return _key(record["label"], record["benchmark"], record["dataset"], record["seed"])


def _parse(data: bytes, out) -> tuple[list[tuple[int, dict]], int | None]:
    """The records of a results file's bytes with their line numbers, and where to cut the file when its
    last line is a bench record cut short (what a kill leaves; None when there is none).

    Raises:
      DataError: a line that is not UTF-8, not JSON, or not a bench record (naming the line); an unterminated
        last line that does not start like a bench record.
    """
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    records = []
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataError(f"{out}: line {n} is not UTF-8 text (byte {e.start + 1}), so not a jaxnag bench "
                            "record; nothing was changed: name another results file (--out) or move this one "
                            "away") from None
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{out}: line {n} is not a jaxnag bench record (not JSON: {e.msg} at column "
                            f"{e.colno}); nothing was changed: name another results file (--out) or move this "
                            "one away") from None
        problem = _record_problem(rec)
        if problem:
            raise DataError(f"{out}: line {n} is not a jaxnag bench record ({problem}); nothing was changed: name "
                            "another results file (--out) or move this one away")
        records.append((n, rec))
    cut = None
    if tail:  # only a line that starts like a record is what a kill left
        if not (tail.startswith(_START) or _START.startswith(tail)):
            raise DataError(f"{out}: line {len(lines) + 1} is not a jaxnag bench record (and has no line end); "
                            "nothing was changed: name another results file (--out) or move this one away")
        cut = len(data) - len(tail)
    return records, cut


def _record_problem(rec) -> str | None:
    if not isinstance(rec, dict):
        return f"a JSON {type(rec).__name__}, not an object"
    for key, types in _RECORD.items():
        if key not in rec:
            return f"no {key!r} field"
        value, types = rec[key], types if isinstance(types, tuple) else (types,)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            return f"{key!r} is {value!r}"
    if not 0 <= rec["seed"] < 2**31:
        return f"'seed' is {rec['seed']!r}"
    if len(rec["trace_queries"]) != len(rec["trace_best"]):
        return "'trace_queries' and 'trace_best' differ in length"
    return None


def read_results(out) -> list[dict]:
    """The records of a results file (none where it does not exist). It only reads: a last line cut short
    (a killed run, or a run writing it now) is left out of the records, not removed from the file;
    ``jaxnag bench`` removes it when it resumes the grid.

    Raises:
      DataError: a line that is not a jaxnag bench record (naming the line), or an unreadable file.

    Examples:
      >>> import json, pathlib, tempfile
      >>> from jaxnag import bench
      >>> rec = dict(label="random", method="random", settings={}, benchmark="nasbench_graph", dataset="cora",
      ...            metric="test", goal="max", seed=0, best=0.8, optimum=0.83, hit=False, queries=20,
      ...            trace_queries=[10, 20], trace_best=[0.79, 0.8], seconds=0.1, devices=1, processes=1)
      >>> with tempfile.TemporaryDirectory() as d:
      ...     out = pathlib.Path(d) / "r.jsonl"
      ...     print(bench.read_results(out))  # no file yet: no records
      ...     _ = out.write_text(json.dumps(rec) + "\\n" + json.dumps(rec)[:30])  # a last line cut short by a kill
      ...     print([r["best"] for r in bench.read_results(out)], out.read_text().count("\\n"))  # the file unchanged
      []
      [0.8] 1
    """
    out = Path(out)
    try:
        data = out.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise DataError(f"cannot read results file {out}: {outputs.describe_os_error(e) or e}") from None
    return [rec for _, rec in _parse(data, out)[0]]


class _Results:
    """A grid's results file, held for the whole run: an exclusive lock (a second ``jaxnag bench`` on it is
    refused), its records checked against the grid before anything changes, and appends that leave whole
    lines only."""

    def __init__(self, grid: Grid, flag: str):
        self.path, self.flag = grid.out, flag
        self.created = False
        try:
            try:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
                self.created = True
            except FileExistsError:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as e:
            raise outputs.os_error(e, self.path, flag) from None
        try:
            self._lock()
            self.done = self._read(grid)
        except BaseException:
            self.close(failed=True)
            raise

    def _lock(self) -> None:
        import fcntl
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _lock_owner(self.fd)
            os.close(self.fd)
            self.fd, self.created = None, False  # not ours to remove
            raise outputs.OutputError(
                f"{self.flag} {self.path} is in use by another jaxnag bench{f' (pid {pid})' if pid else ''}: "
                "wait for it to finish, or write to another --out") from None
        except OSError as e:  # a file system without locks
            raise outputs.os_error(e, self.path, self.flag, "cannot lock") from None

    def _read(self, grid: Grid) -> dict:
        with open(self.fd, "rb", closefd=False) as f:
            data = f.read()
        records, cut = _parse(data, self.path)
        wanted = {m.label: m.recorded for m in grid.methods}
        method = {m.label: m.method for m in grid.methods}
        from . import tables
        metrics = {(b, d): _hv_metric(grid.objectives[(b, ds[0])]) if isinstance(m, tuple) else
                   m or tables.benchmark(b).default_metric for b, ds, m in grid.benchmarks for d in ds}
        again = "; nothing was changed: write to another --out or move this file away"
        done = {}
        for n, rec in records:
            task = (rec["benchmark"], rec["dataset"])
            if rec["label"] not in wanted:
                raise ConfigError(f"{self.path}: line {n} is a result of {rec['label']!r}, which {grid.path} does "
                                  f"not run (its methods: {', '.join(wanted)}): the file holds another grid's "
                                  f"results{again}")
            if rec["method"] != method[rec["label"]]:
                raise ConfigError(f"{self.path}: line {n} is a result of method {rec['method']!r} labelled "
                                  f"{rec['label']!r}, which is {method[rec['label']]!r} in {grid.path}: the file "
                                  f"holds another grid's results{again}")
            if rec["settings"] != wanted[rec["label"]]:
                raise ConfigError(f"{self.path}: line {n} holds results labelled {rec['label']!r} with other "
                                  f"settings ({rec['settings']} here, {wanted[rec['label']]} in {grid.path}); "
                                  "write to another out file or give the method another label")
            if task not in metrics:
                raise ConfigError(f"{self.path}: line {n} is a result on {'/'.join(task)}, which {grid.path} does "
                                  f"not run: the file holds another grid's results{again}")
            if rec["metric"] != metrics[task]:
                raise ConfigError(f"{self.path}: line {n} measures {'/'.join(task)} by {rec['metric']!r}, "
                                  f"{grid.path} by {metrics[task]!r}: the file holds another grid's results{again}")
            done[_cell_key(rec)] = rec
        if cut is not None:  # the file is this grid's: the last line is what a kill left
            try:
                os.ftruncate(self.fd, cut)
            except OSError as e:
                raise outputs.os_error(e, self.path, self.flag, "cannot drop the cut-short last line of") \
                    from None
            print(f"jaxnag: {self.path}: dropped its last line, cut short by an interrupted run (its cell runs "
                  "again)", file=sys.stderr)
        return done

    def append(self, records: list[dict]) -> None:
        """Append whole lines, synced; on any failure the file is cut back to its previous length."""
        data = "".join(json.dumps(r, allow_nan=False) + "\n" for r in records).encode()
        size = os.lseek(self.fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]
            os.fsync(self.fd)
        except BaseException as e:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, size)
            if isinstance(e, OSError):
                raise outputs.os_error(e, self.path, self.flag) from None
            raise
        for r in records:
            self.done[_cell_key(r)] = r

    def close(self, failed: bool = False) -> None:
        """Release the lock; after a failure, remove the file if this run created it and wrote nothing."""
        if self.fd is None:
            return
        try:
            if failed and self.created and os.fstat(self.fd).st_size == 0:
                with contextlib.suppress(OSError):
                    self.path.unlink()
        finally:
            os.close(self.fd)  # closing releases the lock
            self.fd = None


def _lock_owner(fd: int) -> int | None:
    """The pid holding a ``flock`` on ``fd``'s file, from /proc/locks (Linux); None where unknown."""
    st = os.fstat(fd)
    ident = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks") as f:
            for line in f:
                parts = [p for p in line.split() if p != "->"]
                if len(parts) > 5 and parts[1] == "FLOCK" and parts[5] == ident and parts[4].isdigit():
                    return int(parts[4])
    except OSError:
        pass
    return None


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

    from . import tables
    blocks: dict[int, list[MethodEntry]] = {}
    for m in grid.methods:
        blocks.setdefault(m.block, []).append(m)
    for bench_name, datasets, metric in grid.benchmarks:
        space = _space_of(grid.custom, bench_name, datasets)
        several = isinstance(metric, tuple)  # objectives: a Pareto front per run
        loaded = {d: grid.custom[d].load() if bench_name == "custom" else
                  grid.objectives.get((bench_name, d)) or  # the one read when the grid was checked
                  tables.objectives(bench_name, d, list(metric), data_dir=grid.data_dir) if several else
                  tables.load(bench_name, d, data_dir=grid.data_dir, metric=metric) for d in datasets}
        first = loaded[datasets[0]] if several else None
        for entries in blocks.values():
            gen = _generator(entries[0], first, space)  # one [[methods]] table: one wrapping
            configs = [_config(grid.path, m, space, first) for m in entries]
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
            jax.eval_shape(lambda t, c, ctx: self.gen.generate(jax.random.key(0), t, self.space, c, **ctx),
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
        if _several(task_tables[t]):  # a Pareto front: its hypervolume's share of the exact front's
            from . import pareto
            metric[mask] = pareto.exact_share(fitness[mask], task_tables[t])
            trace_metric[mask] = pareto.exact_share(traces[mask], task_tables[t])
            optimum[t] = (1.0 - 1e-6, 1.0)
            fitness[mask] = metric[mask]
            continue
        metric[mask] = task_tables[t].to_metric(fitness[mask])
        trace_metric[mask] = task_tables[t].to_metric(traces[mask])
        best = float(task_tables[t].optimum)
        optimum[t] = (float(np.float32(best)), float(task_tables[t].to_metric(np.asarray([best]))[0]))
    best_ops, queries, trace_queries = np.asarray(res.best_ops), np.asarray(res.queries), np.asarray(res.queries_trace)
    out = []
    for j in range(n):
        entry, table = entries[cells.config[j]], task_tables[cells.task[j]]
        opt_fitness, opt_metric = optimum[cells.task[j]]
        several = _several(table)
        out.append(dict(
            label=entry.label, method=gen.name, settings=entry.recorded,
            benchmark=table.info.benchmark, dataset=table.info.dataset,
            metric=_hv_metric(table) if several else table.info.metric,
            goal="max" if several else table.goal,
            seed=int(cells.seed[j]), best=_finite(metric[j]),
            optimum=opt_metric, hit=bool(math.isfinite(fitness[j]) and fitness[j] >= opt_fitness),
            queries=int(queries[j]), arch=table.space.to_string(best_ops[j]) if math.isfinite(metric[j]) else None,
            trace_queries=trace_queries[j].tolist(), trace_best=[_finite(v) for v in trace_metric[j]],
            seconds=seconds, devices=devices, processes=processes, jaxnag=__version__,
            **(_front_fields(table, res, j) if several else {})))
    return out


def _hv_metric(obj) -> str:
    """What a multi-objective cell's ``best`` measures."""
    return "hypervolume share: " + " x ".join(obj.names)


def _several(table) -> bool:
    """Whether a task is several objectives (:class:`jaxnag.tables.Objectives`)."""
    return hasattr(table, "exact_front")


def _front_fields(obj, res, j) -> dict:
    """A multi-objective cell's front (architectures and metrics) and its IGD+ against the exact front."""
    from . import pareto
    size = int(np.asarray(res.extras["front_size"])[j])
    vals = np.asarray(res.extras["front_values"])[j, :size]
    ops = np.asarray(res.extras["front_ops"])[j, :size]
    return dict(front=[obj.space.to_string(o) for o in ops], front_metrics=obj.to_metric(vals).tolist(),
                igd_plus=_finite(pareto.exact_igd(vals, obj)))


def run_grid(path, *, out=None, chunk: int | None = None, devices: int | None = None, progress: bool = True,
        plot: bool = True, echo: bool = True, overwrite: bool = False) -> list[dict]:
    """Run (or resume) the grid file at ``path``; returns the summary rows (see :func:`summarise`).

    Every process of a multi-process run calls it; process 0 reads and writes the results file.
    ``progress`` shows a progress bar, ``plot`` writes ``<out>.png``, ``echo`` prints the summary.

    Before any cell runs, process 0 checks what it will write: the results file must be writable (its
    folder exists, is not read-only or full), be this grid's (every line a record of one of its methods,
    with the same settings, on one of its tasks; only a last line cut short by a kill is dropped, with a
    line on stderr) and not be in use by another ``jaxnag bench`` (an exclusive lock, held until the end);
    the summary ``<out>.md`` and plot ``<out>.png`` are replaced only where bench wrote them (or with
    ``overwrite``), atomically. Every call's memory is estimated before the first one runs. Ctrl-C stops
    after the current chunk: the finished cells are in the file and the same call resumes.

    Raises:
      ConfigError, DataError: a bad grid or argument, a results file of another grid, a grid whose calls
        do not fit in memory. ``outputs.OutputError``: a path that cannot or must not be written, a results
        file in use. ``Interrupted``: Ctrl-C, after the finished cells were saved.

    Examples:
      >>> import pathlib, tempfile
      >>> from jaxnag import bench
      >>> with tempfile.TemporaryDirectory() as d:
      ...     grid = pathlib.Path(d) / "g.toml"
      ...     _ = grid.write_text('seeds = 2\\n[[benchmarks]]\\nname = "nasbench_graph"\\ndatasets = ["cora"]\\n'
      ...                         '[[methods]]\\nname = "random"\\nsettings = {budget = 20}\\n')
      ...     first = bench.run_grid(grid, progress=False, plot=False, echo=False)
      ...     again = bench.run_grid(grid, progress=False, plot=False, echo=False)  # resumed: every cell is done
      ...     print(first == again, len(bench.read_results(grid.with_suffix(".jsonl"))),
      ...           sorted(p.name for p in grid.parent.iterdir()))
      True 2 ['g.jsonl', 'g.md', 'g.toml']
      >>> first[0]["runs"], first[0]["mean_queries"]
      (2, 20.0)
    """
    import jax

    from . import parallel, tables
    _check_args(path, out, chunk, devices)
    grid = load(path, out=out, chunk=chunk, devices=devices)
    if grid.devices is not None and jax.process_count() > 1:
        raise ConfigError(f"{grid.path}: devices: a multi-process run uses every device of every process")
    mesh = parallel.mesh(grid.devices)
    lead = jax.process_index() == 0
    flag = "--out" if out is not None else "results file"  # the grid's out, or its name with .jsonl
    results, failure = None, None
    try:
        if lead:
            md, png = _check_outputs(grid, flag, plot, overwrite)
            results = _Results(grid, flag)
    except JaxnagError as e:
        failure = e
    ok = False
    try:
        _agree(failure)
        done = results.done if lead else {}
        jobs = list(_jobs(grid))
        for job in jobs:
            job.preflight(grid.path)
        plans = []
        for job in jobs:
            table = tables.stack_objectives(job.tables) if _several(job.tables[0]) else tables.stack(job.tables)
            cells = parallel.cells(len(job.configs), len(job.tables), grid.seeds)
            keys = [_key(job.entries[c].label, job.tables[t].info.benchmark, job.tables[t].info.dataset, s)
                    for c, t, s in zip(cells.config, cells.task, cells.seed)]
            todo = np.asarray([k not in done for k in keys], bool)
            if jax.process_count() > 1:
                from jax.experimental import multihost_utils
                todo = np.asarray(multihost_utils.broadcast_one_to_all(todo), bool)
            if todo.any():
                plans.append((job, table, cells, todo))
        failure = None
        try:
            for i, (job, table, cells, todo) in enumerate(plans):  # compiles every call (kept for the run)
                t0 = time.perf_counter()
                _check_memory(grid, job, table, todo, mesh)
                plans[i] = (job, table, cells, todo, time.perf_counter() - t0)  # counted in the first chunk
        except JaxnagError as e:
            failure = e
        _agree(failure)
        try:
            _run_cells(grid, plans, mesh, results, progress=progress and lead)
            if lead:
                mine = [done[k] for k in _grid_keys(grid) if k in done]
                rows = summarise(mine)
                drawn = plot and _write_plot(mine, png)
                with outputs.atomic(md, "summary") as tmp:
                    tmp.write_text(_markdown(grid, rows, mine, drawn))
        except outputs.OutputError as e:  # a disk that filled up during the run
            if not lead:
                raise
            saved = sum(k in results.done for k in _grid_keys(grid))
            raise outputs.OutputError(f"{e}; {saved} of {grid.num_cells} cells are saved" + (
                f" in {grid.out} (run the same command to resume)" if saved else "")) from None
        ok = True
    except KeyboardInterrupt:
        if results is None:
            raise Interrupted("interrupted" + ("; nothing was written" if lead else "")) from None
        saved = sum(k in results.done for k in _grid_keys(grid))
        raise Interrupted(f"interrupted: {saved} of {grid.num_cells} cells are saved in {grid.out}; run the same "
                          "command to resume") from None
    finally:
        if results is not None:
            results.close(failed=not ok)
    if not lead:
        return []
    if echo:
        _print_table(rows)
        print(f"jaxnag: {len(mine)} cells in {grid.out}; summary in {md}" + (f", plot in {png}" if drawn else ""),
              file=sys.stderr)
    return rows


def _check_args(path, out, chunk, devices) -> None:
    """``run``'s arguments, checked before the grid file is read."""
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"path must be the grid file's path (a str or os.PathLike), got {path!r}")
    if not str(path).strip():
        raise ConfigError("path is empty: name the grid file")
    if out is not None:
        if not isinstance(out, (str, os.PathLike)):
            raise ConfigError(f"out must be a results file path (a str or os.PathLike), got {out!r}")
        if not str(out).strip():
            raise outputs.OutputError("--out is empty: name a path")
    if chunk is not None:
        check_int("chunk", chunk, lo=1)
    if devices is not None:
        check_int("devices", devices, lo=1)


def _check_outputs(grid: Grid, flag: str, plot: bool, overwrite: bool) -> tuple[Path, Path]:
    """Check, before anything runs, the results file (writable: its folder exists and is not read-only or
    full; a regular file) and the summary and plot beside it (replaced only where bench wrote them, or
    with ``overwrite``). Returns the summary's and the plot's paths."""
    import stat
    out = outputs.check_file(grid.out, flag, append=True)
    if out.exists() and not stat.S_ISREG(out.stat().st_mode):
        raise outputs.OutputError(f"{flag} {out} is not a regular file; name a file")
    if out.suffix.lower() in (".md", ".png"):
        raise outputs.OutputError(f"{flag} {out}: the summary and the plot are written beside the results as "
                                  ".md and .png; give the results file another suffix (.jsonl)")
    md, png = out.with_suffix(".md"), out.with_suffix(".png")
    for what, path, ours in (("summary", md, _our_summary), ("plot", png, _our_plot)):
        if what == "plot" and not plot:
            continue
        if path.resolve() == grid.path.resolve():
            raise outputs.OutputError(f"the {what} {path} would replace the grid file; name the results otherwise "
                                      "(--out)")
        if path.is_dir():
            raise outputs.OutputError(f"the {what} {path} is a folder; move it away or name the results otherwise "
                                      "(--out)")
        if path.exists() and not overwrite and not ours(path):
            raise outputs.OutputError(f"{path} exists and is not a jaxnag bench {what}; nothing is overwritten "
                                      "(pass --overwrite to replace it, or write the results elsewhere with --out)")
    return md, png


_SUMMARY_HEAD = "# jaxnag bench:"
_PLOT_SOFTWARE = "jaxnag bench"


def _our_summary(path: Path) -> bool:
    """Whether ``path`` is a summary bench wrote (its first line)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(_SUMMARY_HEAD)) == _SUMMARY_HEAD.encode()
    except OSError:
        return False


def _png_text(path: Path) -> dict[str, str]:
    """The tEXt chunks of a PNG file (empty for anything else)."""
    import struct
    text = {}
    try:
        with open(path, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                return {}
            while True:
                head = f.read(8)
                if len(head) < 8:
                    break
                size, kind = struct.unpack(">I4s", head)
                if kind == b"IDAT" or kind == b"IEND":  # matplotlib writes its text before the image data
                    break
                body = f.read(size)
                f.seek(4, os.SEEK_CUR)  # the CRC
                if kind == b"tEXt" and b"\0" in body:
                    key, _, value = body.partition(b"\0")
                    text[key.decode("latin-1")] = value.decode("latin-1")
    except (OSError, struct.error):
        return {}
    return text


def _our_plot(path: Path) -> bool:
    """Whether ``path`` is a plot bench wrote (its PNG text says so)."""
    return _png_text(path).get("Software") == _PLOT_SOFTWARE


def _agree(failure: BaseException | None) -> None:
    """Raise ``failure``; in a multi-process run, every process first learns whether any process failed
    (so none waits for the others forever), and those that did not fail raise a line naming the one that
    did."""
    import jax
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils
        failed = np.asarray(multihost_utils.process_allgather(np.int32(failure is not None)))
        if failure is None and failed.any():
            raise ConfigError(f"process {int(np.argmax(failed))} refused the run (see its error)")
    if failure is not None:
        raise failure


def _sync(failure: BaseException | None, stop) -> bool:
    """At a chunk boundary: raise ``failure`` (process 0's failed append), and say whether Ctrl-C was pressed.
    In a multi-process run every process learns both from every other, so all stop at the same chunk and
    none waits for a process that left."""
    import jax
    pressed = stop.raised
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils
        flags = np.asarray(multihost_utils.process_allgather(np.asarray([failure is not None, stop.raised],
                                                                        np.int32))).reshape(-1, 2)
        if failure is None and flags[:, 0].any():
            raise ConfigError(f"process {int(np.argmax(flags[:, 0]))} stopped the run (see its error)")
        pressed = bool(flags[:, 1].any())
    if failure is not None:
        raise failure
    return pressed


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


def _check_memory(grid: Grid, job, table, todo, mesh, share: float = 0.8) -> None:
    """Refuse, with how many cells fit, a call that needs more than ``share`` of a device's free memory."""
    from . import parallel
    estimate = parallel.call_memory(job.gen, grid.seeds, table, job.space, job.configs, mesh=mesh, chunk=grid.chunk,
                                    select=todo, **job.context)
    free = parallel.device_memory()
    if estimate is None or free is None:
        return
    per_call, need = estimate
    cells = per_call // mesh.devices.size  # per device
    if need <= share * free:
        return
    fit = int(share * free // (need / cells))
    where = f"{grid.path}: {job.entries[0].where} ({job.gen.name}) on {job.tables[0].name}"
    if fit < 1:
        raise ConfigError(f"{where}: one cell needs about {_size(need / cells)} and a device has {_size(free)} free: "
                          "not even one cell fits; use smaller settings")
    fits = f"{fit} cell fits" if fit == 1 else f"{fit} cells fit"
    raise ConfigError(f"{where}: a call of {cells} cells per device needs about {_size(need)} and a device has "
                      f"{_size(free)} free: about {fits} per device; set chunk = {fit * mesh.devices.size} or less "
                      "(--chunk)")


def _run_cells(grid: Grid, plans, mesh, results, progress: bool) -> None:
    """Run the planned cells chunk by chunk, appending each chunk's records (process 0); Ctrl-C stops after
    the current chunk (``KeyboardInterrupt`` then)."""
    import jax

    from . import parallel
    from .interrupts import StopFlag
    lead = results is not None
    bar = _Progress(grid.num_cells, sum(k in results.done for k in _grid_keys(grid)) if lead else 0,
                    enabled=progress)
    stop = StopFlag("jaxnag: Ctrl-C: stopping after this chunk (Ctrl-C again to stop at once)" if progress else None)
    try:
        for (gen, space, entries, configs, task_tables, ctx, notes), table, cells, todo, compiling in plans:
            t0 = time.perf_counter() - compiling
            for index, res in parallel.run_chunks(gen, grid.seeds, table, space, configs, mesh=mesh,
                                                  chunk=grid.chunk, select=todo, **ctx):
                gen.check_result(res, configs[0], notes)
                seconds = (time.perf_counter() - t0) / len(index)
                sub = parallel.Cells(cells.config[index], cells.task[index], cells.seed[index], cells.shape)
                records = _records(gen, entries, task_tables, sub, res, seconds, mesh.devices.size,
                                   jax.process_count())
                failure = None
                if lead:
                    try:
                        results.append(records)
                    except JaxnagError as e:
                        failure = e
                bar.advance(len(index))
                if _sync(failure, stop):
                    raise KeyboardInterrupt
                t0 = time.perf_counter()
    finally:
        stop.restore()
        bar.close()


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
    mean unique queries, total seconds.

    Examples:
      >>> from jaxnag import bench
      >>> records = [dict(label="random", benchmark="nb201", dataset="cifar10", best=b, hit=h, optimum=94.37,
      ...                 goal="max", queries=q, seconds=1.5) for b, h, q in ((93.5, False, 100), (94.37, True, 80))]
      >>> row, = bench.summarise(records)
      >>> row["runs"], row["hit_rate"], round(row["mean_best"], 3), row["mean_queries"], row["seconds"]
      (2, 0.5, 93.935, 90.0, 3.0)
    """
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


def _write_plot(records: list[dict], path: Path) -> bool:
    """Write the plot of best-so-far against unique queries to ``path`` atomically, marked as bench's (PNG
    text ``Software``); False (and a line on stderr) without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("jaxnag: the plot needs matplotlib (pip install 'jaxnag[bench]'); skipped", file=sys.stderr)
        return False
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
    try:
        with outputs.atomic(path, "plot") as tmp:
            fig.savefig(tmp, dpi=110, metadata={"Software": _PLOT_SOFTWARE,
                                                "Description": "jaxnag bench: mean best so far against unique "
                                                               "queries"})
    finally:
        plt.close(fig)
    return True


__getattr__ = old_names("jaxnag.bench", {"run": "run_grid"}, globals())
