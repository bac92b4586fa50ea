#!/usr/bin/env python3
"""Runs tapegrad's benchmark workloads in PyTorch (and the hinge ones in NumPy)
and prints them beside tapegrad_bench's medians, with ratios.

    python3 bench/compare_torch.py --bench build/bench/tapegrad_bench \
        [--svm-report r.json --mlp-report m.json]

Needs Debian's python3-torch and python3-numpy (optional; not used by the tests).
The reports are train_svm / train_mlp --report files: their epoch_seconds are
compared with one PyTorch epoch of the same model at the same batch size.
"""
import argparse, gzip, json, os, statistics, subprocess, sys, time

import numpy as np
import torch

torch.set_num_threads(2)
torch.manual_seed(0)


def median_time(fn, min_time=0.5, repeats=7):
    """Median over `repeats` batches of the per-call time, each batch >= min_time/repeats."""
    fn()
    n, t = 1, 0.0
    while True:  # calibrate the batch size
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - t0
        if t > min_time / repeats:
            break
        n *= 2
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def hinge_cases(n, c):
    g = torch.Generator().manual_seed(1)
    s = torch.randn(n, c, generator=g, requires_grad=True)
    y = torch.randint(0, c, (n,), generator=g)

    def fused_ww():
        loss = torch.nn.functional.multi_margin_loss(s, y) * c  # PyTorch divides by C
        loss.backward()

    def composed_ww():
        correct = s.gather(1, y[:, None])
        m = torch.relu(s - correct + 1.0)
        m = m * (1 - torch.nn.functional.one_hot(y, c).to(s.dtype))
        m.sum(1).mean().backward()

    def composed_cs():
        oh = torch.nn.functional.one_hot(y, c).to(s.dtype)
        correct = s.gather(1, y[:, None])[:, 0]
        worst = (s - 1e30 * oh).amax(1)
        torch.relu(worst - correct + 1.0).mean().backward()

    sn = s.detach().numpy().astype(np.float32)
    yn = y.numpy()

    def numpy_ww():  # cs231n's vectorised svm_loss_vectorized, loss and dscores
        rows = np.arange(n)
        margins = np.maximum(0, sn - sn[rows, yn][:, None] + 1.0)
        margins[rows, yn] = 0
        loss = margins.sum() / n
        d = (margins > 0).astype(sn.dtype)
        d[rows, yn] = -d.sum(1)
        d /= n
        return loss, d

    return {"torch_fused_ww": fused_ww, "torch_composed_ww": composed_ww,
            "torch_composed_cs": composed_cs, "numpy_ww": numpy_ww}


