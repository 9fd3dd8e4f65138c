"""A front found over the exact front, as a PNG (matplotlib, imported here only).

Examples:
  >>> # from jaxnag.pareto.plot import fronts
  >>> # fronts([found_metrics], exact_metrics, ("test_acc", "params_mb"), "title", "front.png")
"""

from __future__ import annotations

import numpy as np

__all__ = ["fronts"]


def fronts(found: list[np.ndarray], exact: np.ndarray | None, names, title: str, path, labels=None) -> None:
    """Scatter the first two objectives (in their own units) of each ``found [F, M]`` over ``exact``;
    a third objective colours the exact front. Writes a PNG to ``path``.

    Examples:
      >>> import pathlib, tempfile
      >>> import numpy as np
      >>> from jaxnag.pareto.plot import fronts
      >>> found = np.array([[93.1, 1.2], [90.5, 0.4]])  # (test accuracy, parameters MB)
      >>> exact = np.array([[94.4, 1.5], [93.1, 1.0], [90.5, 0.3]])
      >>> with tempfile.TemporaryDirectory() as d:
      ...     path = pathlib.Path(d) / "front.png"
      ...     fronts([found], exact, ("test_acc", "params_mb"), "found over exact", path)
      ...     print(path.read_bytes()[1:4])
      b'PNG'
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
    if exact is not None and len(exact):
        order = np.argsort(exact[:, 0])
        ax.plot(exact[order, 0], exact[order, 1], color="0.6", lw=1, zorder=1)
        ax.scatter(exact[:, 0], exact[:, 1], s=60, facecolors="none", edgecolors="k", label="exact front", zorder=2)
    for i, f in enumerate(found):
        label = labels[i] if labels else ("found" if len(found) == 1 else None)
        ax.scatter(f[:, 0], f[:, 1], s=18, alpha=0.8, label=label, zorder=3)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
