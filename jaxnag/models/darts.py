"""The DARTS network of a genotype (``NetworkCIFAR`` of Liu et al. 2019), in Flax NNX, and its parameter count.

A 3x3 conv-BN stem of ``3 C`` channels; ``layers`` cells, the cells at 1/3 and 2/3 of the depth reduction cells
(channels doubled, resolution halved); global average pooling and a linear classifier; optionally DARTS's
auxiliary head after the second reduction. A cell preprocesses its two inputs (ReLU-conv1x1-BN, or a factorized
reduction where the previous cell reduced), runs each intermediate node's two ops and sums them, and concatenates
nodes 2..5 (``4 C`` channels). Ops are DARTS's: separable convolutions (twice ReLU, depthwise, pointwise, BN),
dilated convolutions (ReLU, dilated depthwise, pointwise, BN), 3x3 max / average pooling (padding not counted),
skip (a factorized reduction at stride 2). Convolutions have no bias; images are NHWC; drop-path is not applied.

:func:`param_count` counts the trainable parameters (DARTS-V2 at DARTS's size: 3.349342 M, as DARTS prints it).
NASLib's ``params`` for NAS-Bench-301 are this network's at ``C = 32``, 8 cells, no auxiliary head, the ops' batch
norms without scale and shift (:data:`NASLIB_NB301`; ``benchmarks/graph_params.py`` checks all 500). :func:`flops`
counts multiply-adds, or as NASLib counts (its NB301 network also puts a batch norm after each pooling op).

Examples:
  >>> import jax.numpy as jnp
  >>> from flax import nnx
  >>> from jaxnag import spaces
  >>> from jaxnag.models import darts
  >>> from jaxnag.spaces.darts import DARTS_V2
  >>> ops = spaces.get("darts").from_string(DARTS_V2)
  >>> net = darts.Network(ops, channels=4, layers=3, rngs=nnx.Rngs(0))
  >>> nnx.jit(lambda m, x: m(x))(net, jnp.ones((2, 16, 16, 3))).shape
  (2, 10)
  >>> darts.param_count(ops) / 1e6  # DARTS's CIFAR-10 network (C = 36, 20 cells)
  3.349342
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..errors import ConfigError, InvalidArchitecture, check_int
from .layers import (BN, INIT, _head_flops, conv_general_dilated, count, flop_convention, linear, switch_edge,
                     tap)

__all__ = ["MIXED_SIZE", "NASLIB_NB301", "SIZE", "AuxiliaryHead", "Cell", "MixedCell", "MixedEdge", "MixedNetwork",
           "Network", "count", "drop_path", "flops", "param_count"]

SIZE = dict(channels=36, layers=20, classes=10, auxiliary=False, affine=True)  # DARTS's CIFAR-10 evaluation network
# NASLib's NAS-Bench-301 network (32 channels, 8 cells, the ops' batch norms without scale and shift)
NASLIB_NB301 = dict(channels=32, layers=8, classes=10, auxiliary=False, affine=False)
MIXED_SIZE = dict(channels=32, cells=8, classes=10)  # MixedNetwork's default: NASLib's NB301 network


def _conv(cin, cout, k, rngs, *, stride=1, dilation=1, groups=1):
    pad = dilation * (k - 1) // 2
    return nnx.Conv(cin, cout, (k, k), strides=stride, padding=((pad, pad),) * 2, kernel_dilation=dilation,
                    feature_group_count=groups, use_bias=False, kernel_init=INIT, rngs=rngs,
                    conv_general_dilated=conv_general_dilated)


def _bn(c, rngs, affine: bool = True):
    return nnx.BatchNorm(c, **BN, use_scale=affine, use_bias=affine, rngs=rngs)


class ReLUConvBN(nnx.Module):
    """ReLU, a bias-free ``k x k`` convolution, batch norm."""

    def __init__(self, cin: int, cout: int, k: int, *, rngs: nnx.Rngs):
        self.conv, self.bn = _conv(cin, cout, k, rngs), _bn(cout, rngs)

    def __call__(self, x):
        return self.bn(tap("conv", self.conv(tap("relu", jax.nn.relu(x))), 1.0, self.conv))


class FactorizedReduce(nnx.Module):
    """ReLU, two 1x1 convolutions at stride 2 (the second shifted by one pixel), concatenated, batch norm."""

    def __init__(self, cin: int, cout: int, *, affine: bool = True, rngs: nnx.Rngs):
        self.a = _conv(cin, cout // 2, 1, rngs, stride=2)
        self.b = _conv(cin, cout - cout // 2, 1, rngs, stride=2)
        self.bn = _bn(cout, rngs, affine)

    def __call__(self, x):
        x = tap("relu", jax.nn.relu(x))
        shifted = jnp.pad(x[:, 1:, 1:, :], ((0, 0), (0, 1), (0, 1), (0, 0)))  # PyTorch's x[:, :, 1:, 1:], same size
        return self.bn(jnp.concatenate([self.a(x), self.b(shifted)], axis=-1))


class SepConv(nnx.Module):
    """DARTS's separable convolution: (ReLU, depthwise ``k x k``, pointwise, BN) twice, the first at ``stride``."""

    def __init__(self, c: int, k: int, stride: int, *, affine: bool = True, rngs: nnx.Rngs):
        self.dw1, self.pw1 = _conv(c, c, k, rngs, stride=stride, groups=c), _conv(c, c, 1, rngs)
        self.dw2, self.pw2 = _conv(c, c, k, rngs, groups=c), _conv(c, c, 1, rngs)
        self.bn1, self.bn2 = _bn(c, rngs, affine), _bn(c, rngs, affine)

    def __call__(self, x):
        x = self.bn1(self.pw1(self.dw1(jax.nn.relu(x))))
        return self.bn2(self.pw2(self.dw2(jax.nn.relu(x))))


