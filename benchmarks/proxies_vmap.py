"""A population's proxies one member at a time: ``proxies.fitness`` now, beside the way it scored before.

A mixed network (``jaxnag.models``) runs only the chosen op of each edge (a ``switch``) when the member's ops
are not batched; a vmapped member runs every op of every edge and selects. Before, ``proxies.fitness`` scored
with ``lax.map(..., batch_size=1)``, which vmaps each batch of one, and a generator's vmap over seeds batched
the members again; now it maps without ``batch_size``, and under an outer vmap loops over it
(``jax.custom_batching.sequential_vmap``). 'before' below is that earlier program, rebuilt here from the public
``proxies.measures``; both score the same cells with the same network, and the values are compared.

Each program is compiled first; then the calls alternate (``--repeats`` times) and the table gives median wall
seconds per architecture and the ratios, plain (one population) and under ``jax.vmap`` over two seeds' populations
(what a generator run over seeds calls).

  JAXNAG_DATA_DIR=../shared/data python benchmarks/proxies_vmap.py [--cells 4] [--repeats 3] [--out docs]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import alternating, describe, printed_rows, report, reused_lines  # noqa: E402

from jaxnag import models, proxies, spaces  # noqa: E402
from jaxnag.proxies import measures  # noqa: E402

PROXIES = ("snip", "grad_norm", "fisher", "grasp", "jacov", "nwot", "synflow", "zen")


def before(space, name: str, x, y, size: dict):
    """``proxies.fitness`` as it scored until this change: ``lax.map`` with ``batch_size=1``."""
    key = jax.random.key(0)
    net = models.for_space(space).MixedNetwork(**size, in_channels=x.shape[-1], rngs=nnx.Rngs(key))
    graphdef, state = nnx.split(net)
    measure = measures.MEASURES[name]
    if hasattr(measure, "prepare"):
        graphdef, state = measure.prepare(graphdef, state, key)
        measure = measure.run

    def fit(ops):
        s, xx, yy = jax.lax.optimization_barrier((state, jnp.asarray(x), jnp.asarray(y)))
        v = jax.lax.map(lambda o: measure(graphdef, s, o, xx, yy, key), ops, batch_size=1)
        return jnp.where(space.connected(ops), v, -jnp.inf)
    return fit


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", type=int, default=4, help="architectures per population (two populations vmapped)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--proxies", default=",".join(PROXIES))
    p.add_argument("--reuse", default=None, help="a log of an earlier run: its printed rows are kept (not rerun)")
    p.add_argument("--out", default="docs")
    args = p.parse_args(argv)
    reused = printed_rows(args.reuse, ("proxy",)) if args.reuse else {}
    space = spaces.get("nb201")
    rng = np.random.default_rng(0)
    ops = np.asarray(space.all_ops())[rng.permutation(space.size)]
    ops = ops[np.asarray(space.connected(ops))][:2 * args.cells].astype(np.int32)
    two = ops.reshape(2, args.cells, -1)
    x = rng.normal(size=(16, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 10, 16).astype(np.int32)
    size = dict(channels=16, cells=5, classes=10)
    rows = []
    for name in args.proxies.split(","):
        if (name,) in reused:
            rows.append(reused[(name,)])
            continue
        ways = dict(now=jax.jit(proxies.fitness(space, name, (x, y), **size)),
                    before=jax.jit(before(space, name, x, y, size)))
        calls = {f"{w} plain": (f, (ops[:args.cells],)) for w, f in ways.items()}
        calls |= {f"{w} vmapped": (jax.jit(jax.vmap(f)), (two,)) for w, f in ways.items()}
        values = {k: np.asarray(fn(*a)).ravel() for k, (fn, a) in calls.items()}  # compiles each
        ref = values["before plain"]
        differ = max(float(np.max(np.abs(v[:len(ref)] - ref) / np.maximum(np.abs(ref), 1e-12))) for v in
                     values.values())
        sec = {k: s / (args.cells * (2 if "vmapped" in k else 1)) for k, s in alternating(calls, args.repeats).items()}
        rows.append(dict(proxy=name, seconds=sec, plain_ratio=sec["before plain"] / sec["now plain"],
                         vmapped_ratio=sec["before vmapped"] / sec["now vmapped"], max_relative_difference=differ))
        print(rows[-1], flush=True)
    lines = ["# Proxies of a population: one member at a time", "",
             f"Produced by `JAXNAG_DATA_DIR=../shared/data python benchmarks/proxies_vmap.py --cells {args.cells} "
             f"--repeats {args.repeats}{'' if args.proxies == ','.join(PROXIES) else ' --proxies ' + args.proxies}"
             f"{' --reuse LOG' if reused else ''}` "
             f"on {describe()}. NB201's CIFAR-10 network (C 16, N 5), one batch of 16 "
             f"Gaussian images at 32x32, {args.cells} random connected cells per population; wall seconds per "
             "architecture, medians of the alternating repeats after compilation. 'before': `lax.map(..., "
             "batch_size=1)` (every op of every edge computed and selected); 'now': `proxies.fitness` (only the "
             "chosen op); 'vmapped': `jax.vmap` over two populations, as a generator's seeds call the fitness. "
             "Ratios above 1: now is faster. 'max rel. diff.': the largest relative difference between any two of "
             "the four programs' values.", "",
             "| proxy | before s | now s | ratio | before, vmapped s | now, vmapped s | ratio | max rel. diff. |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s = r["seconds"]
        lines.append(f"| {r['proxy']} | {s['before plain']:.3f} | {s['now plain']:.3f} | {r['plain_ratio']:.2f}x | "
                     f"{s['before vmapped']:.3f} | {s['now vmapped']:.3f} | {r['vmapped_ratio']:.2f}x | "
                     f"{r['max_relative_difference']:.1e} |")
    lines += reused_lines(rows, ("proxy",), "the same settings")
    report(args.out, "proxies_vmap", dict(machine=describe(), cells=args.cells, repeats=args.repeats, rows=rows),
           "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
