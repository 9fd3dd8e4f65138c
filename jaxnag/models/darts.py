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
norms without scale and shift (:data:`NASLIB_NB301`; ``benchmarks/graph_params.py`` checks all 500).

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
from flax import nnx

from ..errors import ConfigError, check_int
from .layers import BN, INIT, conv_general_dilated, count, linear, tap

__all__ = ["NASLIB_NB301", "SIZE", "AuxiliaryHead", "Cell", "Network", "count", "param_count"]

SIZE = dict(channels=36, layers=20, classes=10, auxiliary=False, affine=True)  # DARTS's CIFAR-10 evaluation network
# NASLib's NAS-Bench-301 network (32 channels, 8 cells, the ops' batch norms without scale and shift)
NASLIB_NB301 = dict(channels=32, layers=8, classes=10, auxiliary=False, affine=False)


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


class Cell(nnx.Module):
    """One DARTS cell of ``channels`` per node from the previous two cells' outputs (``c_prev_prev``, ``c_prev``
    channels); ``pairs`` is the genotype's 8 ``(op, input)``; outputs ``4 * channels``."""

    def __init__(self, pairs, c_prev_prev: int, c_prev: int, channels: int, *, reduction: bool,
                 reduction_prev: bool, affine: bool = True, rngs: nnx.Rngs):
        self.pairs, self.reduction = tuple((str(op), int(src)) for op, src in pairs), bool(reduction)
        self.pre0 = (FactorizedReduce(c_prev_prev, channels, rngs=rngs) if reduction_prev
                     else ReLUConvBN(c_prev_prev, channels, 1, rngs=rngs))
        self.pre1 = ReLUConvBN(c_prev, channels, 1, rngs=rngs)
        self.ops = nnx.List([_op(op, channels, 2 if reduction and src < 2 else 1, affine, rngs)
                             for op, src in self.pairs])

    def __call__(self, s0, s1):
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
                total = y if total is None else total + y
            states.append(total)
        return jnp.concatenate(states[2:], axis=-1)


class AuxiliaryHead(nnx.Module):
    """DARTS's auxiliary classifier (CIFAR, 8x8 input): ReLU, 5x5 average pool at stride 3, conv1x1-BN-ReLU to 128,
    conv2x2-BN-ReLU to 768, linear."""

    def __init__(self, c: int, classes: int, *, rngs: nnx.Rngs):
        self.conv1, self.bn1 = _conv(c, 128, 1, rngs), _bn(128, rngs)
        self.conv2 = _conv(128, 768, 2, rngs)  # no padding at k = 2
        self.bn2, self.classifier = _bn(768, rngs), linear(768, classes, rngs)

    def __call__(self, x):
        x = jax.lax.reduce_window(jax.nn.relu(x), 0.0, jax.lax.add, (1, 5, 5, 1), (1, 3, 3, 1), "VALID") / 25.0
        x = jax.nn.relu(self.bn2(self.conv2(jax.nn.relu(self.bn1(self.conv1(x))))))
        return self.classifier(x.reshape(x.shape[0], -1))


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
    """

    def __init__(self, ops, *, channels: int = 36, layers: int = 20, classes: int = 10, auxiliary: bool = False,
                 affine: bool = True, in_channels: int = 3, rngs: nnx.Rngs):
        for name, value in (("channels", channels), ("layers", layers), ("classes", classes),
                            ("in_channels", in_channels)):
            check_int(name, value, lo=1)
        from ..spaces.darts import genotype
        g = genotype(ops)
        c = 3 * channels
        self.stem, self.stem_bn = _conv(in_channels, c, 3, rngs), _bn(c, rngs)
        c_pp, c_p, c = c, c, channels
        cells, reduction_prev = [], False
        self.aux_after = 2 * layers // 3  # the auxiliary head reads this cell's output (the second reduction)
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            c = 2 * c if reduction else c
            cells.append(Cell(g["reduce" if reduction else "normal"], c_pp, c_p, c, reduction=reduction,
                              reduction_prev=reduction_prev, affine=affine, rngs=rngs))
            reduction_prev, c_pp, c_p = reduction, c_p, 4 * c
            if i == self.aux_after:
                c_aux = c_p
        self.cells = nnx.List(cells)
        self.aux_head = AuxiliaryHead(c_aux, classes, rngs=rngs) if auxiliary else None
        self.classifier = linear(c_p, classes, rngs)

    def _run(self, x, each=None):
        if x.ndim != 4:
            raise ConfigError(f"images must be [batch, height, width, channels], got shape {x.shape}")
        stem = lambda h: self.stem_bn(tap("conv", self.stem(h), 1.0, self.stem))  # noqa: E731
        s0 = s1 = stem(x) if each is None else each(stem, x)
        aux = None
        for i, cell in enumerate(self.cells):
            if each is None:
                s0, s1 = s1, cell(s0, s1)
            else:  # each(run, h) divides run(h) by a constant: divide the cell's other input (s1) by the same one
                out = cell(s0, s1)
                scaled = each(lambda _: out, s1)
                ratio = jax.lax.stop_gradient(jnp.max(out) / jnp.max(scaled))
                s0, s1 = s1 / ratio, scaled
            if i == self.aux_after:
                aux = s1
        return s1, aux

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


def param_count(ops, **size) -> int:
    """Trainable parameters of :class:`Network` of ``ops`` (``size``: channels, layers, classes, auxiliary,
    affine, in_channels; default DARTS's CIFAR-10 network), counted from the genotype without building the
    network (equal to ``count(Network(ops, **size))``: the tests check it)."""
    from ..spaces.darts import genotype
    size = {**SIZE, "in_channels": 3, **size}
    g = genotype(ops)
    bn = 2 if size["affine"] else 0
    c = 3 * size["channels"]
    total = 9 * size["in_channels"] * c + 2 * c
    c_pp, c_p, c, layers = c, c, size["channels"], size["layers"]
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        c = 2 * c if reduction else c
        total += c_pp * c + 2 * c + c_p * c + 2 * c  # the two preprocessing convolutions (either kind)
        for op, src in g["reduce" if reduction else "normal"]:
            stride = 2 if reduction and src < 2 else 1
            if op.startswith("sep_conv"):
                total += 2 * (int(op[-1]) ** 2 * c + c * c + bn * c)
            elif op.startswith("dil_conv"):
                total += int(op[-1]) ** 2 * c + c * c + bn * c
            elif op == "skip_connect" and stride == 2:
                total += c * c + bn * c
        c_pp, c_p = c_p, 4 * c
        if i == 2 * layers // 3:
            c_aux = c_p
    classes = size["classes"]
    if size["auxiliary"]:
        total += c_aux * 128 + 2 * 128 + 128 * 768 * 4 + 2 * 768 + 768 * classes + classes
    return total + c_p * classes + classes
