#!/usr/bin/python3
"""Descent at each vector width on this machine: the same workloads with the runtime's wider instruction
sets switched off, interleaved in one run.

    /usr/bin/python3 bench/isa.py [workload...] [--quick] [--rounds N] [--no-build]

Runs Descent.Bench (built in Release) round after round, each round once per setting:

    default      every instruction set the CPU has (AVX-512 here)
    avx2         DOTNET_EnableAVX512=0: 256-bit vectors with FMA
    sse          DOTNET_EnableAVX2=0: 128-bit vectors without FMA (also turns AVX-512 off); the GEMM keeps
                 AVX's 256-bit multiplies and adds, the rest runs on Vector128, the path of ARM64 NEON

and prints, per figure, the median of each setting and the median per-round ratio to the default
(slowdown: > 1 means slower than the default), then each setting's sgemm as a fraction of the FMA peak
measured at that setting's width in the same run (the `peak` workload). Workloads: Descent.Bench's names
(default: peak sgemm sgd_momentum_step_10M adam_step_10M tiny_mlp_steps mlp cnn).
"""
import json, os, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = os.path.join(ROOT, "bench", "Descent.Bench")
DLL = os.path.join(PROJECT, "bin", "Release", "net10.0", "Descent.Bench.dll")
SETTINGS = {"default": {}, "avx2": {"DOTNET_EnableAVX512": "0"}, "sse": {"DOTNET_EnableAVX2": "0"}}
DEFAULT_WORKLOADS = ["peak", "sgemm", "sgd_momentum_step_10M", "adam_step_10M", "tiny_mlp_steps", "mlp", "cnn"]


def figures(rows):
    """{figure: (value, higher_is_better)} from one run's JSON lines."""
    out = {}
    for r in rows:
        b = r.get("bench", "")
        if b == "sgemm": out[f"sgemm n={r['n']} GFLOP/s"] = (r["gflops"], True)
        elif b == "peak": out["peak FMA GFLOP/s"] = (r["fma_gflops"], True)
        elif b == "copy_bandwidth": out["copy streaming GB/s"] = (r["streaming_gb_per_s"], True)
        elif "ms" in r: out[f"{b} ms"] = (r["ms"], False)
        elif "steps_per_s" in r: out[f"{b} steps/s"] = (r["steps_per_s"], True)
        elif "samples_per_s" in r: out[f"{b.split('_')[0]} samples/s"] = (r["samples_per_s"], True)
    return out


def main():
    args = sys.argv[1:]
    quick = "--quick" in args
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 3
    skip = {"--quick", "--rounds", "--no-build", str(rounds) if "--rounds" in args else None}
    workloads = [a for a in args if a not in skip] or DEFAULT_WORKLOADS
    if "--no-build" not in args:
        p = subprocess.run(["dotnet", "build", "-c", "Release", "-nologo", "-v", "q", PROJECT], cwd=ROOT, capture_output=True, text=True)
        if p.returncode != 0: sys.exit(f"build failed:\n{p.stdout[-3000:]}")
    results = {s: [] for s in SETTINGS}
    for i in range(rounds):
        for name, env in SETTINGS.items():
            p = subprocess.run(["dotnet", DLL, *workloads] + (["--quick"] if quick else []), cwd=ROOT,
                               env=dict(os.environ, **env), capture_output=True, text=True, timeout=1200)
            if p.returncode != 0: sys.exit(f"{name}: Descent.Bench failed:\n{p.stderr[-3000:]}")
            rows = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
            bits = next(r["vector_bits"] for r in rows if r.get("bench") == "env")
            results[name].append(figures(rows))
            print(f"round {i + 1} {name:8s} ({bits}-bit) done", file=sys.stderr, flush=True)
    names = list(results["default"][0])
    print(f"# Descent by vector width, {rounds} rounds{' (--quick)' if quick else ''}; medians, and slowdown = median per-round "
          "ratio against default (> 1: slower)")
    print(f"{'figure':34s}{'default':>10s}{'avx2':>10s}{'sse':>10s}{'avx2 slowdown':>15s}{'sse slowdown':>14s}")
    for n in names:
        med = {s: statistics.median(r[n][0] for r in results[s]) for s in SETTINGS}
        higher = results["default"][0][n][1]

        def slowdown(s):
            ratios = [(d[n][0] / o[n][0]) if higher else (o[n][0] / d[n][0]) for d, o in zip(results["default"], results[s])]
            return statistics.median(ratios)
        print(f"{n:34s}{med['default']:>10,.1f}{med['avx2']:>10,.1f}{med['sse']:>10,.1f}{slowdown('avx2'):>15.2f}{slowdown('sse'):>14.2f}")
    if "peak FMA GFLOP/s" in names:
        for n in [x for x in names if x.startswith("sgemm")]:
            frac = {s: statistics.median(r[n][0] / r["peak FMA GFLOP/s"][0] for r in results[s]) for s in SETTINGS}
            print(f"{n.replace('GFLOP/s', 'of own peak'):34s}{frac['default']:>10.2f}{frac['avx2']:>10.2f}{frac['sse']:>10.2f}")


if __name__ == "__main__":
    main()
