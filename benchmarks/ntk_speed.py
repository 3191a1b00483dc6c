"""Speed of the closed-form empirical NTK against the GEMM roofline and the autodiff reference.

Each ratio is measured side by side in one run (fp32, CPU):
  1. full mode, x2=None, n=256, d=784, M=2048, K=10: time / time of one GEMM with 2(nK)²M flops (target ≤ 1.0)
  2. trace mode, x2=None, n=2048, d=784, M=4096: time / time of the GEMM (n×M)(M×n) (target ≤ 2.0)
  3. speed-up over the torch.func Jacobian contraction at n=64, d=784, M=2048, K=10 (target ≥ 100×)
  4. peak memory of full mode at n=1024, K=10, M=4096, batch_size=128: peak / output size (target ≤ 1.5)

    python benchmarks/ntk_speed.py
"""
import torch

import ntkssl

from _util import best_time, run_isolated, side_by_side


def data(n, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    return ntkssl.normalize_samples(torch.randn(n, d, generator=g))


def main():
    ntkssl.tune_allocator()          # as the ntkssl command runs: freed buffers are reused, not page-faulted
    print(f"threads={torch.get_num_threads()}  allocator: ntkssl.tune_allocator()")
    # 1. full mode against a GEMM of the same nominal flop count
    n, d, M, K = 256, 784, 2048, 10
    x, net = data(n, d), ntkssl.TwoLayerNet(d, M, K, seed=0)
    A = torch.randn(n * K, M)
    B = torch.randn(M, n * K)
    t_full, t_gemm = side_by_side(lambda: ntkssl.empirical_ntk(net, x), lambda: A @ B, repeat=9)
    print(f"[1] full   n={n} M={M} K={K}: {1e3 * t_full:7.1f} ms, GEMM 2(nK)^2 M: {1e3 * t_gemm:7.1f} ms, "
          f"ratio {t_full / t_gemm:.2f} (target <= 1.0)")

    # 2. trace mode against the (n×M)(M×n) GEMM
    n, M = 2048, 4096
    x, net = data(n, d), ntkssl.TwoLayerNet(d, M, K, seed=0)
    A = torch.randn(n, M)
    B = torch.randn(M, n)
    t_tr, t_gemm = side_by_side(lambda: ntkssl.empirical_ntk(net, x, mode="trace"), lambda: A @ B, repeat=9)
    print(f"[2] trace  n={n} M={M}: {1e3 * t_tr:7.1f} ms, GEMM (nxM)(Mxn): {1e3 * t_gemm:7.1f} ms, "
          f"ratio {t_tr / t_gemm:.2f} (target <= 2.0)")

    # 3. against the torch.func Jacobian contraction
    n, M = 64, 2048
    x, net = data(n, d), ntkssl.TwoLayerNet(d, M, K, seed=0)
    t_cf = best_time(lambda: ntkssl.empirical_ntk(net, x), repeat=5)
    t_ad = best_time(lambda: ntkssl.autodiff_ntk(net, x, batch_size=n), repeat=1, warmup=0)
    err = float((ntkssl.empirical_ntk(net, x) - ntkssl.autodiff_ntk(net, x, batch_size=n)).norm()
                / ntkssl.empirical_ntk(net, x).norm())
    print(f"[3] autodiff n={n} M={M} K={K}: closed form {1e3 * t_cf:7.1f} ms, torch.func {1e3 * t_ad:8.1f} ms, "
          f"speed-up {t_ad / t_cf:.0f}x (target >= 100x; relative difference {err:.1e})")

    # 4. peak memory with batch_size, in a fresh process
    code = """
import json, torch, ntkssl, sys
sys.path.insert(0, 'benchmarks')
from _util import maxrss_bytes
n, d, M, K = 1024, 784, 4096, 10
g = torch.Generator().manual_seed(0)
x = ntkssl.normalize_samples(torch.randn(n, d, generator=g))
net = ntkssl.TwoLayerNet(d, M, K, seed=0)
with torch.no_grad():
    net(x[:8])
base = maxrss_bytes()
out = ntkssl.empirical_ntk(net, x, batch_size=128)
peak = maxrss_bytes()
print(json.dumps({"extra": peak - base, "output": out.numel() * out.element_size()}))
"""
    r = run_isolated(code)
    print(f"[4] memory n=1024 M=4096 K=10 batch_size=128: peak extra {r['extra'] / 2**20:.0f} MiB, output "
          f"{r['output'] / 2**20:.0f} MiB, ratio {r['extra'] / r['output']:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
