"""Data-free zero-cost proxies on the graph spaces' networks against NASLib's values: NB101 and NB301 (DARTS).

  JAXNAG_DATA_DIR=../shared/data python benchmarks/proxies_graph.py [--cells 30] [--nb301-cells 500] [--out docs]

For ``--cells`` NB101 cells and ``--nb301-cells`` NB301 genotypes drawn (seed 0) from NASLib's 500-cell subsets,
``synflow`` and ``l2_norm`` of our network at NASLib's size (NB101: 128 channels, 3 x 3 cells, He-normal fan-out
initialisation as NASLib's PyTorch NB101 network, one compiled program per cell, ``jaxnag.proxies.network``; NB301:
NASLib's NB301 network, every genotype in one compiled program through the DARTS mixed network,
``jaxnag.proxies.fitness("darts", ...)``). Reports
Spearman's rho with NASLib's own values of the same cells and, beside NASLib's, with the listed validation
accuracy. Writes ``proxies_graph.md`` / ``.json``. The data-dependent proxies need CIFAR-10 images (not here).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jax
import numpy as np
from flax import nnx
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, report  # noqa: E402

from jaxnag import proxies, tables  # noqa: E402
from jaxnag.models import darts as darts_net  # noqa: E402
from jaxnag.models import nb101 as nb101_net  # noqa: E402

NAMES = ("synflow", "l2_norm")


def _networks(subset, idx):
    for i in idx:
        if subset.space.name == "nb101":
            yield nb101_net.Network(subset.ops[i], init="kaiming_out", rngs=nnx.Rngs(0))
        else:
            yield darts_net.Network(subset.ops[i], **darts_net.NASLIB_NB301, rngs=nnx.Rngs(0))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=os.environ.get("JAXNAG_DATA_DIR", "../shared/data"))
    p.add_argument("--cells", type=int, default=30)
    p.add_argument("--nb301-cells", type=int, default=None, help="NB301 genotypes [--cells]")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    out = {}
    for space in ("nb101", "nb301"):
        subset = tables.naslib_subset(space, args.data_dir)
        cells = args.cells if space == "nb101" or args.nb301_cells is None else args.nb301_cells
        idx = np.sort(np.random.default_rng(0).choice(500, cells, replace=False))
        ours = {n: [] for n in NAMES}
        t0 = time.perf_counter()
        if space == "nb101":
            for net in _networks(subset, idx):
                v = proxies.network(NAMES, net, resolution=32, batch_size=16)
                for n in NAMES:
                    ours[n].append(float(v[n]))
        else:  # one program for every genotype: the mixed network (NASLib's NB301 size)
            for n in NAMES:
                ours[n] = np.asarray(jax.jit(proxies.fitness("darts", n))(subset.ops[idx])).tolist()
        seconds = time.perf_counter() - t0
        acc = subset.metrics["val_accuracy"][idx]
        rows = {}
        for n in NAMES:
            theirs = subset.metrics[n][idx]
            rows[n] = dict(rho_naslib=float(spearmanr(ours[n], theirs)[0]),
                           rho_acc_ours=float(spearmanr(ours[n], acc)[0]),
                           rho_acc_naslib=float(spearmanr(theirs, acc)[0]),
                           median_ratio=float(np.median(np.asarray(ours[n]) / theirs)))
        out[space] = dict(cells=int(cells), seconds_per_cell=round(seconds / cells, 2), proxies=rows,
                          indices=idx.tolist())
        print(space, json.dumps(rows), flush=True)
    out["machine"] = describe()
    report(args.out, "proxies_graph", out, _markdown(out))
    return 0


def _markdown(o: dict) -> str:
    c101, c301 = o["nb101"]["cells"], o["nb301"]["cells"]
    lines = [
        "# Data-free proxies on NB101 and NB301 (DARTS) networks against NASLib's values", "",
        f"`JAXNAG_DATA_DIR=../shared/data python benchmarks/proxies_graph.py --cells {c101} --nb301-cells {c301} "
        f"--out docs` ({o['machine']}). {c101} NB101 cells and {c301} NB301 genotypes drawn (seed 0) from NASLib's "
        "500-cell zero-cost subsets; our networks at NASLib's size (NB101: 128 channels, 3 x 3 cells, He-normal "
        "fan-out convolutions as NASLib's PyTorch NB101 network, initialised once per cell (seed 0), one compiled "
        "program per cell, `jaxnag.proxies.network`; NB301: 32 channels, 8 cells, the ops' batch norms without scale "
        "and shift, one DARTS mixed network for every genotype in one compiled program, "
        "`jaxnag.proxies.fitness(\"darts\", ...)`).", "",
        "| space | proxy | Spearman with NASLib's values | median ours / NASLib's | Spearman with val. accuracy: ours "
        "| NASLib's | seconds per cell (both proxies, compile included) |",
        "|---|---|---|---|---|---|---|",
    ]
    for space in ("nb101", "nb301"):
        for n, r in o[space]["proxies"].items():
            lines.append(f"| {space} | {n} | {r['rho_naslib']:.3f} | {r['median_ratio']:.3f} | {r['rho_acc_ours']:.3f} "
                         f"| {r['rho_acc_naslib']:.3f} | {o[space]['seconds_per_cell']} |")
    worst = min(r["rho_naslib"] for s in ("nb101", "nb301") for r in o[s]["proxies"].values())
    lines += ["", f"Target (issue 26): Spearman with NASLib's values >= 0.95 for the data-free proxies: "
              f"{'met' if worst >= 0.95 else 'not met'} (lowest {worst:.3f}; {c101} NB101 cells, {c301} NB301 genotypes). "
              "Both proxies depend on the random initialisation, so equal values are not expected, equal ranks are. "
              "The data-dependent proxies (snip, grad_norm, jacov, fisher, grasp) run on these networks too "
              "(`proxies.network`), but NASLib computed them on CIFAR-10, which is not available here.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
