"""Zero-cost proxy throughput per proxy at populations of 30 and 1,000, and the two proxies
benchmarks/proxies.py left out (grad_norm, grasp), side by side in one process.

(a) Architectures scored per second by ``jax.jit(proxies.fitness(space, name, batch))`` on a random
    population of 30 and of 1,000 NB201 cells (the CIFAR-10 network, C=16, N=5, one batch of 16 of
    scikit-learn's digits at 32x32), after compilation, one call per population. A proxy slower than
    --slow seconds per architecture at 30 is not run at 1,000 (the table says so and gives the time
    it would take).
(b) Spearman's rho of grad_norm and grasp with NB201 CIFAR-10 test accuracy on the same random 40
    architectures of NASLib's subset that benchmarks/proxies.py uses for the gradient proxies, beside
    NASLib's own values.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/proxies_throughput.py [--out docs]
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
from _machine import describe, printed_rows, reused_lines  # noqa: E402
import proxies as proxies_benchmark  # noqa: E402 (benchmarks/proxies.py)

from jaxnag import data, proxies, spaces, tables  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--heavy", type=int, default=40)
    p.add_argument("--slow", type=float, default=0.1, help="seconds per architecture above which 1,000 is skipped")
    p.add_argument("--skip", default="", help="proxies left out of (a), comma-separated")
    p.add_argument("--reuse", default=None, help="a log of an earlier run: its printed throughput rows are kept")
    p.add_argument("--out", default="docs")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    space = spaces.get("nb201")
    x, y = data.digits(resolution=32)
    order = np.random.default_rng(0).permutation(len(x))[:16]
    batch = proxies.batch(x[order], y[order], classes=10)
    all_ops = np.asarray(space.all_ops())
    speed = []
    reused = printed_rows(args.reuse, ("proxy", "population")) if args.reuse else {}
    skip = {n for n in args.skip.split(",") if n}
    for name in proxies.NAMES:
        if name in skip:
            continue
        if (name, 30) in reused:
            speed.append(reused[(name, 30)])
            per_arch = 1.0 / speed[-1]["archs_per_s"]
            speed.append(reused.get((name, 1000), dict(proxy=name, population=1000, archs_per_s=None,
                                                       skipped_s=per_arch * 1000)))
            continue
        fit = jax.jit(proxies.fitness(space, name, batch, classes=10))
        per_arch = None
        for n in (30, 1000):
            ops = all_ops[np.random.default_rng(n).choice(len(all_ops), n, replace=False)]
            if n == 1000 and per_arch > args.slow:
                speed.append(dict(proxy=name, population=n, archs_per_s=None, skipped_s=per_arch * n))
                continue
            jax.block_until_ready(fit(ops))  # compile for this shape
            t0 = time.perf_counter()
            jax.block_until_ready(fit(ops))
            seconds = time.perf_counter() - t0
            per_arch = seconds / n
            speed.append(dict(proxy=name, population=n, archs_per_s=n / seconds, seconds=seconds))
            print(speed[-1], flush=True)
    acc = tables.load("nb201", "cifar10", data_dir=args.data_dir)
    zc = proxies_benchmark.naslib(tables.data_dir(args.data_dir), "cifar10")
    idx = zc["nb201_index"]
    pick = np.sort(np.random.default_rng(1).choice(len(idx), min(args.heavy, len(idx)), replace=False))
    test = np.asarray(acc.info.row_values, np.float64)[idx][pick]
    rows = []
    for name in ("grad_norm", "grasp"):
        fit = jax.jit(proxies.fitness(space, name, batch, classes=10))
        t0 = time.perf_counter()
        ours = np.asarray(fit(acc.info.row_ops[idx][pick]), np.float64)
        with_compile = (time.perf_counter() - t0) / len(pick)
        ok = np.isfinite(ours)
        theirs = zc[name][pick]
        rows.append(dict(proxy=name, n=int(len(pick)), undefined=int((~ok).sum()),
                         ours=float(spearmanr(np.where(ok, ours, -1e30), test)[0]),
                         naslib=float(spearmanr(theirs, test)[0]),
                         ours_vs_naslib=float(spearmanr(np.where(ok, ours, -1e30), theirs)[0]),
                         seconds_per_arch_with_compile=with_compile))
        print(rows[-1], flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = dict(machine=describe(), speed=speed, correlation=rows, skipped=sorted(skip),
                  command="JAXNAG_DATA_DIR=../shared/data python benchmarks/proxies_throughput.py " + " ".join(sys.argv[1:]))
    (out / "proxies_throughput.json").write_text(json.dumps(result, indent=1))
    L = ["# Zero-cost proxies: throughput at 30 and 1,000, grad_norm and grasp", "",
         f"Machine: {result['machine']}. Command: `{result['command']}`.", "",
         "NB201 CIFAR-10 network (C=16, N=5), one batch of 16 of scikit-learn's digits at 32x32 (the data-free "
         "proxies read only its shape), one jitted call per population after compilation (`lax.map`, one "
         "architecture at a time: the default on CPU).", "",
         "| proxy | architectures/s at 30 | architectures/s at 1,000 |", "|---|---|---|"]
    by = {(r["proxy"], r["population"]): r for r in speed}
    for name in proxies.NAMES:
        if (name, 30) not in by:
            L.append(f"| {name} | not run (time; see below) | not run |")
            continue
        a, b = by[(name, 30)], by[(name, 1000)]
        big = f"{b['archs_per_s']:,.1f}" if b["archs_per_s"] else f"not run (about {b['skipped_s'] / 60:.0f} min)"
        L.append(f"| {name} | {a['archs_per_s']:,.1f} | {big} |")
    L += reused_lines(speed, ("proxy", "population"), "the same code")
    L += ["", f"Spearman's rho with NB201 CIFAR-10 test accuracy on the random {args.heavy} architectures of "
              "NASLib's subset that `benchmarks/proxies.py` uses for the gradient proxies (digits batch; NASLib "
              "used CIFAR-10):", "",
          "| proxy | archs | undefined | jaxnag rho | NASLib rho | jaxnag vs NASLib values | s per arch (with compilation) |",
          "|---|---|---|---|---|---|---|"]
    for r in rows:
        L.append(f"| {r['proxy']} | {r['n']} | {r['undefined']} | {r['ours']:.3f} | {r['naslib']:.3f} | "
                 f"{r['ours_vs_naslib']:.3f} | {r['seconds_per_arch_with_compile']:.1f} |")
    (out / "proxies_throughput.md").write_text("\n".join(L) + "\n")
    print(f"wrote {out / 'proxies_throughput.md'}")


if __name__ == "__main__":
    main()
