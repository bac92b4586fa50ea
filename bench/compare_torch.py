#!/usr/bin/env python3
"""Runs tapegrad's benchmark workloads in PyTorch (and the hinge ones in NumPy),
and in libtorch when bench/torch_peers is built, and prints them beside
tapegrad_bench's medians and the training tools' epochs, with ratios and goals.

    python3 bench/compare_torch.py --build build [--cnn] [--skip-epochs]

--build DIR finds DIR/bench/tapegrad_bench, DIR/bench/torch_peers (optional) and
the training tools in DIR/examples. The epochs are timed side by side in this run:
each tool trains with --validation 0 (all 60,000 images, as the peers do) and its
report's epoch_seconds are set against the same model, batch size and optimizer in
PyTorch and libtorch. --cnn adds train_cnn's epoch (a few minutes per peer).
Older runs can still pass --svm-report / --mlp-report / --cnn-report files.

Needs Debian's python3-torch and python3-numpy (`scripts/install-deps --bench`;
not used by the tests). Torch runs on 2 threads with OMP_WAIT_POLICY=PASSIVE.
"""
import os
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads libgomp
import argparse, gzip, json, statistics, subprocess, sys, tempfile, time

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
    if model_kind == "cnn":  # train_cnn's network and optimizer
        nn = torch.nn
        model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25),
                              nn.Linear(128, 10))
        opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
        x = x.view(-1, 1, 28, 28)
    elif model_kind == "svm":
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


