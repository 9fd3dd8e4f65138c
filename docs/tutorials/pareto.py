"""Tutorial: hardware-aware generation, a Pareto front of accuracy against on-device latency.

Choosing an architecture for a device is a trade-off: the most accurate cell is rarely the fastest.
tables.objectives makes several metrics one vector fitness (accuracy maximised, latency minimised);
pareto.with_objectives runs any generator on it and returns the run's Pareto front and its
hypervolume after each unique query; the exact front (the space enumerated) says how close it came.

Run: JAXNAG_DATA_DIR=../shared/data python docs/tutorials/pareto.py [--plot front.png]
"""
import sys

import jax
import numpy as np

from jaxnag import budget, pareto, protocol, registry, tables

# CIFAR-100 accuracy x latency on a Raspberry Pi 5 (LiteRT), from HW-NAS-Bench-360
obj = tables.objectives("hw360", "cifar100", ["metric", "pi5/litert/lat_ms"])
space = obj.space
exact_ops, exact_vals = obj.exact_front()
print(f"{obj.name}: goals {obj.goals}, exact front of {len(exact_ops)} points")

# 1. NSGA-II (in JAX) and EDNAG under a budget of 300 unique queries, 20 seeds each in one call
runs = {}
for name in ("nsga2", "ednag"):
    base = registry.get(name)
    if name == "ednag":
        base = budget.with_budget(base)  # EDNAG has no budget of its own
    gen = pareto.with_objectives(base)
    cfg = gen.config(space, objectives=obj, budget=300)
    res = jax.jit(jax.vmap(lambda k: gen.generate(k, obj, space, cfg)))(jax.random.split(jax.random.key(0), 20))
    share = pareto.exact_share(res.best_fitness, obj)
    print(f"{name}: HV share of the exact front {share.mean():.4f} (min {share.min():.4f}); after 100 queries "
          f"{pareto.exact_share(res.best_trace[:, 99], obj).mean():.4f}")
    runs[name] = res

# 2. the front of NSGA-II's best seed, in the metrics' own units
res = runs["nsga2"]
best = int(np.argmax(res.best_fitness))
size = int(res.extras["front_size"][best])
front = obj.to_metric(np.asarray(res.extras["front_values"][best, :size]))
print(f"front of seed {best}: {size} architectures")
for (acc, lat), ops in zip(front, np.asarray(res.extras["front_ops"][best, :size])):
    print(f"  {acc:6.2f}%  {lat:7.3f} ms  {space.to_string(ops)}")

# 3. the same with a fitness outside JAX (a host function returning [n, 2]): protocol.run drives it
gen = pareto.with_objectives(registry.get("nsga2"))
cfg = gen.config(space, objectives=obj, budget=100, population=20)
asked = []


def measure(ops: np.ndarray) -> np.ndarray:
    """Stands in for training and an on-device measurement: (accuracy, -latency) per architecture."""
    asked.append(len(ops))
    return np.asarray(obj(ops))


host = protocol.run(gen, jax.random.key(1), measure, space, cfg)
print(f"host run: {int(host.queries)} distinct architectures measured in {len(asked)} rounds, HV share "
      f"{float(pareto.exact_share(host.best_fitness, obj)):.4f}")
assert int(host.queries) == 100

if "--plot" in sys.argv:
    from jaxnag.pareto.plot import fronts
    path = sys.argv[sys.argv.index("--plot") + 1]
    fronts([front], obj.to_metric(exact_vals), obj.names, "NSGA-II (jaxnag), 300 queries", path)
    print(f"wrote {path}")
