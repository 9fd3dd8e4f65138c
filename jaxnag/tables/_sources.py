"""Where benchmark tables come from: the data directory and the nas-bench-graph package.

Every loader validates what it reads and raises :class:`DataError` with the file
it needed and how to get it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from .. import spaces
from ..errors import ConfigError, DataError, UnknownName
from ._table import GOALS, Table, from_arrays

ENV_VAR = "JAXNAG_DATA_DIR"

_NB201_HOWTO = (
    "Build it from the official NATS-Bench topology release with "
    "`jaxnag data import-nats PATH/NATS-tss-v1_0-3ffb9-simple --out DIR/nb201.npz`, "
    f"then point {ENV_VAR} (or --data-dir) at DIR")


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """A benchmark jaxnag can load: its space, datasets, metrics and source.

    ``minimised`` names the metrics that are better when smaller (costs); every other
    metric is maximised. ``default_dataset`` is used when none is named.

    Examples:
      >>> from jaxnag import errors, tables
      >>> b = tables.BENCHMARKS["nb201"]
      >>> b.datasets, b.dataset(None), b.dataset("ImageNet16-120"), b.goal("flops_m")
      (('cifar10', 'cifar100', 'imagenet16'), 'cifar10', 'imagenet16', 'min')
      >>> try:
      ...     b.dataset("svhn")
      ... except errors.UnknownName as e:
      ...     print(e)
      unknown dataset 'svhn' for nb201; available: cifar10, cifar100, imagenet16
    """

    name: str
    space: str
    datasets: tuple[str, ...]
    metrics: tuple[str, ...]
    default_metric: str
    source: str
    howto: str
    aliases: dict = dataclasses.field(default_factory=dict)
    minimised: tuple[str, ...] = ()
    default_dataset: str | None = None

    def dataset(self, name: str | None) -> str:
        if name is None:
            return self.default_dataset or self.datasets[0]
        key = self.aliases.get(name, self.aliases.get(name.lower(), name))
        if key not in self.datasets:
            raise UnknownName(f"unknown dataset {name!r} for {self.name}; available: {', '.join(self.datasets)}")
        return key

    def goal(self, metric: str) -> str:
        """``"min"`` for a cost metric, else ``"max"``."""
        return "min" if metric in self.minimised else "max"


_NB201_ALIASES = {"ImageNet16-120": "imagenet16", "imagenet16-120": "imagenet16",
                  "imagenet": "imagenet16", "c10": "cifar10", "c100": "cifar100"}

BENCHMARKS: dict[str, Benchmark] = {
    b.name: b for b in [
        Benchmark("nb201", "nb201", ("cifar10", "cifar100", "imagenet16"),
                  ("test_acc", "test_acc_12ep", "params_mb", "flops_m"), "test_acc",
                  "nb201.npz in the data directory", _NB201_HOWTO, _NB201_ALIASES,
                  minimised=("params_mb", "flops_m"), default_dataset="cifar10"),
        Benchmark("tnb101_micro", "tnb101_micro",
                  ("class_scene", "class_object", "jigsaw", "room_layout", "segmentsemantic",
                   "normal", "autoencoder"),
                  ("val", "zen"), "val", "tnb101_micro.npz in the data directory",
                  "It is re-encoded from NASLib's TransNAS-Bench-101 zero-cost file "
                  f"(automl/NASLib, all_benchmarks_zen.zip); put it in {ENV_VAR}",
                  default_dataset="class_object"),
        Benchmark("hw360", "nb201", ("cifar100", "darcy", "ninapro"),
                  ("metric", "pi5/litert/lat_ms", "pi5/litert/energy_mj", "pi5/onnx/lat_ms",
                   "pi5/onnx/energy_mj", "pi5/torchmobile/lat_ms", "pi5/torchmobile/energy_mj",
                   "pixel/litert/lat_ms"),
                  "metric", "hw360_nb201.npz (and nb201.npz for the arch index) in the data directory",
                  "It is re-encoded from HW-NAS-Bench-360's results/dataset.parquet; put it and "
                  f"nb201.npz in {ENV_VAR}",
                  minimised=("pi5/litert/lat_ms", "pi5/litert/energy_mj", "pi5/onnx/lat_ms",
                             "pi5/onnx/energy_mj", "pi5/torchmobile/lat_ms", "pi5/torchmobile/energy_mj",
                             "pixel/litert/lat_ms"), default_dataset="cifar100"),
        Benchmark("nasbench_graph", "nasbench_graph",
                  ("arxiv", "citeseer", "computers", "cora", "cs", "photo", "physics", "proteins", "pubmed"),
                  ("test", "valid", "latency", "params"), "test",
                  "the installed nas-bench-graph package (or nasbench_graph.npz in the data directory)",
                  "pip install nas-bench-graph", minimised=("latency", "params"), default_dataset="cora"),
    ]
}
_BENCH_ALIASES = {"nasbench201": "nb201", "nats_tss": "nb201", "tnb101": "tnb101_micro",
                  "transnas_micro": "tnb101_micro", "hw_nas_bench_360": "hw360", "hw360_nb201": "hw360",
                  "nbg": "nasbench_graph", "nas_bench_graph": "nasbench_graph"}


def benchmark(name: str) -> Benchmark:
    """The :class:`Benchmark` called ``name``; unknown names raise ``KeyError``.

    Examples:
      >>> from jaxnag import tables
      >>> b = tables.benchmark("NATS-TSS")  # an alias of nb201
      >>> b.name, b.space, b.dataset("c100"), b.default_metric, b.goal("params_mb")
      ('nb201', 'nb201', 'cifar100', 'test_acc', 'min')
    """
    key = name.lower().replace("-", "_")
    key = _BENCH_ALIASES.get(key, key)
    if key not in BENCHMARKS:
        raise UnknownName(f"unknown benchmark {name!r}; available: {', '.join(BENCHMARKS)}")
    return BENCHMARKS[key]


def data_dir(path: str | os.PathLike | None = None) -> Path | None:
    """The data directory: ``path`` if given, else ``$JAXNAG_DATA_DIR``, else ``None``.

    Examples:
      >>> import os
      >>> from unittest import mock
      >>> from jaxnag import tables
      >>> with mock.patch.dict(os.environ, {"JAXNAG_DATA_DIR": "/data/nas"}):  # os.environ restored after
      ...     print(tables.data_dir(), tables.data_dir("/elsewhere"))
      ...     del os.environ["JAXNAG_DATA_DIR"]
      ...     print(tables.data_dir())
      /data/nas /elsewhere
      None
    """
    path = path if path is not None else os.environ.get(ENV_VAR)
    return Path(path).expanduser() if path else None


def open_npz(filename: str, directory: str | os.PathLike | None, howto: str,
             required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Read ``directory/filename`` fully into memory, with clear errors.

    Raises:
      DataError: no directory configured, file missing, truncated or corrupt, or
        a required key absent.
    """
    root = data_dir(directory)
    if root is None:
        raise DataError(f"{filename} is needed but no data directory is set: pass data_dir=... "
                        f"(--data-dir) or set {ENV_VAR}. {howto}")
    path = root / filename
    if not path.is_file():
        raise DataError(f"{filename} not found in {root}. {howto}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as e:  # reading is the boundary: whatever a damaged file raises means "corrupt"
        raise DataError(f"{path} is truncated or corrupt ({type(e).__name__}: {e}). "
                        f"Replace it with a fresh copy. {howto}") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise DataError(f"{path} does not match the expected format: missing keys {missing}. {howto}")
    return arrays


def _check_rows(path_desc: str, arrays: dict, key: str, n: int) -> np.ndarray:
    col = arrays[key]
    if col.shape[0] != n:
        raise DataError(f"{path_desc}: column {key!r} has {col.shape[0]} rows, expected {n}")
    return col


def _metric_key(bench: Benchmark, metric: str | None) -> str:
    metric = metric or bench.default_metric
    if metric not in bench.metrics:
        raise UnknownName(f"unknown metric {metric!r} for {bench.name}; available: {', '.join(bench.metrics)}")
    return metric


def _load_nb201(bench, dataset, metric, directory) -> Table:
    arrays = open_npz("nb201.npz", directory, bench.howto, ("ops",))
    key = f"{metric}_{dataset}"
    if key not in arrays:
        raise DataError(f"nb201.npz has no column {key!r} (metric {metric!r} on {dataset}); "
                        f"it has {sorted(k for k in arrays if k.endswith(dataset))}")
    ops = arrays["ops"]
    vals = _check_rows("nb201.npz", arrays, key, len(ops))
    space = spaces.get("nb201")
    if len(ops) != space.size:
        raise DataError(f"nb201.npz has {len(ops)} rows, expected all {space.size} NB201 cells. {bench.howto}")
    return from_arrays(space, ops, vals, benchmark=bench.name, dataset=dataset, metric=metric,
                       source=str(data_dir(directory) / "nb201.npz"), goal=bench.goal(metric))


def _load_tnb101(bench, dataset, metric, directory) -> Table:
    arrays = open_npz("tnb101_micro.npz", directory, bench.howto, ("ops",))
    key = f"{metric}_{dataset}"
    if key not in arrays:
        raise DataError(f"tnb101_micro.npz has no column {key!r}. {bench.howto}")
    ops = arrays["ops"]
    vals = _check_rows("tnb101_micro.npz", arrays, key, len(ops))
    return from_arrays(spaces.get("tnb101_micro"), ops, vals, benchmark=bench.name, dataset=dataset,
                       metric=metric, source=str(data_dir(directory) / "tnb101_micro.npz"), goal=bench.goal(metric))


def _load_hw360(bench, dataset, metric, directory) -> Table:
    arrays = open_npz("hw360_nb201.npz", directory, bench.howto, ("index",))
    key = f"metric_{dataset}" if metric == "metric" else "{}/{}/{}/{}".format(*metric.split("/")[:2], dataset,
                                                                              metric.split("/")[2])
    if key not in arrays:
        raise DataError(f"hw360_nb201.npz has no column {key!r}. {bench.howto}")
    nb = open_npz("nb201.npz", directory, _NB201_HOWTO, ("ops",))
    index = arrays["index"]
    if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer) or index.size == 0:
        raise DataError(f"hw360_nb201.npz: 'index' must be a non-empty 1-D integer array, got {index.dtype} "
                        f"{index.shape}. {bench.howto}")
    if index.min() < 0 or index.max() >= len(nb["ops"]):
        raise DataError("hw360_nb201.npz: arch index out of range of nb201.npz")
    vals = _check_rows("hw360_nb201.npz", arrays, key, len(index))
    return from_arrays(spaces.get("nb201"), nb["ops"][index], vals, benchmark=bench.name, dataset=dataset,
                       metric=metric, source=str(data_dir(directory) / "hw360_nb201.npz"), goal=bench.goal(metric))


