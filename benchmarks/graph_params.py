"""The graph spaces' networks against NASLib's numbers: parameter and FLOP counts of all 500 NB101 and all 500 NB301
cells of NASLib's zero-cost subsets (``naslib_zc_subsets.npz``; FLOPs of its NB201 and TransNAS-Bench-101 micro
cells too), and NB101's isomorphism hash on them.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/graph_params.py [--out docs]

Writes ``graph_params.md`` / ``.json``: per space, how many counts equal NASLib's to 1e-6 relative (NASLib stores
millions as float32), the largest relative difference (FLOPs counted with ``convention="naslib"``; the
multiply-adds beside them), and for NB301 the same count with the ops' batch norms
affine (DARTS's evaluation network) to show what NASLib leaves out; DARTS-V2 at DARTS's size beside the 3.349342 M
that DARTS's train.py prints; the NB101 cells that share a spec hash and how far their listed values differ.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, report  # noqa: E402

from jaxnag.models import darts as darts_net  # noqa: E402
from jaxnag.models import nb101 as nb101_net  # noqa: E402
from jaxnag.models import nb201 as nb201_net  # noqa: E402
from jaxnag.models import tnb101 as tnb101_net  # noqa: E402
from jaxnag import tables  # noqa: E402
from jaxnag.spaces import darts, nb101  # noqa: E402


def _compare(ours_m: np.ndarray, theirs: np.ndarray) -> dict:
    rel = np.abs(ours_m - theirs) / theirs
    return dict(n=len(theirs), equal=int((rel <= 1e-6).sum()), max_rel=float(rel.max()))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=os.environ.get("JAXNAG_DATA_DIR", "../shared/data"))
    p.add_argument("--out", default=None, help="folder for graph_params.md / .json")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    a_sub, b_sub = (tables.naslib_subset(b, args.data_dir) for b in ("nb101", "nb301"))

    cells = a_sub.ops
    nb101_params = np.array([nb101_net.param_count(c) for c in cells]) / 1e6
    hashes = [nb101.spec_hash(c) for c in cells]
    by_hash = collections.defaultdict(list)
    for i, h in enumerate(hashes):
        by_hash[h].append(i)
    groups = [g for g in by_hash.values() if len(g) > 1]
    spread = {k: float(max(np.ptp(a_sub.metrics[k][g]) for g in groups)) for k in ("val_accuracy", "params")}
    params_differ = sum(np.ptp(a_sub.metrics["params"][g]) > 0 for g in groups)
    edges_raw = cells[:, :len(nb101.EDGES)].sum(1)  # the encoding keeps every listed edge, dead ones too
    out = dict(nb101=dict(params=_compare(nb101_params, a_sub.metrics["params"]), distinct_hashes=len(by_hash),
                          shared_hash_groups=len(groups), groups_with_different_params=int(params_differ),
                          max_spread_in_group=spread, raw_edges_over_9=int((edges_raw > 9).sum())))

    nb101_flops = np.array([nb101_net.flops(c, convention="naslib") for c in cells]) / 1e6
    nb101_macs = np.array([nb101_net.flops(c) for c in cells]) / 1e6
    out["nb101"].update(flops=_compare(nb101_flops, a_sub.metrics["flops"]),
                        macs_share=float(np.mean(nb101_macs / a_sub.metrics["flops"])))

    genotypes = b_sub.ops
    naslib = np.array([darts_net.param_count(g, **darts_net.NASLIB_NB301) for g in genotypes]) / 1e6
    affine = np.array([darts_net.param_count(g, **{**darts_net.NASLIB_NB301, "affine": True}) for g in genotypes]) / 1e6
    theirs = b_sub.metrics["params"]
    out["nb301"] = dict(params=_compare(naslib, theirs), params_affine_ops=_compare(affine, theirs),
                        affine_excess_mean=float(np.mean(affine - theirs)),
                        darts_v2_millions=darts_net.param_count(darts.DARTS_V2) / 1e6)
    b_flops = np.array([darts_net.flops(g, convention="naslib", **darts_net.NASLIB_NB301) for g in genotypes]) / 1e6
    b_macs = np.array([darts_net.flops(g, **darts_net.NASLIB_NB301) for g in genotypes]) / 1e6
    out["nb301"].update(flops=_compare(b_flops, b_sub.metrics["flops"]),
                        macs_share=float(np.mean(b_macs / b_sub.metrics["flops"])),
                        darts_v2_macs_millions=darts_net.flops(darts.DARTS_V2) / 1e6)
    out["nb201"] = {}
    z = np.load(Path(tables.data_dir(args.data_dir)) / "naslib_zc_subsets.npz")
    for dataset, key, classes, resolution in (("cifar10", "cifar10", 10, 32), ("cifar100", "cifar100", 100, 32),
                                              ("imagenet16", "ImageNet16-120", 120, 16)):
        ops = tables.load("nb201", dataset, data_dir=args.data_dir).info.row_ops[z[f"nb201/{key}/nb201_index"]]
        naslib = nb201_net.flops(ops, classes=classes, resolution=resolution, convention="naslib") / 1e6
        out["nb201"][dataset] = _compare(naslib, z[f"nb201/{key}/flops"])
    out["tnb101"] = {}
    for task, classes in (("class_object", 100), ("class_scene", 63), ("room_layout", 9)):  # the linear heads
        naslib = tnb101_net.flops(z[f"tnb101_micro/{task}/arch"], classes=classes, convention="naslib") / 1e6
        out["tnb101"][task] = _compare(naslib, z[f"tnb101_micro/{task}/flops"])
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["machine"] = describe()
    report(args.out, "graph_params", out, _markdown(out))
    every = ([out[s][k] for s in ("nb101", "nb301") for k in ("params", "flops")] + list(out["nb201"].values())
             + list(out["tnb101"].values()))
    return 0 if all(c["equal"] == c["n"] for c in every) else 1


def _flop_rows(o: dict) -> str:
    rows = [("NB101", o["nb101"]["flops"], f"{o['nb101']['macs_share']:.3f}"),
            ("NB301 (`NASLIB_NB301`)", o["nb301"]["flops"], f"{o['nb301']['macs_share']:.3f}")]
    rows += [(f"NB201 {d}", c, "") for d, c in o["nb201"].items()]
    rows += [(f"TransNAS-Bench-101 micro {t} (256 x 256)", c, "") for t, c in o["tnb101"].items()]
    return "".join(f"| {label} | {c['n']} | {c['equal']} | {c['max_rel']:.1e} | {share} |\n" for label, c, share in rows)


def _markdown(o: dict) -> str:
    a, b = o["nb101"], o["nb301"]
    return f"""# The graph spaces' networks against NASLib's parameter and FLOP counts

