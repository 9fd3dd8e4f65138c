"""Tutorial 9: a benchmark grid, and reading its results.

A grid file names benchmarks x datasets, methods (with settings, sweeps and wrappers) and seeds.
`jaxnag bench GRID.toml` (or `bench.run_grid`) runs every cell, sharded over the devices, appending one
JSON line per run to GRID.jsonl; it resumes where it stopped and refuses a results file of another grid.
The summary has one row per label x task: hit rate (share of seeds whose best is the task's optimum),
mean best metric, mean distinct queries.

Run: python docs/tutorials/bench_grid.py   (NAS-Bench-Graph is embedded: no data needed)
"""
import tempfile
from pathlib import Path

from jaxnag import bench

folder = Path(tempfile.mkdtemp())
grid = folder / "grid.toml"
grid.write_text("""
seeds = 4

[[benchmarks]]
name = "nasbench_graph"
datasets = ["cora", "citeseer"]

[[methods]]
name = "random"
settings = { budget = 50 }

[[methods]]
name = "rea"
settings = { budget = 50, population = 10 }
sweep = { sample = [2, 5] }               # two cells per task: REA with S = 2 and S = 5

[[methods]]
name = "ednag"
label = "ednag+budget"
settings = { budget = 50, population = 10, steps = 40 }   # budget: EDNAG under jaxnag.budget
""")
summary = bench.run_grid(grid, progress=False, plot=False, echo=False)
print(f"{'label':16s} {'dataset':9s} {'runs':>4s} {'hit':>5s} {'mean best':>9s} {'queries':>7s}")
for row in summary:
    print(f"{row['label']:16s} {row['dataset']:9s} {row['runs']:4d} {row['hit_rate']:5.0%} "
          f"{row['mean_best']:9.4f} {row['mean_queries']:7.1f}")

records = bench.read_results(folder / "grid.jsonl")  # one record per run: settings, seed, best, trace...
print(len(records), "records; the first:", {k: records[0][k] for k in ("label", "dataset", "seed", "queries")})
assert len(records) == 4 * 2 * 4  # 4 cells (random, REA S=2, REA S=5, EDNAG) x 2 tasks x 4 seeds
assert [r["mean_queries"] for r in bench.summarise(records)] == [r["mean_queries"] for r in summary]
