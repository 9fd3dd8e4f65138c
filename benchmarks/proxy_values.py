"""Proxy values at one commit against another: a speed-up of the networks or the measures must not
change what they compute.

Every proxy of :data:`jaxnag.proxies.NAMES` on the same random NB201 and TransNAS-Bench-101 micro cells
(the benchmark networks; one batch of 16 of scikit-learn's digits at 32x32, 64x64 for the micro network,
which divides the resolution by 32) is saved at the commit before a change (``--save``) and compared
after it (``--compare``): per proxy, Spearman's rho between the two commits' values, and the largest
relative difference. ``--compare`` exits 1 if any rho is below ``--rho`` (0.999 by default).

  JAXNAG_DATA_DIR=../shared/data python benchmarks/proxy_values.py --save /tmp/before.npz
  JAXNAG_DATA_DIR=../shared/data python benchmarks/proxy_values.py --compare /tmp/before.npz [--out docs] [--name NAME]
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

from jaxnag import data, proxies, spaces  # noqa: E402

SPACES = {"nb201": 32, "tnb101_micro": 64}


def values(n: int, skip=()) -> dict:
    out = {}
    x, y = data.digits(resolution=64)
    for space_name, side in SPACES.items():
        space = spaces.get(space_name)
        cells = np.asarray(space.all_ops())
        cells = cells[np.random.default_rng(0).choice(len(cells), n, replace=False)]
        xs = np.asarray(jax.image.resize(x[:16], (16, side, side, x.shape[-1]), "linear")) if side != 64 else x[:16]
        batch = proxies.batch(xs, y[:16], classes=10)
        out[f"{space_name}/cells"] = cells
        for name in proxies.NAMES:
            if name in skip:
                continue
            t0 = time.perf_counter()
            out[f"{space_name}/{name}"] = np.asarray(jax.jit(proxies.fitness(space, name, batch, classes=10))(cells))
            print(f"{space_name} {name}: {time.perf_counter() - t0:.1f} s", flush=True)
    return out


def compare(before: dict, after: dict, rho_min: float) -> tuple[list[dict], bool]:
    rows, ok = [], True
    for key in sorted(k for k in before if not k.endswith("/cells")):
        a, b = np.asarray(before[key], np.float64), np.asarray(after[key], np.float64)
        same_inf = bool(np.array_equal(np.isfinite(a), np.isfinite(b)))
        f = np.isfinite(a) & np.isfinite(b)
        rho = 1.0 if np.array_equal(a[f], b[f]) else float(spearmanr(a[f], b[f])[0])
        rel = float(np.max(np.abs(a[f] - b[f]) / np.maximum(np.abs(a[f]), 1e-12))) if f.any() else 0.0
        good = same_inf and rho >= rho_min
        ok &= good
        rows.append(dict(proxy=key, cells=int(len(a)), rho=rho, max_rel_diff=rel, same_undefined=same_inf, ok=good))
    return rows, ok


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--save")
    g.add_argument("--compare")
    p.add_argument("--cells", type=int, default=30)
    p.add_argument("--rho", type=float, default=0.999)
    p.add_argument("--skip", default="", help="proxies left out, comma-separated")
    p.add_argument("--out", default=None, help="write proxy_values.md/.json here (with --compare)")
    p.add_argument("--after", default=None, help="this commit's values saved earlier by --save (not recomputed)")
    p.add_argument("--label", default="", help="what changed, for the written file")
    p.add_argument("--name", default="proxy_values", help="the written files' name (NAME.md, NAME.json)")
    args = p.parse_args(argv)
    if args.save:
        np.savez(args.save, **values(args.cells, args.skip.split(",")))
        return 0
    before = dict(np.load(args.compare))
    skipped = [n for n in proxies.NAMES if f"nb201/{n}" not in before]
    after = dict(np.load(args.after)) if args.after else values(len(before["nb201/cells"]), skipped)
    for space_name in SPACES:
        if not np.array_equal(before[f"{space_name}/cells"], after[f"{space_name}/cells"]):
            print(f"{space_name}: the saved cells differ from this commit's; compare with the same --cells")
            return 2
    rows, ok = compare(before, after, args.rho)
    lines = ["| proxy | cells | Spearman rho (before vs after) | largest relative difference | same undefined cells |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['proxy']} | {r['cells']} | {r['rho']:.6f} | {r['max_rel_diff']:.2e} | "
              f"{'yes' if r['same_undefined'] else 'NO'} |" for r in rows]
    print("\n".join(lines))
    if args.out:
        Path(args.out, f"{args.name}.json").write_text(json.dumps(rows, indent=1) + "\n")
        head = ["# Proxy values before and after a change of the networks or the measures", "",
                f"Machine: {describe()}. Commands: `python benchmarks/proxy_values.py --save BEFORE.npz "
                f"--cells {len(before['nb201/cells'])}{' --skip ' + ','.join(skipped) if skipped else ''}` at the commit "
                f"before, `python benchmarks/proxy_values.py --compare BEFORE.npz --out docs"
                f"{'' if args.name == 'proxy_values' else ' --name ' + args.name}` after "
                f"({args.label}).", "",
                "Every proxy on the same random cells of NB201 (CIFAR-10 network, C=16, N=5; 16 digits at 32x32) "
                "and TransNAS-Bench-101 micro (64 channels, 2 cells; 16 digits at 64x64), at both commits.", ""]
        Path(args.out, f"{args.name}.md").write_text("\n".join(head + lines) + "\n")
    print("all proxies kept their values" if ok else f"some proxy moved (rho < {args.rho})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