class DilConv(nnx.Module):
    """ReLU, a depthwise ``k x k`` convolution of dilation 2, pointwise, BN."""

    def __init__(self, c: int, k: int, stride: int, *, affine: bool = True, rngs: nnx.Rngs):
        self.dw, self.pw = _conv(c, c, k, rngs, stride=stride, dilation=2, groups=c), _conv(c, c, 1, rngs)
        self.bn = _bn(c, rngs, affine)

    def __call__(self, x):
        return self.bn(self.pw(self.dw(jax.nn.relu(x))))


def _pool(x, stride: int, kind: str):
    window, strides, pad = (1, 3, 3, 1), (1, stride, stride, 1), ((0, 0), (1, 1), (1, 1), (0, 0))
    if kind == "max":
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, strides, pad)
    total = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, strides, pad)
    ones = jnp.ones((1,) + x.shape[1:3] + (1,), x.dtype)  # positions counted per window (padding excluded)
    return total / jax.lax.reduce_window(ones, 0.0, jax.lax.add, window, strides, pad)


def _op(name: str, c: int, stride: int, affine: bool, rngs):
    if name == "skip_connect":
        return FactorizedReduce(c, c, affine=affine, rngs=rngs) if stride == 2 else None
    if name.startswith("sep_conv"):
        return SepConv(c, int(name[-1]), stride, affine=affine, rngs=rngs)
    if name.startswith("dil_conv"):
        return DilConv(c, int(name[-1]), stride, affine=affine, rngs=rngs)
    return None  # pooling: no parameters


def drop_path(key: jax.Array, y: jax.Array, probability) -> jax.Array:
    """``y [B, ...]`` with each image's entry zeroed with ``probability`` and the others divided by
    ``1 - probability`` (the expectation kept); ``probability`` may be traced (DARTS grows it over the epochs).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.models import darts
      >>> y = darts.drop_path(jax.random.key(0), jnp.ones((1000, 2, 2, 3)), 0.2)
      >>> sorted(set(jnp.round(y, 4).ravel().tolist())), round(float(jnp.mean(y)), 1)  # 0 or 1 / 0.8; mean 1
      ([0.0, 1.25], 1.0)
    """
    keep = 1.0 - jnp.asarray(probability, y.dtype)
    mask = jax.random.bernoulli(key, keep, (y.shape[0],) + (1,) * (y.ndim - 1))
    return jnp.where(mask, y / jnp.maximum(keep, 1e-6), jnp.zeros((), y.dtype))


