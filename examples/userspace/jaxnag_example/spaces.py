"""Two search spaces of one's own: a 5-layer chain and a 4-node cell with its own "zero" op, and a
synthetic accuracy table on each (with interactions between layers / edges, so it is not additive)."""

import numpy as np

from jaxnag import spaces

CHAIN_OPS = ("conv3", "conv5", "dwconv", "skip")
CELL_OPS = ("zero", "id", "conv", "pool")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


def chain5():
    """5 layers x 4 ops; "skip" is each layer's identity (PG-NAG's reference op)."""
    return spaces.categorical("chain5", CHAIN_OPS, slots=5, identity="skip",
                              description="chain5: 5 layers x 4 ops (an example user space)")


def cell4z():
    """A 4-node cell, 6 edges x 4 ops; "zero" removes an edge, "id" passes its input on."""
    return spaces.categorical("cell4z", CELL_OPS, edges=EDGES, remove="zero", identity="id",
                              description="cell4z: 6 edges x 4 ops, its own 'zero' (an example user space)")


def chain5_table(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(ops, acc)`` for all 1,024 chains: per-layer op values plus a bonus for conv5 followed by conv3."""
    space = spaces.get("chain5")
    ops = space.all_ops()
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 1.0, (5, 4))
    acc = 80 + w[np.arange(5), ops].sum(1) + 2.0 * ((ops[:, :-1] == 1) & (ops[:, 1:] == 0)).sum(1)
    return ops, acc.astype(np.float32)


def cell4z_table() -> tuple[np.ndarray, np.ndarray]:
    """``(ops, acc)`` for all 4,096 cells: conv pays on every edge, more on a conv-conv path; a
    disconnected cell is at chance (10)."""
    space = spaces.get("cell4z")
    ops = space.all_ops()
    conv = (ops == 2).astype(np.float32)
    acc = 50 + 4 * conv.sum(1) + 2 * (ops == 3).sum(1) + 6 * conv[:, 0] * conv[:, 5] + 3 * conv[:, 3]
    return ops, np.where(np.asarray(space.connected(ops)), acc, 10.0).astype(np.float32)