def linear_svm_step(n, d, c):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(n, d, generator=g)
    y = torch.randint(0, c, (n,), generator=g)
    w = (0.01 * torch.randn(d, c, generator=g)).requires_grad_()
    b = torch.zeros(c, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=1e-3, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.multi_margin_loss(x @ w + b, y) * c + 1e-4 * (w * w).sum()
        loss.backward()
        opt.step()
    return step


def tape_chain(ops=1000):
    z0 = torch.ones(1, requires_grad=True)

    def run():
        z = z0
        for _ in range(ops // 2):
            z = torch.relu(z * 1.0001)
        z.backward()
    return run


def matmul(n=2048):
    g = torch.Generator().manual_seed(6)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    return lambda: a @ b


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def epoch_seconds(model_kind, batch=256, data_dir="/usr/share/datasets/fashion-mnist"):
    x = read_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255
    x -= x.mean(0)
    y = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    if model_kind == "svm":
        model = torch.nn.Linear(784, 10)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    else:
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    perm = torch.randperm(len(y))
    t0 = time.perf_counter()
    for i in range(0, len(y), batch):
        idx = perm[i:i + batch]
        opt.zero_grad()
        loss = torch.nn.functional.multi_margin_loss(model(x[idx]), y[idx]) * 10
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", default="build/bench/tapegrad_bench")
    ap.add_argument("--bench-json", help="use this tapegrad_bench JSON instead of running it")
    ap.add_argument("--svm-report")
    ap.add_argument("--mlp-report")
    args = ap.parse_args()

    if args.bench_json:
        with open(args.bench_json) as f:
            tg = json.load(f)
    else:
        out = subprocess.run([args.bench, "--benchmark_format=json", "--benchmark_repetitions=5",
                              "--benchmark_report_aggregates_only=true"],
                             check=True, capture_output=True, text=True).stdout
        tg = json.loads(out)
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    med = {}  # run name -> median seconds (the median aggregate when repetitions were run)
    for b in tg["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        med[b.get("run_name", b["name"])] = b["real_time"] * scale[b["time_unit"]]

    rows = []  # (workload, tapegrad seconds, reference name, reference seconds, goal)

    def add(name, ref_name, ref_s, goal):
        rows.append((name, med.get(name), ref_name, ref_s, goal))

    for n, c in [(256, 10), (4096, 10), (4096, 1000)]:
        cases = hinge_cases(n, c)
        t = {k: median_time(f) for k, f in cases.items()}
        best = min(t["torch_fused_ww"], t["torch_composed_ww"], t["numpy_ww"])
        goal = 10 if n == 256 else 5
        add(f"hinge_fused/weston-watkins/{n}/{c}", "torch multi_margin_loss", t["torch_fused_ww"], goal if n == 256 else None)
        if n != 256:
            add(f"hinge_fused/weston-watkins/{n}/{c}", "best of torch/numpy", best, goal)
        add(f"hinge_composed/weston-watkins/{n}/{c}", "torch composed", t["torch_composed_ww"], None)
        add(f"hinge_composed/crammer-singer/{n}/{c}", "torch composed", t["torch_composed_cs"], None)
        add(f"hinge_fused/crammer-singer/{n}/{c}", "torch composed CS", t["torch_composed_cs"], None)
        if n == 4096 and c == 10:
            rows.append((f"hinge_fused/weston-watkins/{n}/{c}", med.get(f"hinge_fused/weston-watkins/{n}/{c}"),
                         "tapegrad composed", med.get(f"hinge_composed/weston-watkins/{n}/{c}"), 3))
    add("linear_svm_step/256/784/10", "torch", median_time(linear_svm_step(256, 784, 10)), 4)
    add("linear_svm_step/4096/3072/10", "torch", median_time(linear_svm_step(4096, 3072, 10)), 1.5)
    add("tape_chain/1000", "torch", median_time(tape_chain()), 10)
    rows.append(("matmul/2048", med.get("matmul/2048"), "tapegrad sgemm_raw", med.get("sgemm_raw/2048"), 0.9))
    add("matmul/2048", "torch a @ b", median_time(matmul(), repeats=5), None)

    for kind, path, goal in [("svm", args.svm_report, 5), ("mlp", args.mlp_report, 3)]:
        if path:
            with open(path) as f:
                rep = json.load(f)
            ours = statistics.median(rep["epoch_seconds"])
            theirs = statistics.median([epoch_seconds(kind) for _ in range(3)])
            rows.append((f"train_{kind} epoch (batch 256)", ours, "torch", theirs, goal))

    def fmt(s):
        if s is None:
            return "—"
        return f"{s * 1e3:.3f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} µs"

    print(f"torch {torch.__version__}, numpy {np.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cores")
    print(f"| workload | tapegrad | reference | reference time | speed-up | goal |")
    print(f"|---|---|---|---|---|---|")
    ok = True
    for name, ours, ref_name, ref, goal in rows:
        ratio = ref / ours if ours and ref else None
        met = "" if goal is None or ratio is None else ("met" if ratio >= goal else "NOT met")
        ok = ok and met != "NOT met"
        goal_s = "" if goal is None else f"≥ {goal}× {met}"
        ratio_s = "—" if ratio is None else f"{ratio:.2f}×"
        print(f"| {name} | {fmt(ours)} | {ref_name} | {fmt(ref)} | {ratio_s} | {goal_s} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