class Cell(nnx.Module):
    """One DARTS cell of ``channels`` per node from the previous two cells' outputs (``c_prev_prev``, ``c_prev``
    channels); ``pairs`` is the genotype's 8 ``(op, input)``; outputs ``4 * channels``: ``[B, H, W, 4 C]`` (``H / 2``,
    ``W / 2`` for a reduction cell).

    Examples:
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxnag.models import darts
      >>> from jaxnag.spaces.darts import DARTS_V2, genotype
      >>> pairs = genotype(DARTS_V2)["normal"]
      >>> cell = darts.Cell(pairs, 12, 12, 4, reduction=False, reduction_prev=False, rngs=nnx.Rngs(0))
      >>> s = jnp.ones((2, 8, 8, 12))  # the previous two cells' outputs
      >>> nnx.eval_shape(lambda c, s0, s1: c(s0, s1), cell, s, s).shape  # shapes only
      (2, 8, 8, 16)
      >>> len(cell.ops), cell.pairs[-1]
      (8, ('dil_conv_3x3', 2))
    """

    def __init__(self, pairs, c_prev_prev: int, c_prev: int, channels: int, *, reduction: bool,
                 reduction_prev: bool, affine: bool = True, rngs: nnx.Rngs):
        self.pairs, self.reduction = tuple((str(op), int(src)) for op, src in pairs), bool(reduction)
        self.pre0 = (FactorizedReduce(c_prev_prev, channels, rngs=rngs) if reduction_prev
                     else ReLUConvBN(c_prev_prev, channels, 1, rngs=rngs))
        self.pre1 = ReLUConvBN(c_prev, channels, 1, rngs=rngs)
        self.ops = nnx.List([_op(op, channels, 2 if reduction and src < 2 else 1, affine, rngs)
                             for op, src in self.pairs])

    def __call__(self, s0, s1, drop=None):
        """The cell's output; ``drop = (key, probability)`` applies drop-path in training (DARTS's recipe): each
        edge's output but an identity's is zeroed per image with that probability, the rest scaled by
        ``1 / (1 - probability)``."""
        states = [self.pre0(s0), self.pre1(s1)]
        for node in range(4):
            total = None
            for k in (2 * node, 2 * node + 1):
                name, src = self.pairs[k]
                stride = 2 if self.reduction and src < 2 else 1
                h = states[src]
                if name in ("max_pool_3x3", "avg_pool_3x3"):
                    y = _pool(h, stride, name[:3])
                elif self.ops[k] is None:  # skip at stride 1
                    y = h
                else:
                    y = self.ops[k](h)
                if drop is not None and not (name == "skip_connect" and stride == 1):
                    y = drop_path(jax.random.fold_in(drop[0], k), y, drop[1])
                total = y if total is None else total + y
            states.append(total)
        return jnp.concatenate(states[2:], axis=-1)


class AuxiliaryHead(nnx.Module):
    """DARTS's auxiliary classifier (CIFAR, 8x8 input): ReLU, 5x5 average pool at stride 3, conv1x1-BN-ReLU to 128,
    conv2x2-BN-ReLU to 768, linear: ``[B, 8, 8, c]`` -> logits ``[B, classes]``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxnag.models import darts
      >>> head = lambda: darts.AuxiliaryHead(8, 10, rngs=nnx.Rngs(0))
      >>> jax.eval_shape(lambda x: head()(x), jnp.ones((2, 8, 8, 8))).shape  # shapes only
      (2, 10)
      >>> darts.count(nnx.eval_shape(head))  # 8*128 + 256 + 2*2*128*768 + 1536 + 768*10 + 10
      403722
    """

    def __init__(self, c: int, classes: int, *, rngs: nnx.Rngs):
        self.conv1, self.bn1 = _conv(c, 128, 1, rngs), _bn(128, rngs)
        self.conv2 = _conv(128, 768, 2, rngs)  # no padding at k = 2
        self.bn2, self.classifier = _bn(768, rngs), linear(768, classes, rngs)

    def __call__(self, x):
        x = jax.lax.reduce_window(jax.nn.relu(x), 0.0, jax.lax.add, (1, 5, 5, 1), (1, 3, 3, 1), "VALID") / 25.0
        x = jax.nn.relu(self.bn2(self.conv2(jax.nn.relu(self.bn1(self.conv1(x))))))
        return self.classifier(x.reshape(x.shape[0], -1))


def _layout(channels: int, layers: int):
    """``(reduction, reduction_prev, c_prev_prev, c_prev, c)`` of each cell in order: the cells at ``layers // 3`` and
    ``2 * layers // 3`` reduce (channels doubled); every cell outputs ``4 c`` channels (the next cell's ``c_prev``)."""
    c_pp = c_p = 3 * channels  # the stem's channels
    c, reduction_prev = channels, False
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        c = 2 * c if reduction else c
        yield reduction, reduction_prev, c_pp, c_p, c
        reduction_prev, c_pp, c_p = reduction, c_p, 4 * c


def _skeleton(net, make_cell, channels: int, layers: int, classes: int, in_channels: int, rngs,
              layers_name: str = "layers") -> int:
    """Give ``net`` the stem, the cells (``make_cell(reduction, reduction_prev, c_prev_prev, c_prev, c)``) and the
    classifier of a DARTS network; returns the channels the auxiliary head would read (cell ``aux_after``'s output)."""
    for name, value in (("channels", channels), (layers_name, layers), ("classes", classes),
                        ("in_channels", in_channels)):
        check_int(name, value, lo=1)
    net.stem, net.stem_bn = _conv(in_channels, 3 * channels, 3, rngs), _bn(3 * channels, rngs)
    net.aux_after = 2 * layers // 3  # the auxiliary head reads this cell's output (the second reduction)
    layout = list(_layout(channels, layers))
    net.cells = nnx.List([make_cell(*cell) for cell in layout])
    net.classifier = linear(4 * layout[-1][-1], classes, rngs)
    return 4 * layout[net.aux_after][-1]


