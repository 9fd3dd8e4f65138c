"""Tutorial 4: many seeds, tasks and configs in one call, then on a device mesh.

A generator's `generate` is a pure function: `vmap` it over keys (seeds), over a stacked table (tasks)
and over the traced fields of a batched config (a hyperparameter sweep). `jaxnag.parallel.run` does
the three at once and shards the cells over every device (a TPU pod, several GPUs, or fake CPU devices:
XLA_FLAGS=--xla_force_host_platform_device_count=8), returning `[configs, tasks, seeds]` arrays.

Run: JAXNAG_DATA_DIR=../shared/data python docs/tutorials/many_runs.py
"""
import jax
import numpy as np

from jaxnag import ednag, parallel, registry, tables

datasets = ("cifar10", "cifar100", "imagenet16")
tasks = tables.stack([tables.load("nb201", d) for d in datasets])  # one table per task, stacked
space = tasks.space
gen = registry.get("ednag")

# By hand: 3 temperatures x 3 tasks x 16 seeds = 144 runs in one compiled call.
configs = ednag.Config(population=10, steps=30).batched(temperature=[0.02, 0.1, 0.5])
keys = jax.vmap(jax.random.key)(np.arange(16))  # seed s runs with jax.random.key(s)
per_seed = jax.vmap(lambda k, t, c: gen.generate(k, t, space, c), (0, None, None))
per_task = jax.vmap(per_seed, (None, 0, None))
res = jax.jit(jax.vmap(per_task, (None, None, 0)))(keys, tasks, configs)
print("by hand:", res.best_fitness.shape)  # (configs, tasks, seeds)

# The same grid through jaxnag.parallel: sharded over the devices, in chunks that fit in memory.
grid = parallel.run(gen, list(range(16)), tasks, space, configs)
optima = np.asarray(tasks.optimum)
hit = (grid.best_fitness >= optima[None, :, None]).mean(axis=-1)  # [configs, tasks]
for i, temp in enumerate((0.02, 0.1, 0.5)):
    print(f"temperature {temp}: hit rate " + ", ".join(f"{d} {h:.0%}" for d, h in zip(datasets, hit[i])))
np.testing.assert_array_equal(grid.best_fitness, np.asarray(res.best_fitness))  # the same 144 runs
print(f"{len(jax.devices())} device(s); a cell's result depends only on its config, task and seed")
