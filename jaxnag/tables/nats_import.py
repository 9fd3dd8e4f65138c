"""Convert an official NATS-Bench topology release into jaxnag's compact ``nb201.npz``.

Reads either form the ``nats_bench`` API reads:

- an archive folder (``NATS-tss-v1_0-3ffb9-simple`` or ``-full``): ``meta.pickle.pbz2``
  with ``meta_archs`` (the arch strings, row ``i`` = NB201 index ``i``) and one
  ``{index:06d}.pickle.pbz2`` per architecture holding ``{hp: ArchResults state}``;
- a single file ``NATS-tss-v1_0-3ffb9.pickle.pbz2`` with ``meta_archs`` and
  ``arch2infos`` (``{index: {hp: ArchResults state}}``).

Each ArchResults state holds ``all_results[(dataset, seed)]``, a ResultsCount state
with ``eval_acc1es['<set>@<epoch>']``, ``params`` and ``flop``. The output has the
columns of the shared ``nb201.npz`` (see the data README) plus ``valid_acc_*``:

- ``test_acc_{cifar10,cifar100,imagenet16}``: hp 200, last epoch, mean over seeds;
  cifar10 = trained on train+valid, ``ori-test``; the others ``x-test``.
- ``valid_acc_*``: hp 200, ``x-valid`` (cifar10 from the ``cifar10-valid`` runs).
- ``test_acc_12ep_*``: hp 12, same sets, mean over seeds.
- ``params_mb_*``, ``flops_m_*``: the release's own counters (mean over seeds).

Unpickling is restricted to plain containers and numpy scalars, so a file holding
network weights (the ``-full`` archive stores torch tensors) is refused with a
pointer to the ``-simple`` archive. Only import files you obtained from the release.
"""

from __future__ import annotations

import bz2
import io
import pickle
import sys
from pathlib import Path

import numpy as np

from ..spaces import get as get_space
from ..spaces.nb201 import EDGES, OP_NAMES
from ..errors import DataError

__all__ = ["DATASETS", "import_nats", "read_pbz2"]

DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16": "ImageNet16-120"}
_TEST_SET = {"cifar10": "ori-test", "cifar100": "x-test", "ImageNet16-120": "x-test"}
_SAFE = {
    ("collections", "OrderedDict"), ("collections", "defaultdict"),
    ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "tuple"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _SAFE:
            return super().find_class(module, name)
        raise DataError(
            f"refusing to unpickle {module}.{name}: NATS-Bench files should hold plain results only. "
            "Use the '-simple' archive (NATS-tss-v1_0-3ffb9-simple), which has no network weights")


def read_pbz2(path: Path):
    """Load one ``.pickle.pbz2`` file of the release, with the restricted unpickler."""
    try:
        raw = bz2.decompress(Path(path).read_bytes())
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{path}: not a readable bz2 file ({e}); is the download complete?") from None
    try:
        return _RestrictedUnpickler(io.BytesIO(raw)).load()
    except DataError:
        raise
    except Exception as e:
        raise DataError(f"{path}: corrupt pickle ({type(e).__name__}: {e})") from None


def _last_epoch_acc(result: dict, setname: str) -> float:
    epochs = int(result["epochs"])
    key = f"{setname}@{epochs - 1}"
    accs = result.get("eval_acc1es") or {}
    if key not in accs:
        return float("nan")
    return float(accs[key])


def _mean_over_seeds(arch_results: dict, dataset: str, fn) -> float:
    seeds = (arch_results.get("dataset_seed") or {}).get(dataset, [])
    vals = [fn(arch_results["all_results"][(dataset, s)]) for s in seeds]
    vals = [v for v in vals if np.isfinite(v)]
    return float(np.mean(vals)) if vals else float("nan")


def _row(hp2results: dict) -> dict[str, float]:
    row = {}
    h200, h12 = hp2results.get("200"), hp2results.get("12")
    for short, ds in DATASETS.items():
        row[f"test_acc_{short}"] = (_mean_over_seeds(h200, ds, lambda r: _last_epoch_acc(r, _TEST_SET[ds]))
                                    if h200 else np.nan)
        vds = "cifar10-valid" if ds == "cifar10" else ds
        row[f"valid_acc_{short}"] = (_mean_over_seeds(h200, vds, lambda r: _last_epoch_acc(r, "x-valid"))
                                     if h200 else np.nan)
        row[f"test_acc_12ep_{short}"] = (_mean_over_seeds(h12, ds, lambda r: _last_epoch_acc(r, _TEST_SET[ds]))
                                         if h12 else np.nan)
        src = h200 or h12
        row[f"params_mb_{short}"] = _mean_over_seeds(src, ds, lambda r: float(r["params"])) if src else np.nan
        row[f"flops_m_{short}"] = _mean_over_seeds(src, ds, lambda r: float(r["flop"])) if src else np.nan
    return row


def _iter_release(path: Path):
    """Yield ``(meta_archs, [(index, hp2results), ...])`` from a folder or single file."""
    if path.is_dir():
        meta_path = path / "meta.pickle.pbz2"
        if not meta_path.is_file():
            raise DataError(f"{path} has no meta.pickle.pbz2: not a NATS-Bench topology archive folder")
        meta = read_pbz2(meta_path)
        if not isinstance(meta, dict) or "meta_archs" not in meta:
            raise DataError(f"{meta_path}: expected a dict with 'meta_archs'")
        files = sorted(p for p in path.glob("*.pickle.pbz2") if p.name.split(".")[0].isdigit())
        if not files:
            raise DataError(f"{path} holds no per-architecture files (000000.pickle.pbz2, ...)")

        def items():
            for k, f in enumerate(files):
                if k and k % 1000 == 0:
                    print(f"  read {k}/{len(files)} architecture files", file=sys.stderr)
                data = read_pbz2(f)
                if not isinstance(data, dict):
                    raise DataError(f"{f}: expected a dict of hyper-parameter -> results")
                yield int(f.name.split(".")[0]), data
        return meta["meta_archs"], items()
    if path.is_file():
        data = read_pbz2(path)
        if not isinstance(data, dict) or "meta_archs" not in data or "arch2infos" not in data:
            raise DataError(f"{path}: expected a dict with 'meta_archs' and 'arch2infos'")
        return data["meta_archs"], iter(sorted(data["arch2infos"].items()))
    raise DataError(f"{path} does not exist")


def import_nats(path, out) -> dict[str, np.ndarray]:
    """Convert the release at ``path`` to ``out`` (.npz); returns the arrays written.

    Examples:
      >>> # jaxnag data import-nats ~/.torch/NATS-tss-v1_0-3ffb9-simple --out data/nb201.npz
    """
    path, out = Path(path).expanduser(), Path(out).expanduser()
    if out.suffix != ".npz":  # numpy would add it: the file named is the file written
        out = out.with_name(out.name + ".npz")
    space = get_space("nb201")
    meta_archs, items = _iter_release(path)
    rows, index, strs, ops = [], [], [], []
    for idx, hp2results in items:
        if not 0 <= idx < len(meta_archs):
            raise DataError(f"architecture index {idx} is outside meta_archs (len {len(meta_archs)})")
        arch = str(meta_archs[idx])
        try:
            ops.append(space.from_string(arch))
        except ValueError as e:
            raise DataError(f"index {idx}: {e}") from None
        try:
            rows.append(_row(hp2results))
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"index {idx}: unexpected result layout ({type(e).__name__}: {e})") from None
        index.append(idx)
        strs.append(arch)
    if not rows:
        raise DataError(f"{path}: no architectures found")
    ops_arr = np.stack(ops).astype(np.int8)
    canon = np.asarray(space.canonical(ops_arr.astype(np.int32)))
    _, unique_id = np.unique(canon, return_inverse=True)
    arrays = dict(index=np.asarray(index, np.int32), arch_str=np.asarray(strs), ops=ops_arr,
                  op_names=np.asarray(OP_NAMES), edges=np.asarray(EDGES, np.int8),
                  unique_id=unique_id.astype(np.int32))
    for key in rows[0]:
        arrays[key] = np.asarray([r[key] for r in rows], np.float32)
    out.parent.mkdir(parents=True, exist_ok=True)
    from .. import outputs
    with outputs.atomic(out, "--out") as tmp:  # never a half-written table (Ctrl-C, a full disk)
        np.savez_compressed(tmp, **arrays)
    return arrays