def _forward(net, x, run_cell, each=None):
    """``(last cell's output, the auxiliary head's input)`` of a network with ``stem``, ``stem_bn``, ``cells`` and
    ``aux_after``; ``run_cell(cell, s0, s1)`` runs one cell; ``each(run, h)`` as in ``feature_map``."""
    if x.ndim != 4:
        raise ConfigError(f"images must be [batch, height, width, channels], got shape {x.shape}")
    stem = lambda h: net.stem_bn(tap("conv", net.stem(h), 1.0, net.stem))  # noqa: E731
    s0 = s1 = stem(x) if each is None else each(stem, x)
    aux = None
    for i, cell in enumerate(net.cells):
        if each is None:
            s0, s1 = s1, run_cell(cell, s0, s1)
        else:  # each(run, h) divides run(h) by a constant: divide the cell's other input (s1) by the same one
            out = run_cell(cell, s0, s1)
            scaled = each(lambda _: out, s1)
            ratio = jax.lax.stop_gradient(jnp.max(out) / jnp.max(scaled))
            s0, s1 = s1 / ratio, scaled
        if i == net.aux_after:
            aux = s1
    return s1, aux


class Network(nnx.Module):
    """The DARTS evaluation network of a genotype.

    Args:
      ops: an encoding ``[28]`` of ``spaces.get("darts")`` or a genotype string.
      channels: C, the first cells' channels per node (36 in DARTS, 32 in NB301).
      layers: cells (20 in DARTS, 8 in NB301); those at ``layers // 3`` and ``2 * layers // 3`` reduce.
      classes: outputs of the classifier.
      auxiliary: build DARTS's auxiliary head (``net.auxiliary(x)`` gives its logits).
      affine: the ops' batch norms learn a scale and shift (DARTS's evaluation network; NASLib builds the ops
        without, ``affine=False``, and counts its NB301 parameters so).
      in_channels: channels of the input images.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxnag.models import darts
      >>> from jaxnag.spaces.darts import DARTS_V2
      >>> make = lambda: darts.Network(DARTS_V2, channels=2, layers=1, classes=5, rngs=nnx.Rngs(0))
      >>> jax.eval_shape(lambda x: make()(x), jnp.ones((2, 8, 8, 3))).shape  # logits, shapes only
      (2, 5)
      >>> darts.count(nnx.eval_shape(make)) == darts.param_count(DARTS_V2, channels=2, layers=1, classes=5)
      True
    """

    def __init__(self, ops, *, channels: int = 36, layers: int = 20, classes: int = 10, auxiliary: bool = False,
                 affine: bool = True, in_channels: int = 3, rngs: nnx.Rngs):
        from ..spaces.darts import genotype
        g = genotype(ops)
        c_aux = _skeleton(self, lambda reduction, reduction_prev, c_pp, c_p, c: Cell(
            g["reduce" if reduction else "normal"], c_pp, c_p, c, reduction=reduction, reduction_prev=reduction_prev,
            affine=affine, rngs=rngs), channels, layers, classes, in_channels, rngs)
        self.aux_head = AuxiliaryHead(c_aux, classes, rngs=rngs) if auxiliary else None

    def _run(self, x, each=None):
        return _forward(self, x, lambda cell, s0, s1: cell(s0, s1), each)

    def feature_map(self, x, ops=None, each=None):
        """The last cell's output ``[batch, H / 4, W / 4, 16 C]`` (before global pooling). ``each(run, h)`` runs
        the stem and each cell (synflow divides each one's output by a constant); ``ops`` is ignored (the
        genotype is built in), as in :meth:`__call__`: the zero-cost measures call every network as
        ``net(x, ops)``."""
        return self._run(x, each)[0]

    def __call__(self, x, ops=None):
        """Logits ``[batch, classes]``."""
        return tap("linear", self.classifier(jnp.mean(self.feature_map(x), axis=(1, 2))), 1.0, self.classifier)

    @staticmethod
    def op_weight(path, ops):
        """1: every variable belongs to the network (the zero-cost measures' interface of a mixed network)."""
        return jnp.float32(1.0)

    def auxiliary(self, x):
        """The auxiliary head's logits ``[batch, classes]`` (needs ``auxiliary=True`` and 32x32 images)."""
        if self.aux_head is None:
            raise ConfigError("this network has no auxiliary head: build it with auxiliary=True")
        return self.aux_head(self._run(x)[1])

    def train_logits(self, x, drop=None):
        """``(logits, auxiliary logits or None)`` of one training pass, both heads from one run of the cells;
        ``drop = (key, probability)``: drop-path in every cell (:meth:`Cell.__call__`).

        Examples:
          >>> import jax, jax.numpy as jnp
          >>> from flax import nnx
          >>> from jaxnag.models import darts
          >>> from jaxnag.spaces.darts import DARTS_V2
          >>> make = lambda: darts.Network(DARTS_V2, channels=2, layers=3, classes=5, auxiliary=True, rngs=nnx.Rngs(0))
          >>> key = jax.random.key(0)
          >>> logits, aux = jax.eval_shape(lambda x: make().train_logits(x, drop=(key, 0.2)), jnp.ones((2, 32, 32, 3)))
          >>> logits.shape, aux.shape  # shapes only
          ((2, 5), (2, 5))
        """
        cells = {id(c): i for i, c in enumerate(self.cells)}
        run = (lambda cell, s0, s1: cell(s0, s1)) if drop is None else (
            lambda cell, s0, s1: cell(s0, s1, (jax.random.fold_in(drop[0], cells[id(cell)]), drop[1])))
        out, aux = _forward(self, x, run)
        logits = tap("linear", self.classifier(jnp.mean(out, axis=(1, 2))), 1.0, self.classifier)
        return logits, None if self.aux_head is None else self.aux_head(aux)