def tool_epochs(build, tool, epochs, extra=()):
    """Trains `tool` for `epochs` epochs on all 60,000 images; its report's epoch_seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        subprocess.run([os.path.join(build, "examples", tool), "--epochs", str(epochs), "--validation", "0",
                        "--report", report, *extra], check=True, capture_output=True, text=True)
        with open(report) as f:
            return json.load(f)["epoch_seconds"]


def load_medians(cmd):
    """Runs a Google Benchmark binary with JSON output: run name -> median real seconds."""
    out = subprocess.run(cmd + ["--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
    return medians(json.loads(out))


def medians(bench):
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    med = {}  # the median aggregate when repetitions were run, else the single run
    for b in bench["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        # "libtorch_cnn_epoch/iterations:1/real_time" -> "libtorch_cnn_epoch"
        name = "/".join(p for p in b.get("run_name", b["name"]).split("/") if ":" not in p and p != "real_time")
        med[name] = b["real_time"] * scale[b["time_unit"]]
    return med


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="the build directory (bench/ and examples/ inside)")
    ap.add_argument("--bench", help="tapegrad_bench (default BUILD/bench/tapegrad_bench)")
    ap.add_argument("--bench-json", help="use this tapegrad_bench JSON instead of running it")
    ap.add_argument("--cnn", action="store_true", help="also time train_cnn's epoch against its peers")
    ap.add_argument("--skip-epochs", action="store_true", help="no training epochs (the op workloads only)")
    ap.add_argument("--svm-report")
    ap.add_argument("--mlp-report")
    ap.add_argument("--cnn-report")
    args = ap.parse_args()
    bench = args.bench or os.path.join(args.build, "bench", "tapegrad_bench")
    peers = os.path.join(args.build, "bench", "torch_peers")
    have_peers = os.path.exists(peers)

    if args.bench_json:
        with open(args.bench_json) as f:
            med = medians(json.load(f))
    else:
        med = load_medians([bench, "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true"])
    lt = {}  # libtorch: run name -> median seconds
    if have_peers:
        lt.update(load_medians([peers, "--benchmark_filter=tape_chain", "--benchmark_repetitions=5",
                                "--benchmark_report_aggregates_only=true"]))

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
        add(f"hinge_composed/weston-watkins/{n}/{c}", "torch composed", t["torch_composed_ww"],
            1.5 if (n, c) == (4096, 1000) else None)
        add(f"hinge_composed/crammer-singer/{n}/{c}", "torch composed", t["torch_composed_cs"], None)
        add(f"hinge_fused/crammer-singer/{n}/{c}", "torch composed CS", t["torch_composed_cs"], None)
        if n == 4096 and c == 10:
            rows.append((f"hinge_fused/weston-watkins/{n}/{c}", med.get(f"hinge_fused/weston-watkins/{n}/{c}"),
                         "tapegrad composed", med.get(f"hinge_composed/weston-watkins/{n}/{c}"), 3))
    add("linear_svm_step/256/784/10", "torch", median_time(linear_svm_step(256, 784, 10)), 4)
    add("linear_svm_step/4096/3072/10", "torch", median_time(linear_svm_step(4096, 3072, 10)), 1.5)
    add("tape_chain/1000", "torch", median_time(tape_chain()), 10)
    if have_peers:
        add("tape_chain/1000", "libtorch", lt.get("libtorch_tape_chain/1000"), 20)
    # Issue 16's op families: each op at >= 80% of its bare loops' bytes/s (same bytes,
    # so the speed-up bare time / op time is the bandwidth fraction), and a composed
    # first call at most 3x a warm one.
    for fam in ["mul", "add_scalar", "square", "sub_col", "mul_col", "add_row", "maximum",
                "sum_rows", "sum_cols", "max_rows"]:
        rows.append((f"op/{fam}/4096x1024", med.get(f"op/{fam}/4096x1024"), "tapegrad bare loops",
                     med.get(f"bare/{fam}/4096x1024"), 0.8))
    rows.append(("hinge_composed_first/weston-watkins/4096/1000",
                 med.get("hinge_composed_first/weston-watkins/4096/1000"), "tapegrad warm",
                 med.get("hinge_composed/weston-watkins/4096/1000"), round(1 / 3, 2)))
    rows.append(("matmul/2048", med.get("matmul/2048"), "tapegrad sgemm_raw", med.get("sgemm_raw/2048"), 0.9))
    add("matmul/2048", "torch a @ b", median_time(matmul(), repeats=5), None)

    # Epochs: tapegrad's tools and the peers, side by side in this run.
    epochs = {}
    for kind, path in [("svm", args.svm_report), ("mlp", args.mlp_report), ("cnn", args.cnn_report)]:
        if path:
            with open(path) as f:
                epochs[kind] = json.load(f)["epoch_seconds"]
    if not args.skip_epochs:
        epochs.setdefault("svm", tool_epochs(args.build, "train_svm", 10))
        epochs.setdefault("mlp", tool_epochs(args.build, "train_mlp", 3))
        if args.cnn:
            epochs.setdefault("cnn", tool_epochs(args.build, "train_cnn", 1))
    lt_epochs = {}
    if have_peers and not args.skip_epochs:
        filt = "mlp_epoch|cnn_epoch" if "cnn" in epochs else "mlp_epoch"
        lt_epochs = load_medians([peers, f"--benchmark_filter={filt}", "--benchmark_repetitions=3" if
                                  "cnn" not in epochs else "--benchmark_repetitions=1"])
    batch = {"svm": 256, "mlp": 256, "cnn": 128}
    for kind, goal_torch, goal_lt in [("svm", 12, None), ("mlp", 3, 1.5), ("cnn", 1.0, 1.0)]:
        if kind not in epochs:
            continue
        ours = statistics.median(epochs[kind])
        name = f"train_{kind} epoch (batch {batch[kind]})"
        reps = 10 if kind == "svm" else (3 if kind == "mlp" else 1)
        theirs = statistics.median([epoch_seconds(kind, batch=batch[kind]) for _ in range(reps)])
        rows.append((name, ours, "torch", theirs, goal_torch))
        if f"libtorch_{kind}_epoch" in lt_epochs:
            rows.append((name, ours, "libtorch", lt_epochs[f"libtorch_{kind}_epoch"], goal_lt))
        if kind == "svm" and med.get("linear_svm_step/256/784/10"):
            steps = -(-60000 // 256)  # the epoch's steps, the last one partial
            rows.append((name, ours, f"{steps} × linear_svm_step", steps * med["linear_svm_step/256/784/10"], 0.8))
        if kind == "mlp" and med.get("sgemm_raw/2048"):
            # forward X·W1, dW1 and the second layer's three gemms, over 60,000 rows
            flop = 2 * 60000 * (2 * 784 * 256 + 3 * 256 * 10)
            rate = 2 * 2048 ** 3 / med["sgemm_raw/2048"]
            rows.append((name, ours, f"gemm roofline ({flop / 1e9:.1f} GFLOP at {rate / 1e9:.0f} GFLOPS)",
                         flop / rate, 0.9))

    def fmt(s):
        if s is None:
            return "—"
        if s >= 1:
            return f"{s:.2f} s"
        return f"{s * 1e3:.3f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} µs"

    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"{cpu}, {os.cpu_count()} cores; torch {torch.__version__} and libtorch "
          f"({'bench/torch_peers' if have_peers else 'not built'}), numpy {np.__version__}, "
          f"{torch.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    print("| workload | tapegrad | reference | reference time | speed-up | goal |")
    print("|---|---|---|---|---|---|")
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
