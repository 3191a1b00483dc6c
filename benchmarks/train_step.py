"""Time per full-batch gradient step vs width (n = 512 pairs, d = 64, K = 10, fp32 CPU).

Prints the time per step for M = 256 … 16384 and the fitted exponent of time vs M
(target ≤ 1.1: the step is linear in the width, no hidden quadratic work).

    python benchmarks/train_step.py

Runs twice: with glibc's default allocator and with ntkssl.tune_allocator() (what the `ntkssl`
command uses), which keeps freed activations in the heap instead of page-faulting them back in.
"""
import numpy as np
import torch

import ntkssl
from ntkssl.loss import barlow_twins_loss

from _util import best_time


def step_fn(net, X1, X2, lr=1.0):
    params = [p for p in net.parameters() if p.requires_grad]

    def step():
        loss = barlow_twins_loss(net(X1), net(X2))
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(lr * g)
    return step


def main(tuned: bool):
    if tuned:
        ntkssl.tune_allocator()
    n, d, K = 512, 64, 10
    g = torch.Generator().manual_seed(0)
    X1 = ntkssl.normalize_samples(torch.randn(n, d, generator=g))
    X2 = ntkssl.normalize_samples(X1 + 0.3 * torch.randn(n, d, generator=g))
    widths = [256, 512, 1024, 2048, 4096, 8192, 16384]
    times = []
    print(f"threads={torch.get_num_threads()}  n={n} d={d} K={K}  allocator: "
          f"{'ntkssl.tune_allocator() (as the ntkssl command runs)' if tuned else 'glibc default'}")
    for M in widths:
        net = ntkssl.TwoLayerNet(d, M, K, seed=0)
        t = best_time(step_fn(net, X1, X2, lr=1e-3), repeat=7, warmup=2)
        times.append(t)
        print(f"M={M:6d}  {1e3 * t:8.2f} ms/step")
    slope = np.polyfit(np.log(widths), np.log(times), 1)[0]
    slope_big = np.polyfit(np.log(widths[-4:]), np.log(times[-4:]), 1)[0]
    print(f"fitted exponent of time vs M: {slope:.3f} (all widths), {slope_big:.3f} (M >= {widths[-4]}); target <= 1.1")


if __name__ == "__main__":
    import subprocess
    import sys

    if "--tuned" in sys.argv:
        main(tuned=True)
    else:
        main(tuned=False)
        # a fresh process, so the first run's heap does not help the second
        subprocess.run([sys.executable, __file__, "--tuned"], check=True)
