"""The pieces behind EDNAG's speed-ups of issue 27, each beside what it replaced, side by side in one process.

At the shapes of 1,000 EDNAG seeds vmapped (population 30, pool 60, 30 genes), jitted, timed in alternation
(median of ``--repeats``):

- random bits: ``jax.random.bits`` against ``jaxnag.rng.bits`` (the same values);
- a pool's pairwise count: an int32 sum of the comparison mask against ``shaping.count``'s float32 sum (the same
  counts);
- decoding: ``jnp.argmax`` over NB201's 5 choices against ``SearchSpace.from_one_hot``'s column-by-column
  argmax (the same indices);
- the mutation's root at distribution index 3: ``exp(log(v) / 4)`` against two square roots.

  python benchmarks/ednag_parts_speed.py [--repeats 40] [--out docs]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, report  # noqa: E402

from jaxnag import rng, shaping, spaces  # noqa: E402


def pairs():
    keys = jax.random.split(jax.random.key(0), 1000)
    f = jax.random.normal(jax.random.key(1), (1000, 60))
    scores = jax.random.normal(jax.random.key(2), (1000, 30, 6, 5))
    space = spaces.get("nb201")
    mask = np.broadcast_to(space.choice_mask, scores.shape)
    v = jax.random.uniform(jax.random.key(3), (1000, 30, 30))

    def ahead(x):  # descending_position's comparison: larger, or equal and earlier
        i = jnp.arange(x.shape[0])
        return (x[None, :] > x[:, None]) | ((x[None, :] == x[:, None]) & (i[None, :] < i[:, None]))
    return {
        "random bits, 900 per seed": (
            (jax.jit(jax.vmap(lambda k: jax.random.bits(k, (30, 30)))), keys),
            (jax.jit(jax.vmap(lambda k: rng.bits(k, (30, 30)))), keys), True),
        "pairwise count, 60 x 60 per seed": (
            (jax.jit(jax.vmap(lambda x: jnp.sum(ahead(x), axis=1).astype(jnp.int32))), f),
            (jax.jit(jax.vmap(lambda x: shaping.count(ahead(x), axis=1))), f), True),
        "decoding argmax, 30 x 6 x 5 per seed": (
            (jax.jit(lambda s: jnp.argmax(jnp.where(mask, s, -jnp.inf), axis=-1).astype(jnp.int32)), scores),
            (jax.jit(space.from_one_hot), scores), True),
        "mutation root v^(1/4), 900 per seed": (
            (jax.jit(lambda v: jnp.exp(0.25 * jnp.log(v))), v),
            (jax.jit(lambda v: jnp.sqrt(jnp.sqrt(v))), v), False),  # rounds differently
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    rows = []
    for name, ((old, a), (new, b), exact) in pairs().items():
        same = bool(np.array_equal(np.asarray(old(a)), np.asarray(new(b)))) if exact else None
        times = {"before": [], "after": []}
        for _ in range(args.repeats):
            for label, fn, x in (("before", old, a), ("after", new, b)):
                t0 = time.perf_counter()
                jax.block_until_ready(fn(x))
                times[label].append(time.perf_counter() - t0)
        before, after = (float(np.median(times[k])) for k in ("before", "after"))
        rows.append(dict(piece=name, before_ms=before * 1e3, after_ms=after * 1e3, speedup=before / after,
                         same_values=same))
        print(rows[-1], flush=True)
    lines = ["# EDNAG's pieces, before and after (issue 27)", "",
             f"`python benchmarks/ednag_parts_speed.py --repeats {args.repeats}` on {describe()}: 1,000 seeds' "
             "shapes, jitted, the two forms timed in alternation, medians.", "",
             "| piece | before ms | after ms | speed-up | same values |", "|---|---|---|---|---|"]
    for r in rows:
        same = "yes" if r["same_values"] else ("no (within float rounding)" if r["same_values"] is None else "NO")
        lines.append(f"| {r['piece']} | {r['before_ms']:.3f} | {r['after_ms']:.3f} | {r['speedup']:.2f}x | {same} |")
    report(args.out, "ednag_parts_speed", dict(machine=describe(), rows=rows, repeats=args.repeats),
           "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
