"""The graph spaces' networks against NASLib's numbers: parameter counts of all 500 NB101 and all 500 NB301 cells
of NASLib's zero-cost subsets (``naslib_zc_subsets.npz``), and NB101's isomorphism hash on them.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/graph_params.py [--out docs]

Writes ``graph_params.md`` / ``.json``: per space, how many counts equal NASLib's to 1e-6 relative (NASLib stores
millions as float32), the largest relative difference, and for NB301 the same count with the ops' batch norms
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

    genotypes = b_sub.ops
    naslib = np.array([darts_net.param_count(g, **darts_net.NASLIB_NB301) for g in genotypes]) / 1e6
    affine = np.array([darts_net.param_count(g, **{**darts_net.NASLIB_NB301, "affine": True}) for g in genotypes]) / 1e6
    theirs = b_sub.metrics["params"]
    out["nb301"] = dict(params=_compare(naslib, theirs), params_affine_ops=_compare(affine, theirs),
                        affine_excess_mean=float(np.mean(affine - theirs)),
                        darts_v2_millions=darts_net.param_count(darts.DARTS_V2) / 1e6)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["machine"] = describe()
    report(args.out, "graph_params", out, _markdown(out))
    return 0 if out["nb101"]["params"]["equal"] == 500 and out["nb301"]["params"]["equal"] == 500 else 1


def _markdown(o: dict) -> str:
    a, b = o["nb101"], o["nb301"]
    return f"""# The graph spaces' networks against NASLib's parameter counts

`JAXNAG_DATA_DIR=../shared/data python benchmarks/graph_params.py --out docs` ({o['seconds']} s; {o['machine']}).
NASLib's zero-cost subsets list 500 NB101 cells and 500 NB301 (DARTS) genotypes with the parameter count of
the network NASLib built for each (millions, float32). Ours: `jaxnag.models.nb101.param_count` and
`jaxnag.models.darts.param_count`, each equal to the parameters of its NNX network (`tests/test_graph_spaces.py`).

| space | cells | equal to NASLib's (1e-6 relative) | largest relative difference |
|---|---|---|---|
| NB101 (128 channels, 3 stacks x 3 cells) | {a['params']['n']} | {a['params']['equal']} | {a['params']['max_rel']:.1e} |
| NB301 as NASLib builds it (`NASLIB_NB301`: C = 32, 8 cells, ops' batch norms without scale and shift) | {b['params']['n']} | {b['params']['equal']} | {b['params']['max_rel']:.1e} |
| NB301 with the ops' batch norms affine (DARTS's evaluation network) | {b['params_affine_ops']['n']} | {b['params_affine_ops']['equal']} | {b['params_affine_ops']['max_rel']:.1e} |

- **The difference explained (NB301)**: NASLib builds the DARTS ops with `affine=False` batch norms; counted with
  them affine, every cell has more parameters (on average {1e6 * b['affine_excess_mean']:,.0f}), exactly the ops'
  batch-norm scales and shifts. The preprocessing batch norms are affine in both.
- **DARTS-V2** at DARTS's size (C = 36, 20 cells, no auxiliary head): {b['darts_v2_millions']:.6f} M; DARTS's
  `train.py` prints `param size = 3.349342MB` for it.
- **NB101's cells as NASLib lists them** are unpruned 7 x 7 matrices: {a['raw_edges_over_9']} of 500 have more than
  9 edges before pruning (none after it, as NB101 requires). The 500 fall into {a['distinct_hashes']} distinct
  spec hashes (`jaxnag.spaces.nb101.spec_hash`, NB101's `hash_spec`): {a['shared_hash_groups']} hashes are listed
  more than once. Within such a group the listed validation accuracy differs by up to
  {a['max_spread_in_group']['val_accuracy']:.2f} points (NB101 holds three training runs per cell) and the
  parameter count by up to {a['max_spread_in_group']['params']:.4f} M in {a['groups_with_different_params']} groups:
  NB101's channel split gives the remainder channels to the lowest-numbered nodes, so isomorphic cells with nodes in
  another order can differ by a few parameters; our network reproduces each listed count, so it splits as NB101 does.
- Not checked here: the hash against NB101's own table (not available here); FLOPs.
"""


if __name__ == "__main__":
    raise SystemExit(main())
