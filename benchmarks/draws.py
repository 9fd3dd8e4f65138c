"""Drawing distinct architectures: ``SearchSpace.sample_unique`` against ``jax.random.choice(replace=False)``.

Random search draws its whole budget this way, REA and NSGA-II their initial populations, DiffusionNAG its
predictor's queries, PG-NAG its prior's draws. Both draws are timed side by side in one process (one jitted
call of --seeds vmapped seeds each, in alternation, medians of --repeats after compilation) on every enumerable
built-in benchmark space, for a few sizes n; and the new draw's uniformity is checked (each index's share of
the draws and of the first place, against their expectation, with the binomial standard error).

  python benchmarks/draws.py [--seeds 100] [--repeats 7] [--out docs]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import alternating, describe, report  # noqa: E402

from jaxnag import spaces  # noqa: E402

SPACES = ("nb201", "tnb101_micro", "nasbench_graph")
SIZES = (20, 50, 300, 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", default="docs")
    args = ap.parse_args()
    keys = jax.random.split(jax.random.key(0), args.seeds)
    rows = []
    for name in SPACES:
        space = spaces.get(name)
        valid = jnp.asarray(space.distinct_ranks())
        for n in SIZES:
            calls = {
                "choice": jax.jit(jax.vmap(lambda k, n=n: space.unrank(jax.random.choice(k, valid, (n,),
                                                                                         replace=False)))),
                "sample_unique": jax.jit(jax.vmap(lambda k, n=n: space.sample_unique(k, n))),
            }
            for fn in calls.values():  # compiled before the timing
                jax.block_until_ready(fn(keys))
            t = alternating({name: (fn, (keys,)) for name, fn in calls.items()}, args.repeats)
            rows.append(dict(space=name, distinct=int(valid.shape[0]), n=n, choice_ms=t["choice"] * 1e3,
                             sample_unique_ms=t["sample_unique"] * 1e3, speedup=t["choice"] / t["sample_unique"]))
            print(rows[-1], flush=True)
    # uniformity: 3 of 6 and 5 of 40, 200,000 draws each
    checks = []
    for m, n in ((6, 3), (40, 5)):
        draws = 200_000
        draw = jax.jit(jax.vmap(lambda k, m=m, n=n: spaces.distinct_indices(k, m, n)))
        idx = np.asarray(draw(jax.random.split(jax.random.key(1), draws)))
        share = np.bincount(idx.ravel(), minlength=m) / draws
        first = np.bincount(idx[:, 0], minlength=m) / draws
        p, q = n / m, 1 / m
        deviation = lambda got, want: float(np.max(np.abs(got - want)) / np.sqrt(want * (1 - want) / draws))  # noqa
        checks.append(dict(m=m, n=n, draws=draws, rows_distinct=bool(all(len(set(r)) == n for r in idx[:10_000])),
                           share_expected=p, share_max_dev_se=deviation(share, p),
                           first_expected=q, first_max_dev_se=deviation(first, q)))
        print(checks[-1], flush=True)
    command = "python benchmarks/draws.py " + " ".join(sys.argv[1:])
    lines = [
        "# Drawing distinct architectures: top-n of random keys against a sorted permutation",
        "",
        f"`{command.strip()}` on {describe()}. One jitted call of {args.seeds} vmapped seeds per draw, the two "
        f"draws in alternation, medians of {args.repeats} after compilation. `choice`: "
        "`jax.random.choice(key, distinct_ranks, (n,), replace=False)` (what `sample_unique` did before: it sorts "
        "a permutation of every distinct architecture, twice); `sample_unique`: the n largest of 29-bit random "
        "keys through XLA's float top-k (`jaxnag.spaces.distinct_indices`). Timings on these shared "
        "machines are noisy; read the ratios.",
        "",
        "| space | distinct architectures | n | choice ms | sample_unique ms | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['space']} | {r['distinct']:,} | {r['n']} | {r['choice_ms']:.2f} | "
                     f"{r['sample_unique_ms']:.2f} | {r['speedup']:.1f}x |")
    lines += ["", "Uniformity of the new draw (n of m, many draws in one call): the largest deviation of an index's "
              "share of the draws, and of the first place, from its expectation, in binomial standard errors.", "",
              "| m | n | draws | every row distinct | share: max deviation (s.e.) "
              "| first place: max deviation (s.e.) |",
              "|---|---|---|---|---|---|"]
    for c in checks:
        lines.append(f"| {c['m']} | {c['n']} | {c['draws']:,} | {'yes' if c['rows_distinct'] else 'NO'} | "
                     f"{c['share_max_dev_se']:.2f} | {c['first_max_dev_se']:.2f} |")
    report(args.out, "draws", dict(machine=describe(), command=command, rows=rows, uniformity=checks),
           "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