_NBG_FIELDS = {"test": ("perf", "test"), "valid": ("valid_perf", "valid"),
               "latency": ("latency", "latency_s"), "params": ("para", "params_m")}


def _nbg_rows_from_package(dataset: str, metric: str):
    from nas_bench_graph import light_read  # the package's own bundled benchmark files
    bench = light_read(dataset)
    field = _NBG_FIELDS[metric][0]
    hashes = np.fromiter(bench.keys(), np.int64, len(bench))
    vals = np.asarray([float(bench[h][field]) for h in bench], np.float32)
    import nas_bench_graph
    return hashes, vals, f"nas-bench-graph {getattr(nas_bench_graph, '__version__', '?')} (PyPI)"


def _nbg_rows_from_npz(dataset: str, metric: str, directory):
    howto = "pip install nas-bench-graph (the default source), or put nasbench_graph.npz in the data directory"
    arrays = open_npz("nasbench_graph.npz", directory, howto, (f"{dataset}/hash",))
    return (arrays[f"{dataset}/hash"].astype(np.int64),
            arrays[f"{dataset}/{_NBG_FIELDS[metric][1]}"].astype(np.float32),
            str(data_dir(directory) / "nasbench_graph.npz"))


def _load_nbg(bench, dataset, metric, directory) -> Table:
    try:
        hashes, vals, source = _nbg_rows_from_package(dataset, metric)
    except ImportError:
        hashes, vals, source = _nbg_rows_from_npz(dataset, metric, directory)
    except Exception as e:  # a broken install: say so rather than a pickle traceback
        raise DataError(f"nas-bench-graph's bundled file for {dataset!r} could not be read ({e}); "
                        "reinstall with: pip install --force-reinstall nas-bench-graph") from None
    space = spaces.get("nasbench_graph")
    from ..spaces.nasbench_graph import encoding_hashes
    enc_hash, canon = encoding_hashes(), space.canonical_table()
    row_of_hash = {int(h): i for i, h in enumerate(hashes)}
    dense_index = np.asarray([row_of_hash.get(int(h), -1) for h in enc_hash], np.int64)
    # Each benchmark row is represented by the canonical encoding of its class.
    rep = np.full(len(hashes), -1, np.int64)
    has = dense_index >= 0
    rep[dense_index[has]] = np.where(has)[0]
    rep_canon = canon[rep[rep >= 0]]
    if (rep < 0).any():
        raise DataError(f"NAS-Bench-Graph {dataset}: {(rep < 0).sum()} rows have no encoding in the space "
                        f"(hash scheme mismatch in {source})")
    ops = space.unrank(rep_canon)
    return from_arrays(space, np.asarray(ops), vals, benchmark=bench.name, dataset=dataset, metric=metric,
                       source=source, dense_index=dense_index, goal=bench.goal(metric))


