"""One process of the two-process test: join the run, run a sharded EDNAG grid, save what it gathered.

usage: python worker.py PORT PROCESS_ID OUT.npz   (with 4 fake CPU devices per process in XLA_FLAGS)
"""

import sys

from jaxnag import parallel  # importing jaxnag leaves jax.distributed possible


def main():
    port, pid, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    parallel.initialize(f"localhost:{port}", 2, pid)

    import jax
    import numpy as np

    from jaxnag import ednag, tables

    assert jax.process_count() == 2 and jax.device_count() == 8 and jax.local_device_count() == 4
    table = tables.stack([tables.load("nb201", d) for d in ("cifar10", "cifar100", "imagenet16")])
    configs = [ednag.Config(population=8, steps=6, temperature=t) for t in (0.1, 0.3)]
    res = parallel.run("ednag", range(10), table, table.space, configs, chunk=24)  # 60 cells: 24, 24, 12 + 12 padding
    leaves = jax.tree.leaves(res)
    np.savez(out, *leaves)
    print("ok", jax.process_index(), flush=True)


if __name__ == "__main__":
    main()
