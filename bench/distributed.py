#!/usr/bin/env python3
"""Data-parallel cost model (docs/distributed.md): times MPI all-reduce over shared memory on 2 ranks and one training
step of the MLP and the CNN, fits the ring all-reduce model t = 2(N-1)/N * S/B + 2(N-1)*alpha to the all-reduce
times, and prints the predicted scaling efficiency for 1-256 nodes at 10/25/100 Gb/s.

    /usr/bin/python3 bench/distributed.py [--quick]

Needs Debian's mpich. Run it on a quiet machine: the two ranks take both cores.
"""
import json, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = os.path.join(ROOT, "bench", "Descent.Bench")
DLL = os.path.join(PROJECT, "bin", "Release", "net10.0", "Descent.Bench.dll")
# Seconds per message on an Ethernet cluster (MPI over TCP: an assumption, not a measurement). The alpha fitted
# here over shared memory is not a network's: on this loaded two-core machine it is mostly the wait for the other
# rank to be scheduled.
NET_LATENCY = 20e-6


def lines(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def main():
    quick = ["--quick"] if "--quick" in sys.argv else []
    subprocess.run(["dotnet", "build", "-c", "Release", PROJECT], check=True, capture_output=True)
    reduce = [r for r in lines(["mpiexec", "-n", "2", "-env", "DOTNET_PROCESSOR_COUNT", "1", "dotnet", DLL, "allreduce", *quick]) if r["bench"] == "allreduce"]
    steps = {r["model"]: r for r in lines(["dotnet", DLL, "step_times", *quick]) if r["bench"] == "step_time"}
    print("| values | bytes | all-reduce µs (2 ranks) | GB/s |")
    print("|---:|---:|---:|---:|")
    for r in reduce:
        print(f"| {r['values']:,} | {r['bytes']:,} | {r['us']:.1f} | {r['gb_per_s']:.2f} |")
    # Least squares on t = S/B + 2 alpha (N = 2) in relative error (weights 1/t^2), so that the small messages
    # fix alpha and the large ones B; up to 16 MB: beyond that the buffers leave the caches.
    pts = [(r["bytes"], r["us"] * 1e-6) for r in reduce if r["bytes"] <= 16 << 20]
    w = [1 / t ** 2 for _, t in pts]
    sw = sum(w); sx = sum(wi * x for wi, (x, _) in zip(w, pts)); sy = sum(wi * y for wi, (_, y) in zip(w, pts))
    sxx = sum(wi * x * x for wi, (x, _) in zip(w, pts)); sxy = sum(wi * x * y for wi, (x, y) in zip(w, pts))
    slope = (sw * sxy - sx * sy) / (sw * sxx - sx * sx)
    intercept = (sy - slope * sx) / sw
    bandwidth, alpha = 1 / slope, max(intercept / 2, 0)
    print(f"\nfit over shared memory: B = {bandwidth / 1e9:.2f} GB/s, alpha = {alpha * 1e6:.1f} µs")
    print("\n| model | parameters | arena MB | step ms (1 process) |")
    print("|---|---:|---:|---:|")
    for name, s in steps.items():
        print(f"| {name} (batch {s['batch']}) | {s['params']:,} | {4 * s['params'] / 1e6:.2f} | {s['ms']:.2f} |")
    nodes = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    for name, s in steps.items():
        print(f"\n{name}: predicted efficiency t_compute / (t_compute + t_allreduce), per-rank batch {s['batch']} fixed, alpha {NET_LATENCY * 1e6:.0f} µs")
        print("| Gb/s | " + " | ".join(str(k) for k in nodes) + " |")
        print("|---|" + "---:|" * len(nodes))
        size = 4 * s["params"]; compute = s["ms"] * 1e-3
        for gbit in (10, 25, 100):
            b = gbit * 1e9 / 8
            cells = []
            for k in nodes:
                t = 0 if k == 1 else 2 * (k - 1) / k * size / b + 2 * (k - 1) * NET_LATENCY
                cells.append(f"{compute / (compute + t):.2f}")
            print(f"| {gbit} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