_LOADERS = {"nb201": _load_nb201, "tnb101_micro": _load_tnb101, "hw360": _load_hw360,
            "nasbench_graph": _load_nbg}


def load(benchmark_name: str, dataset: str | None = None, data_dir: str | os.PathLike | None = None,
         metric: str | None = None) -> Table:
    """Load one benchmark table as a jittable fitness :class:`Table`.

    Args:
      benchmark_name: ``nb201``, ``tnb101_micro``, ``hw360`` or ``nasbench_graph``.
      dataset: a dataset or task of that benchmark (``jaxnag benchmarks`` lists them); default
        the benchmark's ``default_dataset``.
      data_dir: folder with the ``.npz`` tables; default ``$JAXNAG_DATA_DIR``.
        NAS-Bench-Graph needs none (it reads the installed package).
      metric: which column; default the benchmark's accuracy-like metric. Cost metrics
        (latency, energy, params, FLOPs) are minimised: the table's fitness is their negation.

    Raises:
      UnknownName: unknown benchmark, dataset or metric (a ``KeyError``).
      DataError: missing, truncated, corrupt or mismatched data.

    Examples:
      >>> from jaxnag import tables
      >>> t = tables.load("nasbench_graph", "cora")
      >>> round(float(t.optimum), 4)
      0.8313
    """
    bench = benchmark(benchmark_name)
    ds = bench.dataset(dataset)
    metric = _metric_key(bench, metric)
    return _LOADERS[bench.name](bench, ds, metric, data_dir)


