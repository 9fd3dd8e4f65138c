"""jaxnag's zero-cost proxies beside a PyTorch peer written NASLib's way, side by side in one process.

The peer (``pip install 'jaxnag[peer]'``: torch on CPU) builds the NAS-Bench-201 network of each cell
fresh, as NASLib's zero-cost predictor does (PyTorch's default initialisation), and computes each proxy
as NASLib's ``naslib/predictors/utils/pruners/measures`` do: forward hooks on the ReLUs for nwot, the
input Jacobian for jacov, autograd for snip / grad_norm / grasp, retained activation gradients for
fisher, |weights| in float64 without batch norm for synflow, Gaussian weights for zen. jaxnag scores the
same cells with ``jax.jit(proxies.fitness(...))``, one compiled call per population (after compilation).
Both on one batch of 16 of scikit-learn's digits at 32x32, the CIFAR-10 network (C=16, N=5), the same
cores (torch with as many threads as the process may use).

Per proxy, the cells are scored ``--reps`` times alternating jaxnag and the peer; the table gives the
medians of the process CPU time and of the wall time per architecture, and the peer's time without
building the network (measure only). Ratios above 1 mean jaxnag is faster. Values are not compared here
(the two networks have different random weights): docs/proxies.md sets jaxnag's values beside NASLib's.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/peers.py [--cells 30] [--reps 3] [--out docs]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, printed_rows, reused_lines  # noqa: E402

from jaxnag import data, proxies, spaces  # noqa: E402

PROXIES = ("nwot", "jacov", "snip", "grad_norm", "fisher", "grasp", "synflow", "zen", "l2_norm")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


def torch_network(torch):
    """The NB201 network (NAS-Bench-201's TinyNetwork) in PyTorch, NCHW."""
    nn = torch.nn

    class ReLUConvBN(nn.Sequential):
        def __init__(self, cin, cout, k, stride=1):
            super().__init__(nn.ReLU(), nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout))

    class Zero(nn.Module):
        def forward(self, x):
            return x.mul(0.0)

    class Cell(nn.Module):
        def __init__(self, ops, c):
            super().__init__()
            self.ops = ops
            self.edges = nn.ModuleList([
                Zero() if o == 0 else nn.Identity() if o == 1 else ReLUConvBN(c, c, 1) if o == 2
                else ReLUConvBN(c, c, 3) if o == 3 else nn.AvgPool2d(3, 1, 1, count_include_pad=False) for o in ops])

        def forward(self, x):
            nodes = [x]
            for j in range(1, 4):
                nodes.append(sum(self.edges[e](nodes[i]) for e, (i, d) in enumerate(EDGES) if d == j))
            return nodes[3]

    class Reduction(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.a, self.b = ReLUConvBN(cin, cout, 3, 2), ReLUConvBN(cout, cout, 3)
            self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(cin, cout, 1, bias=False))

        def forward(self, x):
            return self.shortcut(x) + self.b(self.a(x))

    class Network(nn.Module):
        def __init__(self, ops, c=16, n=5, classes=10):
            super().__init__()
            layers = [nn.Conv2d(3, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)]
            for stage, width in enumerate((c, 2 * c, 4 * c)):
                if stage:
                    layers.append(Reduction(width // 2, width))
                layers += [Cell(ops, width) for _ in range(n)]
            layers += [nn.BatchNorm2d(4 * c), nn.ReLU()]
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Linear(4 * c, classes)

        def forward(self, x):
            return self.classifier(self.features(x).mean((2, 3)))
    return Network


def torch_measures(torch):
    """NASLib's definitions, one function ``(net, x, y) -> float`` per proxy."""
    nn, F = torch.nn, torch.nn.functional

    def layers(net):
        return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]

    def weights(net):
        return [m.weight for m in layers(net)]

    def nwot(net, x, y):
        k = np.zeros((len(x), len(x)))

        def hook(module, inp, out):
            c = (inp[0].view(len(x), -1) > 0).float()
            k[...] += (c @ c.t()).numpy() + ((1.0 - c) @ (1.0 - c).t()).numpy()
        hooks = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
        with torch.no_grad():
            net(x)
        for h in hooks:
            h.remove()
        return float(np.linalg.slogdet(k)[1])

    def jacov(net, x, y):
        x = x.clone().requires_grad_(True)
        net(x).backward(torch.ones(len(x), 10))
        jac = x.grad.view(len(x), -1).numpy()
        v = np.linalg.eigvalsh(np.corrcoef(jac))
        return float(-np.sum(np.log(v + 1e-5) + 1.0 / (v + 1e-5)))

    def grads(net, x, y, create_graph=False):
        return torch.autograd.grad(F.cross_entropy(net(x), y), weights(net), create_graph=create_graph)

    def snip(net, x, y):
        return float(sum((w * g).abs().sum() for w, g in zip(weights(net), grads(net, x, y), strict=True)).detach())

    def grad_norm(net, x, y):
        return float(sum(g.norm() for g in grads(net, x, y)))

    def grasp(net, x, y):
        g0 = [g.detach() for g in grads(net, x, y)]
        g1 = grads(net, x, y, create_graph=True)
        hg = torch.autograd.grad(sum((a * b).sum() for a, b in zip(g0, g1, strict=True)), weights(net))
        return float(-sum((w * h).sum() for w, h in zip(weights(net), hg, strict=True)))

    def fisher(net, x, y):
        acts = []

        def hook(module, inp, out):
            out.retain_grad()
            acts.append((module, out))
        hooks = [m.register_forward_hook(hook) for m in layers(net)]
        F.cross_entropy(net(x), y).backward()
        for h in hooks:
            h.remove()
        total = 0.0
        for m, a in acts:
            per = (a * a.grad).sum((2, 3)) if a.dim() == 4 else a * a.grad
            total += float((0.5 * per.pow(2).mean(0)).sum().detach()) * m.weight[0].numel()
        return total

    def synflow(net, x, y):
        net = net.double().eval()
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.zero_(), m.running_var.fill_(1.0 - m.eps), m.weight.fill_(1.0), m.bias.zero_()
            for p in net.parameters():
                p.abs_()
        net.zero_grad()
        torch.sum(net(torch.ones((1,) + tuple(x.shape[1:]), dtype=torch.float64))).backward()
        return float(np.log(sum(float((w * w.grad).abs().sum()) for w in weights(net))))

    def zen(net, x, y):
        with torch.no_grad():
            for w in weights(net):
                w.normal_()
            x1 = torch.randn_like(x)
            x2 = x1 + 0.01 * torch.randn_like(x)
            change = (net.features(x1) - net.features(x2)).abs().sum((1, 2, 3)).mean()
            bn = sum(float(torch.log(torch.sqrt(m.running_var.mean()))) for m in net.modules()
                     if isinstance(m, nn.BatchNorm2d))
        return float(torch.log(change)) + bn

    def l2_norm(net, x, y):
        return float(sum(w.norm() for w in weights(net)))
    return dict(nwot=nwot, jacov=jacov, snip=snip, grad_norm=grad_norm, fisher=fisher, grasp=grasp,
                synflow=synflow, zen=zen, l2_norm=l2_norm)


def timed(fn):
    """``(result, process CPU seconds, wall seconds)`` of ``fn()``."""
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", type=int, default=30)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--grasp-cells", type=int, default=5,
                   help="cells for grasp, the slowest proxy on both sides (a Hessian-vector product)")
    p.add_argument("--reuse", default=None, help="a log of an earlier run: its printed rows are kept (not rerun)")
    p.add_argument("--out", default="docs")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("the PyTorch peer needs torch: pip install 'jaxnag[peer]'")
        return 2
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    torch.set_num_threads(cores)
    network, measures = torch_network(torch), torch_measures(torch)
    space = spaces.get("nb201")
    x, y = data.digits(resolution=32)
    order = np.random.default_rng(0).permutation(len(x))[:16]
    batch = proxies.batch(x[order], y[order], classes=10)
    tx, ty = torch.from_numpy(np.ascontiguousarray(batch.x.transpose(0, 3, 1, 2))), torch.from_numpy(batch.y).long()
    cells = np.asarray(space.all_ops())
    connected = np.asarray(space.connected(cells))
    chosen = cells[connected][np.random.default_rng(2).choice(int(connected.sum()), args.cells, replace=False)]
    names = PROXIES
    reused = printed_rows(args.reuse, ("proxy", "cells")) if args.reuse else {}
    rows = []
    for name in names:
        old = [r for (proxy, _), r in reused.items() if proxy == name]
        if old:
            rows.append(old[0])
            continue
        cells = chosen[:args.grasp_cells] if name == "grasp" else chosen
        fit = jax.jit(proxies.fitness(space, name, batch, classes=10))
        _, compile_cpu, compile_wall = timed(lambda: jax.block_until_ready(fit(cells)))
        measure = measures[name]
        jx, pt, pt_measure = [], [], []
        for _ in range(args.reps):
            _, cpu, wall = timed(lambda: jax.block_until_ready(fit(cells)))
            jx.append((cpu, wall))
            torch.manual_seed(0)
            cpu = wall = m_cpu = m_wall = 0.0
            for cell in cells:
                net, c1, w1 = timed(lambda cell=cell: network(cell.tolist()).train())
                _, c2, w2 = timed(lambda net=net: measure(net, tx, ty))
                cpu, wall, m_cpu, m_wall = cpu + c1 + c2, wall + w1 + w2, m_cpu + c2, m_wall + w2
            pt.append((cpu, wall))
            pt_measure.append((m_cpu, m_wall))
        n = len(cells)
        med = lambda xs, i: float(np.median([v[i] for v in xs])) / n  # noqa: E731
        row = dict(proxy=name, cells=n, reps=args.reps, jaxnag_cpu_ms=1e3 * med(jx, 0), jaxnag_wall_ms=1e3 * med(jx, 1),
                   peer_cpu_ms=1e3 * med(pt, 0), peer_wall_ms=1e3 * med(pt, 1),
                   peer_measure_cpu_ms=1e3 * med(pt_measure, 0), peer_measure_wall_ms=1e3 * med(pt_measure, 1),
                   jaxnag_compile_s=compile_wall)
        row["cpu_ratio"] = row["peer_cpu_ms"] / row["jaxnag_cpu_ms"]
        row["wall_ratio"] = row["peer_wall_ms"] / row["jaxnag_wall_ms"]
        row["measure_cpu_ratio"] = row["peer_measure_cpu_ms"] / row["jaxnag_cpu_ms"]
        rows.append(row)
        print(row, flush=True)
    write(rows, args, torch.__version__)
    return 0


