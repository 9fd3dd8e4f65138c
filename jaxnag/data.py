"""Image datasets for proxies and training: the user's ``.npz`` files, and scikit-learn's bundled digits.

A dataset file is an ``.npz`` with images ``x [n, H, W, C]`` (numbers, finite) and integer labels
``y [n]`` in ``0..classes-1``. :func:`load` reads and checks one, every problem as one
:class:`~jaxnag.errors.DataError`; :func:`digits` gives real images with nothing to download (the
8x8 handwritten digits scikit-learn ships, resized); :func:`split` divides a dataset.

Examples:
  >>> from jaxnag import data
  >>> x, y = data.digits(resolution=16)          # needs scikit-learn (the 'examples' extra)
  >>> x.shape, y.shape, int(y.max())
  ((1797, 16, 16, 3), (1797,), 9)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import DataError, MissingDependency, check_int

__all__ = ["digits", "load", "save", "split"]


MAX_CLASSES = 100_000  # more outputs than this is a mistake in the labels, not a classifier
MAX_PIXEL = 1e6  # pixel magnitudes beyond this are a mistake in the images (training would run at chance)


def check(x, y, *, name: str = "data", classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(x float32, y int32)`` after checking shapes, finiteness, pixel magnitudes and labels.

    Labels must be class indices ``0..classes-1``. Without ``classes`` (it is then the largest label + 1),
    labels that make more than :data:`MAX_CLASSES` classes, or over 1,000 classes of which fewer than a
    tenth appear, are refused (relabel them ``0..k-1``); pixels of magnitude above :data:`MAX_PIXEL` are
    refused (normalise them)."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 4:
        raise DataError(f"{name}: images x must be [n, height, width, channels], got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise DataError(f"{name}: images x must be numbers, got dtype {x.dtype}")
    if y.shape != (len(x),):
        raise DataError(f"{name}: labels y must be [n] = [{len(x)}], got shape {y.shape}")
    if x.size:
        with np.errstate(over="ignore", invalid="ignore"):  # values beyond float32's range become inf: refused
            bad = ~np.isfinite(x.astype(np.float32))
        if bad.any():
            raise DataError(f"{name}: images x contain {int(bad.sum())} NaN or infinite pixel values (or values "
                            f"beyond float32's range)")
        big = float(np.max(np.abs(x.astype(np.float64) if np.issubdtype(x.dtype, np.integer) else x)))
        if big > MAX_PIXEL:
            raise DataError(f"{name}: pixel values reach {big:.3g} in magnitude; images must lie within "
                            f"+-{MAX_PIXEL:.0e} (e.g. 0..255, 0..1 or standardised): normalise them, e.g. "
                            "x = (x - x.mean()) / x.std()")
    if not np.issubdtype(y.dtype, np.integer):
        if not (np.issubdtype(y.dtype, np.floating) and np.isfinite(y).all() and (y == np.round(y)).all()):
            raise DataError(f"{name}: labels y must be integers, got dtype {y.dtype}")
    if len(y) and y.min() < 0:
        raise DataError(f"{name}: labels y must be >= 0, got {int(y.min())}")
    if len(y):
        top = int(y.max())  # before narrowing to int32, so a huge label cannot wrap
        if classes is not None:
            check_int("classes", classes, lo=1, hi=MAX_CLASSES)
            if top >= classes:
                raise DataError(f"{name}: labels y must lie in 0..{classes - 1} for {classes} classes, got max {top}")
        else:
            distinct = len(np.unique(y))
            if top + 1 > MAX_CLASSES or (top + 1 > 1000 and 10 * distinct < top + 1):
                raise DataError(f"{name}: labels y must be class indices 0..C-1, but the largest is {top:,} (C = "
                                f"largest label + 1 = {top + 1:,} classes) and only {distinct:,} distinct labels "
                                f"appear: relabel them 0..{distinct - 1} (_, y = np.unique(y, return_inverse=True)) "
                                f"or give the number of classes (--classes)")
    return x.astype(np.float32), y.astype(np.int32)


def load(path, *, classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` from an ``.npz`` file with keys ``x`` and ``y``, checked; labels must lie below
    ``classes`` when given: float32 ``[n, H, W, C]`` and int32 ``[n]``.

    Examples:
      >>> import pathlib, tempfile, numpy as np
      >>> from jaxnag import data, errors
      >>> with tempfile.TemporaryDirectory() as d:
      ...     path = pathlib.Path(d) / "tiny.npz"
      ...     np.savez(path, x=np.ones((3, 4, 4, 1), np.uint8), y=np.array([0, 1, 2]))
      ...     x, y = data.load(path)
      ...     print(x.shape, x.dtype, y.tolist())
      ...     try:
      ...         data.load(path, classes=2)
      ...     except errors.DataError as e:
      ...         print(str(e).split(": ")[1])
      (3, 4, 4, 1) float32 [0, 1, 2]
      labels y must lie in 0..1 for 2 classes, got max 2
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no dataset file {path}: pass an .npz with images 'x' [n, H, W, C] and labels 'y' [n]")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("x", "y") if k not in z.files]
            if missing:
                raise DataError(f"{path}: missing key(s) {', '.join(missing)}; found {', '.join(z.files) or 'none'} "
                                f"(images 'x' [n, H, W, C], labels 'y' [n])")
            x, y = z["x"], z["y"]
    except DataError:
        raise
    except Exception as e:  # a truncated or foreign file
        raise DataError(f"{path} is not a readable .npz file ({type(e).__name__}: {e})") from e
    return check(x, y, name=str(path), classes=classes)


def save(path, x, y) -> Path:
    """Write ``x, y`` (checked) to ``path`` as a dataset file; returns ``path``.

    Examples:
      >>> import pathlib, tempfile, numpy as np
      >>> from jaxnag import data, errors
      >>> x, y = np.random.default_rng(0).normal(size=(5, 4, 4, 3)), np.array([0, 1, 0, 1, 1])
      >>> with tempfile.TemporaryDirectory() as d:
      ...     path = data.save(pathlib.Path(d) / "mine.npz", x, y)
      ...     x2, y2 = data.load(path)
      ...     try:
      ...         data.save(pathlib.Path(d) / "bad.npz", x, y - 1)  # checked first: nothing written
      ...     except errors.DataError as e:
      ...         print(e, sorted(p.name for p in path.parent.iterdir()))
      data: labels y must be >= 0, got -1 ['mine.npz']
      >>> bool(np.allclose(x2, x)), y2.tolist()  # float32 images, int32 labels
      (True, [0, 1, 0, 1, 1])
    """
    x, y = check(x, y)
    path = Path(path)
    np.savez_compressed(path, x=x, y=y)
    return path


def digits(*, resolution: int = 32, channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 handwritten digits (10 classes), resized (bilinear) to ``resolution``^2,
    repeated over ``channels``, standardised to mean 0 and std 1: float32 ``[1797, r, r, c]``, int32 ``[1797]``.

    Examples:
      >>> from jaxnag import data
      >>> x, y = data.digits(resolution=8, channels=1)  # needs scikit-learn (the 'examples' extra)
      >>> x.shape, x.dtype, abs(round(float(x.mean()), 3)), round(float(x.std()), 3), sorted(set(y.tolist()))[-1]
      ((1797, 8, 8, 1), dtype('float32'), 0.0, 1.0, 9)
    """
    check_int("resolution", resolution, lo=4)
    check_int("channels", channels, lo=1)
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise MissingDependency("digits() needs scikit-learn: pip install 'jaxnag[examples]'") from e
    import jax
    d = load_digits()
    images = d.images.astype(np.float32)[..., None] / 16.0
    resized = np.asarray(jax.image.resize(images, (len(images), resolution, resolution, 1), "bilinear"))
    resized = (resized - resized.mean()) / resized.std()
    return np.repeat(resized, channels, axis=-1).astype(np.float32), d.target.astype(np.int32)


def split(x, y, fraction: float = 0.8, *, seed: int = 0):
    """``(x_train, y_train), (x_test, y_test)``: a seeded random split, ``fraction`` for training.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import data
      >>> x, y = np.arange(10).reshape(10, 1, 1, 1), np.arange(10) % 2
      >>> (xa, ya), (xb, yb) = data.split(x, y, 0.8, seed=1)
      >>> len(xa), len(xb), sorted(xa.ravel().tolist() + xb.ravel().tolist()) == list(range(10))
      (8, 2, True)
      >>> again = data.split(x, y, 0.8, seed=1)[1][0]  # the same seed, the same split
      >>> bool((ya == xa.ravel() % 2).all()), again.ravel().tolist() == xb.ravel().tolist()
      (True, True)
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"fraction must lie in (0, 1), got {fraction}")
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(round(fraction * len(x)))
    if cut < 1 or cut >= len(x):
        raise DataError(f"{len(x)} examples cannot be split {fraction:.2f} / {1 - fraction:.2f}")
    return (x[order[:cut]], y[order[:cut]]), (x[order[cut:]], y[order[cut:]])