def load_custom(path: str | os.PathLike, space: str | spaces.SearchSpace, metric: str,
                goal: str = "max") -> Table:
    """Load a custom table: an ``.npz`` with int ``ops [n, R]`` and a float column ``metric [n]``.

    ``goal`` says whether the metric is maximised (``"max"``, default) or minimised (``"min"``).

    Raises:
      DataError: missing or corrupt file, missing key, wrong shapes, invalid or duplicate rows.

    Examples:
      >>> import pathlib, tempfile, numpy as np
      >>> from jaxnag import errors, spaces, tables
      >>> s = spaces.categorical("chain2", ("a", "b"), slots=2)
      >>> with tempfile.TemporaryDirectory() as d:
      ...     path = pathlib.Path(d) / "mine.npz"
      ...     np.savez(path, ops=np.array([[0, 1], [1, 1]]), ms=np.array([3.0, 2.0]))
      ...     t = tables.load_custom(path, s, "ms", goal="min")
      ...     try:
      ...         tables.load_custom(path, s, "acc")
      ...     except errors.DataError as e:
      ...         print(str(e).split(" has ")[1])
      no column 'acc'; columns: ms
      >>> t.info.dataset, t.goal, float(t.optimum), t.to_metric(t(np.array([1, 1]))).item()  # a cost: negated
      ('mine', 'min', -2.0, 2.0)
    """
    if goal not in GOALS:
        raise ConfigError(f"goal must be 'max' or 'min', got {goal!r}")
    space = spaces.get(space)
    path = Path(path)
    howto = f"A custom table is an .npz with an int array 'ops' of shape [n, {space.num_slots}] and float columns"
    arrays = open_npz(path.name, path.parent, howto, ("ops",))
    if metric not in arrays:
        cols = sorted(k for k in arrays if k != "ops")
        raise DataError(f"{path} has no column {metric!r}; columns: {', '.join(cols) or '(none)'}")
    ops = arrays["ops"]
    if not np.issubdtype(ops.dtype, np.integer):
        raise DataError(f"{path}: 'ops' must be an integer array, got {ops.dtype}")
    vals = arrays[metric]
    if not np.issubdtype(vals.dtype, np.number):
        raise DataError(f"{path}: column {metric!r} must be numeric, got {vals.dtype}")
    return from_arrays(space, ops, vals.astype(np.float32), benchmark="custom", dataset=path.stem,
                       metric=metric, source=str(path), goal=goal)


