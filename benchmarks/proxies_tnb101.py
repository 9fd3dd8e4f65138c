"""Zero-cost proxies on TransNAS-Bench-101 micro (the classification tasks), side by side in one process.

On the architectures of NASLib's TransNAS-Bench-101 micro zero-cost sets (711 per task), with the
task's head (class_scene 63 classes, class_object 100): Spearman's rho of each data-free proxy of
jaxnag's micro network (``jaxnag.models.tnb101``, C=64, two cells per module, --resolution pixels)
with the task's validation accuracy, beside NASLib's own values where it has them (params, flops,
l2_norm; zen from the benchmark file, which holds NASLib's zen for every cell), and the rank
correlation of the two value sets; zen on a random --zen of them (it is slow on this CPU).
Architectures per second per proxy after compilation.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/proxies_tnb101.py [--resolution 32] [--out docs]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe  # noqa: E402

from jaxnag import proxies, spaces, tables  # noqa: E402

TASKS = (("class_scene", 63), ("class_object", 100))
NAMES = ("params", "flops", "l2_norm", "synflow", "zen")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--limit", type=int, default=None, help="a smoke test: this many architectures")
    p.add_argument("--zen", type=int, default=100, help="zen on this many random architectures of each task's "
                                                         "set (about 1 architecture/s on the 2-core CPU)")
    p.add_argument("--out", default="docs")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    data_dir = tables.data_dir(args.data_dir)
    space = spaces.get("tnb101_micro")
    z = np.load(data_dir / "naslib_zc_subsets.npz")
    bench = np.load(data_dir / "tnb101_micro.npz")
    rank = {tuple(o): i for i, o in enumerate(np.asarray(bench["ops"]))}
    rows = []
    for task, classes in TASKS:
        ops = z[f"tnb101_micro/{task}/arch"][:args.limit].astype(np.int32)
        acc = z[f"tnb101_micro/{task}/val_accuracy"][:args.limit]
        theirs = {n: z[f"tnb101_micro/{task}/{n}"][:args.limit] for n in ("params", "flops", "l2_norm")}
        theirs["zen"] = bench[f"zen_{task}"][[rank[tuple(o)] for o in ops]]
        for name in NAMES:
            pick = np.arange(len(ops))
            if name == "zen":
                pick = np.sort(np.random.default_rng(0).choice(len(ops), min(args.zen, len(ops)), replace=False))
            fit = jax.jit(proxies.fitness(space, name, classes=classes, resolution=args.resolution))
            jax.block_until_ready(fit(ops[:25]))  # compile
            t0 = time.perf_counter()
            ours = np.concatenate([np.asarray(fit(ops[pick][i:i + 25])) for i in range(0, len(pick), 25)])
            seconds = time.perf_counter() - t0
            ok = np.isfinite(ours)
            r = dict(task=task, proxy=name, n=int(len(pick)), undefined=int((~ok).sum()),
                     ours=float(spearmanr(np.where(ok, ours, -1e30), acc[pick])[0]), archs_per_s=len(pick) / seconds)
            if name in theirs:
                r["naslib"] = float(spearmanr(theirs[name][pick], acc[pick])[0])
                r["ours_vs_naslib"] = float(spearmanr(np.where(ok, ours, -1e30), theirs[name][pick])[0])
            rows.append(r)
            print(r, flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = dict(machine=describe(), resolution=args.resolution, rows=rows,
                  command="JAXNAG_DATA_DIR=../shared/data python benchmarks/proxies_tnb101.py " + " ".join(sys.argv[1:]))
    (out / "proxies_tnb101.json").write_text(json.dumps(result, indent=1))
    L = ["# Zero-cost proxies on TransNAS-Bench-101 micro", "",
         f"Machine: {result['machine']}. Command: `{result['command']}`.", "",
         "jaxnag's micro network (`jaxnag.models.tnb101`: MacroNet `64-41414`, two cells per module, the task's "
         f"classification head) at {args.resolution}x{args.resolution} pixels, every network from the same "
         "weights (key 0). Only data-free proxies: the data-dependent ones would need Taskonomy images, which "
         "cannot be obtained here. NASLib's columns are its own values on the same architectures (its zen "
         "from the benchmark file; it has no synflow for TransNAS-Bench-101). Spearman's rho with the task's "
         "validation accuracy.", "",
         "| task | proxy | archs | undefined | jaxnag rho | NASLib rho | jaxnag vs NASLib values | archs/s |",
         "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        f = lambda k: "n/a" if k not in r else f"{r[k]:.3f}"  # noqa: E731
        L.append(f"| {r['task']} | {r['proxy']} | {r['n']} | {r['undefined']} | {r['ours']:.3f} | {f('naslib')} | "
                 f"{f('ours_vs_naslib')} | {r['archs_per_s']:,.1f} |")
    L += ["", "params are the exact counts (they equal NASLib's for every cell: `tests/test_models.py`); NASLib's "
              "flops also count batch norm and ReLU (0.2-3% more), so the two rank nearly alike."]
    (out / "proxies_tnb101.md").write_text("\n".join(L) + "\n")
    print(f"wrote {out / 'proxies_tnb101.md'}")


if __name__ == "__main__":
    main()