`JAXNAG_DATA_DIR=../shared/data python benchmarks/graph_params.py --out docs` ({o['seconds']} s; {o['machine']}).
NASLib's zero-cost subsets list 500 NB101 cells and 500 NB301 (DARTS) genotypes with the parameter and FLOP counts
of the network NASLib built for each (millions, float32). Ours: `jaxnag.models.nb101.param_count` and
`jaxnag.models.darts.param_count`, each equal to the parameters of its NNX network (`tests/test_graph_spaces.py`),
and the modules' `flops`, whose multiply-adds equal what the networks' jaxprs compute (the same tests).

| space | cells | equal to NASLib's (1e-6 relative) | largest relative difference |
|---|---|---|---|
| NB101 (128 channels, 3 stacks x 3 cells) | {a['params']['n']} | {a['params']['equal']} | {a['params']['max_rel']:.1e} |
| NB301 as NASLib builds it (`NASLIB_NB301`: C = 32, 8 cells, ops' batch norms without scale and shift) | {b['params']['n']} | {b['params']['equal']} | {b['params']['max_rel']:.1e} |
| NB301 with the ops' batch norms affine (DARTS's evaluation network) | {b['params_affine_ops']['n']} | {b['params_affine_ops']['equal']} | {b['params_affine_ops']['max_rel']:.1e} |

FLOPs on one image (32 x 32; NB201 ImageNet16-120 16 x 16), `flops(..., convention="naslib")`: NASLib's `flops` come
from tensorwatch's `ModelStats` on a batch of one, which counts convolutions (multiply-adds), batch norm (1 per
element, 2 with scale and shift), ReLU (1 per element), pooling (the window per output; global pooling as
(side + 1)^2 per channel) and the classifier without its bias; NASLib's NB301 network also has a batch norm without
scale and shift after each pooling op.

| cells | counted | equal to NASLib's (1e-6 relative) | largest relative difference | `"macs"` / NASLib's count |
|---|---|---|---|---|
{_flop_rows(o)}
- **The difference explained (NB301)**: NASLib builds the DARTS ops with `affine=False` batch norms; counted with
  them affine, every cell has more parameters (on average {1e6 * b['affine_excess_mean']:,.0f}), exactly the ops'
  batch-norm scales and shifts. The preprocessing batch norms are affine in both.
- **DARTS-V2** at DARTS's size (C = 36, 20 cells, no auxiliary head): {b['darts_v2_millions']:.6f} M; DARTS's
  `train.py` prints `param size = 3.349342MB` for it. Its multiply-adds on a CIFAR image:
  {b['darts_v2_macs_millions']:.2f} M.
- **NB101's cells as NASLib lists them** are unpruned 7 x 7 matrices: {a['raw_edges_over_9']} of 500 have more than
  9 edges before pruning (none after it, as NB101 requires). The 500 fall into {a['distinct_hashes']} distinct
  spec hashes (`jaxnag.spaces.nb101.spec_hash`, NB101's `hash_spec`): {a['shared_hash_groups']} hashes are listed
  more than once. Within such a group the listed validation accuracy differs by up to
  {a['max_spread_in_group']['val_accuracy']:.2f} points (NB101 holds three training runs per cell) and the
  parameter count by up to {a['max_spread_in_group']['params']:.4f} M in {a['groups_with_different_params']} groups:
  NB101's channel split gives the remainder channels to the lowest-numbered nodes, so isomorphic cells with nodes in
  another order can differ by a few parameters; our network reproduces each listed count, so it splits as NB101 does.
- Not checked here: the hash against NB101's own table (not available here).
"""


if __name__ == "__main__":
    raise SystemExit(main())