# ----------------------------------------------------------------------------- every op on every edge
_BRANCH_OPS = ("sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")  # the edge ops with parameters


class MixedEdge(nnx.Module):
    """Every parametrised op of one supernet edge (the separable and dilated convolutions, and at stride 2 the
    skip's factorized reduction); pooling, skip at stride 1 and ``none`` have no parameters. ``[B, H, W, c]`` ->
    ``[B, H / stride, W / stride, c]``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxnag.models import darts
      >>> edge = lambda: darts.MixedEdge(4, 2, affine=False, rngs=nnx.Rngs(0))
      >>> jax.eval_shape(lambda x: edge()(x, jnp.int32(3)), jnp.ones((2, 8, 8, 4))).shape  # 3: skip, at stride 2
      (2, 4, 4, 4)
      >>> e = nnx.eval_shape(edge)  # shapes only
      >>> e.stride, darts.count(e), e.sep_conv_5x5 is not None
      (2, 520, True)
    """

    def __init__(self, c: int, stride: int, *, affine: bool, rngs: nnx.Rngs):
        self.stride = stride
        for name in _BRANCH_OPS:
            setattr(self, name, _op(name, c, stride, affine, rngs))
        self.skip_connect = _op("skip_connect", c, stride, affine, rngs)

    def __call__(self, h, choice):
        """The op ``choice`` (0 none, then :data:`~jaxnag.spaces.darts.OP_NAMES`; may be traced) on ``h``: a
        ``switch``, so only the chosen op runs (where ``choice`` is not vmapped)."""
        stride = self.stride
        modules = tuple(getattr(self, n) for n in _BRANCH_OPS) + ((self.skip_connect,) if stride == 2 else ())
        zeros = lambda v, *m: jnp.zeros_like(_pool(v, stride, "avg"))  # noqa: E731
        skip = (lambda v, *m: m[4](v)) if stride == 2 else (lambda v, *m: v)
        branches = (zeros, lambda v, *m: _pool(v, stride, "max"), lambda v, *m: _pool(v, stride, "avg"), skip) + tuple(
            (lambda v, *m, i=i: m[i](v)) for i in range(len(_BRANCH_OPS)))
        starts_with_relu = (choice >= 4) | ((choice == 3) & (stride == 2))  # the convolutions; the factorized skip
        return switch_edge(choice, branches, h, *modules, relu_weight=starts_with_relu.astype(h.dtype))


class MixedCell(nnx.Module):
    """A DARTS cell holding every op on all 14 supernet edges; ``ops [14]`` (may be traced) picks one per edge.
    On a valid encoding (two edges into every node) it computes :class:`Cell` of that genotype.

    Examples:
      >>> from flax import nnx
      >>> from jaxnag.models import darts
      >>> cell = darts.MixedCell(12, 12, 4, reduction=False, reduction_prev=False, rngs=nnx.Rngs(0))
      >>> len(cell.edges), darts.count(cell.edges[0]), darts.count(cell)  # 14 edges of every op
      (14, 552, 7840)
    """

    def __init__(self, c_prev_prev: int, c_prev: int, channels: int, *, reduction: bool, reduction_prev: bool,
                 affine: bool = True, rngs: nnx.Rngs):
        from ..spaces.darts import CELL_EDGES
        self.reduction = bool(reduction)
        self.pre0 = (FactorizedReduce(c_prev_prev, channels, rngs=rngs) if reduction_prev
                     else ReLUConvBN(c_prev_prev, channels, 1, rngs=rngs))
        self.pre1 = ReLUConvBN(c_prev, channels, 1, rngs=rngs)
        self.edges = nnx.List([MixedEdge(channels, 2 if reduction and src < 2 else 1, affine=affine, rngs=rngs)
                               for src, _ in CELL_EDGES])

    def __call__(self, s0, s1, ops):
        from ..spaces.darts import CELL_EDGES
        states = [self.pre0(s0), self.pre1(s1)]
        for node in range(2, 6):
            states.append(sum(self.edges[e](states[src], ops[e]) for e, (src, dst) in enumerate(CELL_EDGES)
                              if dst == node))
        return jnp.concatenate(states[2:], axis=-1)


