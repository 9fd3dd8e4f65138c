"""The example package end to end, as a user runs it after `pip install -e examples/userspace`:
its spaces and generator reach jaxnag through entry points only (no import of jaxnag_example here
except for its tables), from the CLI, `jaxnag bench` and `jaxnag.parallel.run`.

    python examples/userspace/run.py [--out DIR]

Exits non-zero when any step fails or a method misses what the others find.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import jax
import numpy as np

from jaxnag import bench, parallel, registry, spaces, tables


def cli(*argv) -> dict:
    res = subprocess.run(["jaxnag", *map(str, argv), "--json"], capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"jaxnag {' '.join(map(str, argv))} failed ({res.returncode}):\n{res.stderr}")
    return json.loads(res.stdout)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=None, help="folder for the tables and the bench results [a temporary one]")
    args = p.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="jaxnag-example-"))
    out.mkdir(parents=True, exist_ok=True)
    assert {"chain5", "cell4z"} <= set(spaces.names()) and "hill" in registry.names(), "entry points not found"
    from jaxnag_example.spaces import cell4z_table, chain5_table
    for name, (ops, acc) in (("chain5", chain5_table()), ("cell4z", cell4z_table())):
        np.savez(out / f"{name}.npz", ops=ops, acc=acc)
        print(f"{name}: {len(ops)} architectures, optimum {acc.max():.2f}")

    print("\nthe CLI, every generator that needs only a table, 4 seeds, at most 300 unique queries\n(EDNAG at population 10, PG-NAG iterative-free: prior from 60 random queries, 6 rounds of 30):")
    print(f"{'space':<8} {'method':<8} {'hit rate':>8} {'mean best':>9}  best architecture")
    for space in ("chain5", "cell4z"):
        for method in ("ednag", "pgnag", "random", "rea", "evosax", "hill"):
            extra_of = {"pgnag": ("--prior-budget", 60, "--k", 10, "--prior-method", "loo", "--sampler", "direct",
                                  "--samples", 30, "--rounds", 6),
                        "ednag": ("--population", 10, "--steps", 100)}  # --plain: these, not the budgeted forms
            extra = extra_of.get(method, ())
            r = cli("generate", "--method", method, "--table", out / f"{space}.npz", "--space", space, "--metric",
                    "acc", "--seeds", 4, "--budget", 300, *extra, *(("--plain",) if method in extra_of else ()))
            best = max(r["runs"], key=lambda x: x["best_score"])
            mean = np.mean([x["best_score"] for x in r["runs"]])
            print(f"{space:<8} {method:<8} {r['hit_rate']:>8.0%} {mean:>9.2f}  {best['best_arch']}")
            if method in ("ednag", "pgnag") and space == "cell4z" and r["hit_rate"] < 0.5:
                sys.exit(f"{method} found the cell4z optimum in {r['hit_rate']:.0%} of the runs")

    grid = out / "grid.toml"
    grid.write_text("seeds = 4\n" + "".join(
        f'[[benchmarks]]\ntable = "{s}.npz"\nspace = "{s}"\nmetric = "acc"\n' for s in ("chain5", "cell4z")) +
        '[[methods]]\nname = "rea"\nsettings = { budget = 300 }\n'
        '[[methods]]\nname = "hill"\nsettings = { rounds = 40 }\n')
    print("\njaxnag bench on both tables:")
    summary = bench.run_grid(grid, progress=False, plot=False, echo=False)
    for row in summary:
        print(f"  {row['label']:<6} {row['benchmark']}/{row['dataset']:<7} hit {row['hit_rate']:.0%}  "
              f"mean best {row['mean_best']:.2f}  queries {row['mean_queries']:.0f}")

    table = tables.load_custom(out / "chain5.npz", "chain5", "acc")
    gen = registry.get("hill")
    res = parallel.run("hill", 8, table, "chain5", gen.config(spaces.get("chain5"), rounds=40))
    print(f"\nparallel.run('hill', 8 seeds, chain5): best {np.asarray(res.best_fitness).max():.2f} of "
          f"{float(table.values.max()):.2f}, {np.asarray(res.queries).mean():.0f} queries per run "
          f"on {jax.device_count()} device(s)")


if __name__ == "__main__":
    main()