def write(rows, args, torch_version):
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = dict(machine=describe(), torch=torch_version, rows=rows)
    (out / "peers.json").write_text(json.dumps(record, indent=1) + "\n")
    lines = [
        "# Zero-cost proxies: jaxnag beside a PyTorch peer written NASLib's way",
        "",
        f"Machine: {describe()}, torch {torch_version} (CPU, as many threads as cores). Command: "
        f"`JAXNAG_DATA_DIR=../shared/data python benchmarks/peers.py --cells {args.cells} --reps {args.reps} "
        f"--grasp-cells {args.grasp_cells}`.",
        "",
        "NB201 CIFAR-10 network (C=16, N=5), one batch of 16 digits at 32x32, "
        f"{args.cells} random connected cells ({args.grasp_cells} for grasp); medians of {args.reps} alternating "
        "repeats, "
        "per architecture. The peer builds each cell's network fresh (NASLib's loop); 'measure only' leaves "
        "the build out. A ratio above 1: jaxnag is faster. Target (issue 27): 3x on every proxy.",
        "",
        "| proxy | jaxnag CPU ms | peer CPU ms | CPU ratio | peer measure only, CPU ms | ratio to it | jaxnag wall ms "
        "| peer wall ms | wall ratio | 3x met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['proxy']} | {r['jaxnag_cpu_ms']:.1f} | {r['peer_cpu_ms']:.1f} | {r['cpu_ratio']:.2f} | "
                     f"{r['peer_measure_cpu_ms']:.1f} | {r['measure_cpu_ratio']:.2f} | {r['jaxnag_wall_ms']:.1f} | "
                     f"{r['peer_wall_ms']:.1f} | {r['wall_ratio']:.2f} | {'yes' if r['cpu_ratio'] >= 3 else 'no'} |")
    lines += reused_lines(rows, ("proxy",))
    (out / "peers.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