class MixedNetwork(nnx.Module):
    """The DARTS network with every op on every edge of both cells: ``net(x, ops)`` computes the :class:`Network`
    of the encoding ``ops [28]`` (traced allowed: one compiled program serves a population; a ``switch`` per edge
    runs only the chosen op). ``cells`` is :class:`Network`'s ``layers``; the default size is NASLib's NB301
    network (32 channels, 8 cells, the ops' batch norms without scale and shift), which the zero-cost proxies use.

    ``net.concrete(ops)`` is the :class:`Network` of ``ops`` with the same weights (the same outputs).

    A :func:`~jaxnag.models.layers.tapped` function sees the ReLU at each chosen op's input and the preprocessing
    ones, not the second ReLU inside a separable convolution (it runs inside the switch's branch), so ``nwot``
    here reads fewer ReLUs than NASLib's hooks on every ``nn.ReLU``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxnag import spaces
      >>> from jaxnag.models import darts
      >>> space = spaces.get("darts")
      >>> from jaxnag.models import layers
      >>> from jaxnag.spaces.darts import DARTS_V2
      >>> ops = space.from_string(DARTS_V2)
      >>> net = nnx.eval_shape(lambda: darts.MixedNetwork(channels=4, cells=1, rngs=nnx.Rngs(0)))  # shapes only
      >>> graphdef, state = nnx.split(net)
      >>> jax.eval_shape(lambda s, o: layers.merge(graphdef, s)(jnp.ones((2, 8, 8, 3)), o), state, ops).shape
      (2, 10)
      >>> layers.count(net.concrete(ops)) == darts.param_count(ops, channels=4, layers=1, affine=False)
      True
    """

    def __init__(self, *, channels: int = 32, cells: int = 8, classes: int = 10, in_channels: int = 3,
                 affine: bool = False, rngs: nnx.Rngs):
        self.size = dict(channels=channels, cells=cells, classes=classes, in_channels=in_channels, affine=affine)
        _skeleton(self, lambda reduction, reduction_prev, c_pp, c_p, c: MixedCell(
            c_pp, c_p, c, reduction=reduction, reduction_prev=reduction_prev, affine=affine, rngs=rngs),
            channels, cells, classes, in_channels, rngs, layers_name="cells")

    def _cell_ops(self, ops):
        ops = jnp.asarray(ops)
        if ops.shape != (28,):
            raise InvalidArchitecture(f"a DARTS encoding is 28 ops (normal then reduction edges), got shape {ops.shape}")
        return lambda cell, s0, s1: cell(s0, s1, ops[14:] if cell.reduction else ops[:14])

    def feature_map(self, x, ops, each=None):
        """The last cell's output of the network of ``ops`` (``each`` as :meth:`Network.feature_map`)."""
        return _forward(self, x, self._cell_ops(ops), each)[0]

    def __call__(self, x, ops):
        """Logits ``[batch, classes]`` of the network of ``ops [28]``."""
        return tap("linear", self.classifier(jnp.mean(self.feature_map(x, ops), axis=(1, 2))), 1.0, self.classifier)

    def op_weight(self, path: tuple, ops) -> jax.Array:
        """1 where the variable at ``path`` of this network's state belongs to the network of ``ops [28]``, 0 for an
        edge op the architecture does not use (a float32 scalar; ``ops`` may be traced)."""
        if len(path) > 4 and path[0] == "cells" and path[2] == "edges":
            from ..spaces.darts import OP_NAMES
            cell, edge, name = path[1], path[3], path[4]
            offset = 14 if self.cells[cell].reduction else 0
            return (jnp.asarray(ops)[offset + edge] == OP_NAMES.index(name) + 1).astype(jnp.float32)
        return jnp.float32(1.0)

    def concrete(self, ops) -> Network:
        """The :class:`Network` of ``ops`` (an encoding or a genotype string) with this network's weights."""
        from ..spaces.darts import CELL_EDGES, genotype
        size = {k: v for k, v in self.size.items() if k != "cells"}
        target = nnx.eval_shape(lambda: Network(ops, layers=self.size["cells"], **size, rngs=nnx.Rngs(0)))
        graphdef, state = nnx.split(target)
        g = genotype(ops)
        slot_of = {}  # (cell kind, pair k) -> the supernet edge it sits on
        for kind in ("normal", "reduce"):
            taken = [e for node in range(2, 6) for e, (src, dst) in enumerate(CELL_EDGES) if dst == node
                     and any(s == src for _, s in g[kind][2 * (node - 2):2 * (node - 1)])]
            slot_of.update({(kind, k): e for k, e in enumerate(taken)})
        mine = dict(nnx.to_flat_state(nnx.state(self)))
        picked = []
        for path, _ in nnx.to_flat_state(state):
            if len(path) > 3 and path[0] == "cells" and path[2] == "ops":
                cell = target.cells[path[1]]
                k = path[3]
                e = slot_of[("reduce" if cell.reduction else "normal", k)]
                path_here = path[:2] + ("edges", e, cell.pairs[k][0]) + path[4:]
            else:
                path_here = path
            picked.append((path, mine[path_here]))
        return nnx.merge(graphdef, nnx.from_flat_state(picked))


