#!/usr/bin/env python3
"""Checks the hinge_grad tool against NumPy (and PyTorch's autograd when present).

    python3 bench/compare_hinge_grad.py [--tool build/examples/hinge_grad] [--rows 64] [--classes 10]

For every loss (Weston-Watkins, Crammer-Singer, softmax), p, reduction, class
weights, path (fused, composed) and dtype (float64, float32) it writes random
scores and labels with np.save, runs the tool, and compares its printed loss and
its G.npy with a NumPy reference (and torch.autograd's gradient). The inputs are
also saved in Fortran order, big-endian and with narrow label dtypes, to check
that the reader takes what NumPy writes. Prints one line per case and
'N passed, N failed'; exits 1 on any failure.

Needs Debian's python3-numpy; python3-torch is optional. Not used by the tests.
"""
import argparse, os, subprocess, sys, tempfile

import numpy as np

try:
    import torch
except ImportError:
    torch = None


def reference(s, y, w, loss, margin, p, reduction):
    """(loss, dL/ds) in float64, by the formulas in losses/hinge.hpp and
    losses/softmax_cross_entropy.hpp."""
    n, c = s.shape
    rows = np.arange(n)
    wi = np.ones(n) if w is None else w[y]
    if loss == "softmax":
        m = s.max(axis=1, keepdims=True)
        e = np.exp(s - m)
        z = e.sum(axis=1, keepdims=True)
        li = np.log(z[:, 0]) + m[:, 0] - s[rows, y]
        g = e / z
        g[rows, y] -= 1
        divisor = wi.sum() if reduction == "mean" else 1.0  # PyTorch's weighted mean
    else:
        marg = s - s[rows, y][:, None] + margin
        marg[rows, y] = -np.inf
        if loss == "crammer-singer":  # random scores: no ties for the maximum
            j = marg.argmax(axis=1)
            keep = np.zeros_like(marg, dtype=bool)
            keep[rows, j] = True
            marg = np.where(keep, marg, -np.inf)
        h = np.maximum(marg, 0)
        li = (h ** p).sum(axis=1)
        g = (h > 0) * (1.0 if p == 1 else 2 * h)
        g[rows, y] = -g.sum(axis=1)
        divisor = n if reduction == "mean" else 1.0
    return (wi * li).sum() / divisor, g * (wi / divisor)[:, None]


def torch_grad(s, y, w, loss, margin, p, reduction):
    if torch is None:
        return None
    st = torch.tensor(s, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(y, dtype=torch.int64)
    wt = None if w is None else torch.tensor(w, dtype=torch.float64)
    n, c = s.shape
    if loss == "softmax":
        out = torch.nn.functional.cross_entropy(st, yt, weight=wt, reduction=reduction)
    elif loss == "weston-watkins" and w is None:
        # MultiMarginLoss divides by C; tapegrad does not.
        out = c * torch.nn.functional.multi_margin_loss(st, yt, p=p, margin=margin, reduction=reduction)
    else:
        sy = st.gather(1, yt[:, None])
        marg = (st - sy + margin).masked_fill(torch.nn.functional.one_hot(yt, c).bool(), -float("inf"))
        if loss == "crammer-singer":
            marg = marg.max(dim=1).values
        li = marg.clamp(min=0).pow(p)
        li = li if li.dim() == 1 else li.sum(dim=1)
        if wt is not None:
            li = li * wt[yt]
        out = li.mean() if reduction == "mean" else li.sum()
    out.backward()
    return st.grad.numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", default=os.path.join(os.path.dirname(__file__), "..", "build", "examples", "hinge_grad"))
    ap.add_argument("--rows", type=int, default=64)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    s64 = rng.normal(0, 2, (args.rows, args.classes))
    y = rng.integers(0, args.classes, args.rows)
    w = rng.uniform(0.5, 2, args.classes)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as d:
        f = lambda name: os.path.join(d, name)
        np.save(f("W.npy"), w)
        variants = {  # what NumPy writes that the reader must take
            "f8": (s64, y.astype(np.int64)),
            "f4": (s64.astype(np.float32), y.astype(np.uint8)),
            "f8-fortran-bigendian": (np.asfortranarray(s64).astype(">f8"), y.astype(">i2")),
        }
        for vname, (s, labels) in variants.items():
            np.save(f("S.npy"), s)
            np.save(f("Y.npy"), labels)
            tol = 1e-12 if s.dtype.itemsize == 8 else 2e-5
            for loss in ("weston-watkins", "crammer-singer", "softmax"):
                for p in ((1, 2) if loss != "softmax" else (1,)):
                    for reduction in ("mean", "sum"):
                        for weighted in (False, True):
                            ww = w if weighted else None
                            want_l, want_g = reference(s.astype(np.float64), y, ww, loss, 1.0, p, reduction)
                            tg = torch_grad(s.astype(np.float64), y, ww, loss, 1.0, p, reduction)
                            for path in ("fused", "composed"):
                                cmd = [args.tool, "--scores", f("S.npy"), "--labels", f("Y.npy"), "--out",
                                       f("G.npy"), "--loss", loss, "--reduction", reduction, "--path", path]
                                if loss != "softmax":
                                    cmd += ["--p", str(p)]
                                if weighted:
                                    cmd += ["--weights", f("W.npy")]
                                r = subprocess.run(cmd, capture_output=True, text=True)
                                name = f"{vname} {loss} p={p} {reduction}{' weighted' if weighted else ''} {path}"
                                if r.returncode != 0:
                                    print(f"FAIL {name}: exit {r.returncode}: {r.stderr.strip()}")
                                    failed += 1
                                    continue
                                g = np.load(f("G.npy"))
                                scale = max(1.0, abs(want_l))
                                errs = [abs(float(r.stdout) - want_l) / scale, np.abs(g - want_g).max()]
                                if tg is not None:
                                    errs.append(np.abs(g - tg).max())
                                ok = g.dtype == s.dtype.newbyteorder("=") and g.shape == s.shape and max(errs) <= tol
                                print(f"{'ok  ' if ok else 'FAIL'} {name}: loss {float(r.stdout):.10g}, "
                                      f"|dL| {errs[0]:.1e}, |dG numpy| {errs[1]:.1e}"
                                      + (f", |dG torch| {errs[2]:.1e}" if tg is not None else ""))
                                passed += ok
                                failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