def availability(directory=None) -> list[dict]:
    """One entry per benchmark: datasets, metrics (with their goal), source and whether its data
    is present and readable (a corrupt file is reported as such, with the reason).

    Examples:
      >>> import tempfile
      >>> from jaxnag import tables
      >>> with tempfile.TemporaryDirectory() as d:  # an empty data directory
      ...     found = {e["benchmark"]: e for e in tables.availability(d)}
      >>> found["nb201"]["available"], found["nb201"]["datasets"], found["hw360"]["available"]
      (False, ['cifar10', 'cifar100', 'imagenet16'], False)
      >>> found["nb201"]["howto"].split(" from ")[0]  # what to do to get it
      'Build it'
    """
    root = data_dir(directory)
    out = []
    for b in BENCHMARKS.values():
        problem = None
        if b.name == "nasbench_graph":
            try:
                import nas_bench_graph  # noqa: F401
                present = True
            except ImportError:
                present = bool(root and (root / "nasbench_graph.npz").is_file())
        else:
            files = {"nb201": ["nb201.npz"], "tnb101_micro": ["tnb101_micro.npz"],
                     "hw360": ["hw360_nb201.npz", "nb201.npz"]}[b.name]
            present = bool(root) and all((root / f).is_file() for f in files)
            if present:
                try:
                    for f in files:
                        open_npz(f, root, b.howto, ("ops",) if f != "hw360_nb201.npz" else ("index",))
                except DataError as e:
                    present, problem = False, str(e)
        out.append(dict(benchmark=b.name, space=b.space, datasets=list(b.datasets), metrics=list(b.metrics),
                        minimised=list(b.minimised), default_dataset=b.dataset(None),
                        default_metric=b.default_metric, source=b.source, available=present,
                        problem=problem, howto=None if present else b.howto))
    return out
