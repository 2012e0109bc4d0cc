#!/usr/bin/env python3
"""Training speed with dynamic PGO off and on, in interleaved pairs.

    /usr/bin/python3 bench/pgo.py [--pairs N]

Runs Descent's training workloads twice per pair, once with DOTNET_TieredPGO=0 and once with
DOTNET_TieredPGO=1 (the order alternates between pairs), and prints each side's median and the median of the
per-pair ratios (> 1: PGO on is faster). Workloads: the bench's `mlp`, `cnn` and `tiny_mlp_steps` (warm
steady state), and two whole `descent` processes as a user runs them: the README's `compare` job on the digits
and `train` on Fashion-MNIST for one epoch (start-up and JIT included). The `descent` setting in
src/Descent.Cli/Descent.Cli.csproj follows from these figures (docs/benchmarks.md).
"""
import json, os, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH = os.path.join(HERE, "Descent.Bench", "bin", "Release", "net10.0", "Descent.Bench.dll")
CLI = os.path.join(ROOT, "src", "Descent.Cli", "bin", "Release", "net10.0", "Descent.Cli.dll")


def bench_figure(workload, key):
    def run(env):
        out = subprocess.run(["dotnet", BENCH, workload], env=env, capture_output=True, text=True, check=True).stdout
        line = [json.loads(l) for l in out.splitlines() if l.startswith("{")][-1]
        return line[key]
    return run


def cli_seconds(*args):
    def run(env):
        start = time.perf_counter()
        subprocess.run(["dotnet", CLI, *args], env=env, capture_output=True, text=True, check=True)
        return 1.0 / (time.perf_counter() - start)  # a rate, so that larger is faster like the bench figures
    return run


WORKLOADS = [
    ("mlp samples/s", bench_figure("mlp", "samples_per_s")),
    ("cnn samples/s", bench_figure("cnn", "samples_per_s")),
    ("tiny_mlp steps/s", bench_figure("tiny_mlp_steps", "steps_per_s")),
    ("descent compare (1/s)", cli_seconds("compare")),
    ("descent train fashion-mnist 1 epoch (1/s)", cli_seconds("train", "--dataset", "fashion-mnist", "--epochs", "1", "--batch-size", "128", "--optimizer", "adam")),
]


def main():
    pairs = int(sys.argv[sys.argv.index("--pairs") + 1]) if "--pairs" in sys.argv else 5
    for d in (BENCH, CLI):
        if not os.path.exists(d):
            sys.exit(f"build first: dotnet build -c Release && dotnet build -c Release bench/Descent.Bench ({d} missing)")
    print(f"{'workload':44} {'PGO off':>10} {'PGO on':>10} {'on/off':>7}  range")
    for name, run in WORKLOADS:
        off, on, ratios = [], [], []
        for p in range(pairs):
            results = {}
            for pgo in (("0", "1") if p % 2 == 0 else ("1", "0")):
                env = dict(os.environ, DOTNET_TieredPGO=pgo)
                results[pgo] = run(env)
            off.append(results["0"]); on.append(results["1"]); ratios.append(results["1"] / results["0"])
        print(f"{name:44} {statistics.median(off):10.4g} {statistics.median(on):10.4g} {statistics.median(ratios):7.3f}  {min(ratios):.3f}-{max(ratios):.3f}", flush=True)


if __name__ == "__main__":
    main()