def _param_table(size: dict) -> tuple[int, np.ndarray]:
    """``(fixed, per_slot [28, 8])``: the parameters every network of ``size`` has (stem, preprocessing, heads), and
    those each choice of each slot adds, summed over the cells of its kind (host-side)."""
    from ..spaces.darts import CELL_EDGES, OP_NAMES
    bn = 2 if size["affine"] else 0
    stem = 3 * size["channels"]
    fixed = 9 * size["in_channels"] * stem + 2 * stem
    per_slot = np.zeros((2 * len(CELL_EDGES), 1 + len(OP_NAMES)), np.int64)
    layout = list(_layout(size["channels"], size["layers"]))
    for reduction, _, c_pp, c_p, c in layout:
        fixed += c_pp * c + 2 * c + c_p * c + 2 * c  # the two preprocessing convolutions (either kind)
        for e, (src, _) in enumerate(CELL_EDGES):
            stride = 2 if reduction and src < 2 else 1
            for j, op in enumerate(OP_NAMES, start=1):
                if op.startswith("sep_conv"):
                    n = 2 * (int(op[-1]) ** 2 * c + c * c + bn * c)
                elif op.startswith("dil_conv"):
                    n = int(op[-1]) ** 2 * c + c * c + bn * c
                else:
                    n = c * c + bn * c if op == "skip_connect" and stride == 2 else 0
                per_slot[(len(CELL_EDGES) if reduction else 0) + e, j] += n
    classes = size["classes"]
    if size["auxiliary"]:
        c_aux = 4 * layout[2 * size["layers"] // 3][-1]
        fixed += c_aux * 128 + 2 * 128 + 128 * 768 * 4 + 2 * 768 + 768 * classes + classes
    return fixed + 4 * layout[-1][-1] * classes + classes, per_slot


def _edge_flops(op: str, c: int, side_in: int, out: int, stride: int, naslib: bool, bn: int) -> int:
    """FLOPs of one edge's ``op`` at ``c`` channels from a ``side_in``^2 input to ``out`` positions."""
    if op.startswith("sep_conv") or op.startswith("dil_conv"):
        k, twice = int(op[-1]), op.startswith("sep_conv")
        macs = (k * k * c + c * c) * out
        extra = c * side_in * side_in + bn * c * out  # the first ReLU, the BN
        if twice:  # the second half runs at the output's size
            macs, extra = 2 * macs, extra + c * out + bn * c * out
        return macs + (extra if naslib else 0)
    if op == "skip_connect":  # a factorized reduction at stride 2, nothing at stride 1
        return 0 if stride == 1 else c * c * out + ((c * side_in * side_in + bn * c * out) if naslib else 0)
    return 10 * c * out if naslib else 0  # pooling: a 3x3 window per output, then NASLib's BN without scale/shift


def _flop_table(size: dict, resolution: int, naslib: bool) -> tuple[int, np.ndarray]:
    """``(fixed, per_slot [28, 8])`` as :func:`_param_table`, for FLOPs on one ``resolution``^2 image."""
    from ..spaces.darts import CELL_EDGES, OP_NAMES
    bn = 2 if size["affine"] else 1  # tensorwatch: 1 per element, 2 with scale and shift
    extra = int(naslib)
    half = lambda side: -(-side // 2)  # noqa: E731 (stride 2, as the convolutions and pools pad)
    stem = 3 * size["channels"]
    fixed = resolution ** 2 * (9 * size["in_channels"] * stem + extra * 2 * stem)
    per_slot = np.zeros((2 * len(CELL_EDGES), 1 + len(OP_NAMES)), np.int64)
    side_pp = side_p = resolution
    for reduction, reduction_prev, c_pp, c_p, c in _layout(size["channels"], size["layers"]):
        if reduction_prev:  # a factorized reduction of the cell before last, then ReLU-conv1x1-BN of the last
            fixed += c_pp * c * half(side_pp) ** 2 + extra * (c_pp * side_pp ** 2 + 2 * c * half(side_pp) ** 2)
        else:
            fixed += side_pp ** 2 * (c_pp * c + extra * (c_pp + 2 * c))
        fixed += side_p ** 2 * (c_p * c + extra * (c_p + 2 * c))
        side = half(side_p) if reduction else side_p
        for e, (src, _) in enumerate(CELL_EDGES):
            stride = 2 if reduction and src < 2 else 1
            side_in = side_p if src < 2 else side
            for j, op in enumerate(OP_NAMES, start=1):
                per_slot[(len(CELL_EDGES) if reduction else 0) + e, j] += _edge_flops(
                    op, c, side_in, side * side, stride, naslib, bn)
        side_pp, side_p = side_p, side
    return fixed + _head_flops(4 * c, side_p, size["classes"], naslib), per_slot


def flops(ops, *, resolution: int = 32, convention: str = "macs", **size):
    """FLOPs of :class:`Network` of ``ops`` on one ``resolution``^2 image (``size`` as :func:`param_count`),
    counted by ``convention`` (:data:`~jaxnag.models.layers.FLOP_CONVENTIONS`), without building the network; the
    auxiliary head (training only) is not counted. Types as :func:`param_count`, but a jax array gives float32.

    ``"macs"``: convolution and classifier multiply-adds (its bias included). ``"naslib"``: as NASLib's zero-cost
    files count (``flops`` of ``naslib_zc_subsets.npz``, all 500 NB301 genotypes at :data:`NASLIB_NB301`, checked by
    ``benchmarks/graph_params.py``): batch norm, ReLU and pooling too, and a batch norm without scale and shift
    after every pooling op, which NASLib's network has and this one does not.

    Examples:
      >>> from jaxnag.models import darts
      >>> from jaxnag.spaces.darts import DARTS_V2
      >>> darts.flops(DARTS_V2) / 1e6  # DARTS's CIFAR-10 network (C = 36, 20 cells)
      528.35905
      >>> darts.flops(DARTS_V2, convention="naslib", **darts.NASLIB_NB301) / 1e6  # NASLib's NB301 network
      165.918208
    """
    size = {**SIZE, "in_channels": 3, **size}
    check_int("resolution", resolution, lo=4)
    return _look_up(ops, *_flop_table(size, resolution, flop_convention(convention) == "naslib"), jnp.float32)


def _look_up(ops, fixed: int, per_slot: np.ndarray, dtype):
    """``fixed`` plus each slot's entry of ``per_slot`` for its choice: a jax array of encodings ``[..., 28]`` gives
    ``dtype [...]`` (jittable); a genotype string or one numpy encoding (checked) an int."""
    if isinstance(ops, jax.Array):
        table = jnp.asarray(per_slot, dtype)
        return fixed + jnp.sum(table[jnp.arange(table.shape[0]), jnp.asarray(ops, jnp.int32)], axis=-1)
    from ..spaces import get
    from ..spaces.darts import genotype
    enc = get("darts").from_string(ops) if isinstance(ops, str) else np.asarray(ops)
    genotype(enc)  # one valid encoding, or a clear error
    return int(fixed + per_slot[np.arange(per_slot.shape[0]), enc].sum())


def param_count(ops, **size):
    """Trainable parameters of :class:`Network` of ``ops`` (``size``: channels, layers, classes, auxiliary,
    affine, in_channels; default DARTS's CIFAR-10 network), counted without building the network (equal to
    ``count(Network(ops, **size))``: the tests check it). A genotype string or one numpy encoding gives an int
    (checked: an invalid one raises); a jax array of encodings ``[..., 28]`` gives int32 ``[...]``, jittable (a
    node's edges simply add up: validity is the caller's).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import spaces
      >>> from jaxnag.models import darts
      >>> from jaxnag.spaces.darts import DARTS_V2
      >>> ops = spaces.get("darts").from_string(DARTS_V2)
      >>> darts.param_count(DARTS_V2, channels=4, layers=3), darts.param_count(ops, channels=4, layers=3)
      (2858, 2858)
      >>> both = jnp.stack([jnp.asarray(ops), jnp.zeros(28, jnp.int32)])  # DARTS-V2, and every edge "none"
      >>> darts.param_count(both, channels=4, layers=3).tolist()  # jittable; the second is the fixed part alone
      [2858, 2198]
    """
    size = {**SIZE, "in_channels": 3, **size}
    return _look_up(ops, *_param_table(size), jnp.int32)
