#!/usr/bin/env python3
"""Times conv2d forward + backward in PyTorch at the two layer shapes of the
Fashion-MNIST CNN and prints them beside tapegrad_bench's conv2d medians.

    python3 bench/compare_conv.py --bench build/bench/tapegrad_bench

The workloads are tapegrad_bench's conv2d/* cases (float, padding 1, a bias,
backward from a seed of ones): x 128×1×28×28 with w 32×1×3×3 (x needs no
gradient: it is the data) and x 128×32×14×14 with w 64×32×3×3 (x needs one).
PyTorch runs on 2 threads with OMP_WAIT_POLICY=PASSIVE (set here before torch
loads unless the environment sets it), so idle OpenMP threads do not spin.
Needs Debian's python3-torch (optional; not used by the tests).
"""
import argparse, json, os, statistics, subprocess, sys, time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402  (after the environment is set)
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(2)

CASES = [  # tapegrad_bench name, (N, C, HW, O), x needs a gradient
    ("conv2d/128x1x28x28/32x3x3", (128, 1, 28, 32), False),
    ("conv2d/128x32x14x14/64x3x3", (128, 32, 14, 64), True),
]


def median_time(fn, min_time=1.0, repeats=7):
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t0 > min_time / repeats:
            break
        n *= 2
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def torch_case(n, c, hw, o, input_grad):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, c, hw, hw, generator=g, requires_grad=input_grad)
    w = (0.1 * torch.randn(o, c, 3, 3, generator=g)).requires_grad_()
    b = torch.zeros(o, requires_grad=True)
    seed = torch.ones(n, o, hw, hw)

    def step():
        w.grad = b.grad = x.grad = None
        F.conv2d(x, w, b, padding=1).backward(seed)
    return step


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", default="build/bench/tapegrad_bench")
    args = ap.parse_args()
    out = subprocess.run([args.bench, "--benchmark_filter=^conv2d/", "--benchmark_format=json",
                          "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true"],
                         check=True, capture_output=True, text=True).stdout
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    ours = {b["run_name"]: b["real_time"] * scale[b["time_unit"]]
            for b in json.loads(out)["benchmarks"] if b.get("aggregate_name") == "median"}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, mkldnn "
          f"{torch.backends.mkldnn.is_available()}, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print("| workload | tapegrad | torch | torch / tapegrad |")
    print("|---|---|---|---|")
    for name, (n, c, hw, o), input_grad in CASES:
        theirs = median_time(torch_case(n, c, hw, o, input_grad))
        mine = ours.get(name)
        ratio = f"{theirs / mine:.2f}×" if mine else "—"
        mine_s = f"{mine * 1e3:.2f} ms" if mine else "—"
        print(f"| {name} | {mine_s} | {theirs * 1e3:.2f} ms | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
