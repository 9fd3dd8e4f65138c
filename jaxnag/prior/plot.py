"""Heatmap of a score matrix (needs matplotlib)."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

__all__ = ["heatmap"]


def heatmap(score: np.ndarray, space, title: str, path, ax=None):
    """Draw ``score[slot, op]`` with slot and op names; write ``path`` when no axis is given."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ConfigError("plotting needs matplotlib: pip install matplotlib") from e
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(1.2 * space.num_choices + 2, 0.5 * space.num_slots + 1.5))
    im = ax.imshow(np.nan_to_num(score), cmap="viridis", aspect="auto")
    ax.set_xticks(range(space.num_choices), space.op_names, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(space.num_slots), space.slot_names, fontsize=8)
    for i in range(score.shape[0]):
        for j in range(score.shape[1]):
            if np.isfinite(score[i, j]):
                ax.text(j, i, f"{score[i, j]:.1f}", ha="center", va="center", fontsize=7, color="w")
    ax.set_title(title, fontsize=9)
    if own:
        fig.colorbar(im, ax=ax)
        fig.tight_layout()
        from .. import outputs
        with outputs.atomic(path, "--plot") as tmp:
            fig.savefig(tmp, dpi=110)
        plt.close(fig)
    return im
