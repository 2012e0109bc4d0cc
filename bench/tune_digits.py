#!/usr/bin/env python3
"""TPE against random search on the digits, and one worker against two.

    /usr/bin/python3 bench/tune_digits.py [--seeds N] [--trials N] [--epochs N] [--pairs N]

For each seed: `descent tune` with TPE and with random search at the same budget (--trials, default 30) over lr,
optimizer, hidden sizes and weight decay, each trial scored by 5-fold cross-validation on the training split
(--epochs per fold, default 5); then the defaults' 5-fold accuracy (`descent train --folds 5`). Prints each run's best
CV accuracy, test accuracy and wall time, the medians over the seeds, and the wall time of the same TPE search with
--workers 1 and --workers 2 in --pairs interleaved pairs. Every study lives in a fresh SQLite file under a temporary
folder.
"""
import argparse, json, os, re, statistics, subprocess, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.path.join(os.path.dirname(HERE), "src", "Descent.Cli", "bin", "Release", "net10.0", "Descent.Cli.dll")
SPACE = "lr=log:1e-4..1, optimizer=sgd|momentum|adam, hidden=64|128,64|256,128|512,256, weight-decay=log:1e-6..1e-2"


def descent(*args):
    start = time.perf_counter()
    out = subprocess.run(["dotnet", CLI, *args], capture_output=True, text=True, check=True).stdout
    return out, time.perf_counter() - start


def tune(folder, sampler, seed, trials, epochs, workers=1, tag=""):
    db = os.path.join(folder, f"{sampler}-{seed}-{workers}{tag}.db")
    out, seconds = descent("tune", "--space", SPACE, "--trials", str(trials), "--folds", "5", "--epochs", str(epochs),
                           "--sampler", sampler, "--seed", str(seed), "--workers", str(workers), "--storage", db, "--json")
    summary = json.loads(out.strip().splitlines()[-1])
    return summary["best_value"], summary["test_accuracy"], seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=3)
    a = parser.parse_args()
    results = {"tpe": [], "random": [], "defaults": []}
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(a.seeds):
            for sampler in ("tpe", "random"):
                best, test, seconds = tune(folder, sampler, seed, a.trials, a.epochs)
                results[sampler].append((best, test, seconds))
                print(f"seed {seed}  {sampler:6}  best CV accuracy {best:.4f}  test accuracy {test:.4f}  {seconds:.1f} s", flush=True)
            out, seconds = descent("train", "--folds", "5", "--epochs", str(a.epochs), "--seed", str(seed))
            cv = float(re.search(r"accuracy ([0-9.]+) ±", out).group(1))
            results["defaults"].append((cv, None, seconds))
            print(f"seed {seed}  defaults  CV accuracy {cv:.4f}  {seconds:.1f} s", flush=True)
        for name, runs in results.items():
            print(f"median over {len(runs)} seeds  {name:8}  CV accuracy {statistics.median(r[0] for r in runs):.4f}"
                  + (f"  test accuracy {statistics.median(r[1] for r in runs):.4f}" if runs[0][1] is not None else "")
                  + f"  wall {statistics.median(r[2] for r in runs):.1f} s")
        times = {1: [], 2: []}
        for pair in range(a.pairs):
            for workers in ((1, 2) if pair % 2 == 0 else (2, 1)):
                _, _, seconds = tune(folder, "tpe", 100, a.trials, a.epochs, workers, tag=f"-{pair}")
                times[workers].append(seconds)
                print(f"pair {pair}  --workers {workers}: {seconds:.1f} s for {a.trials} trials", flush=True)
        for workers, t in times.items():
            print(f"--workers {workers}: median {statistics.median(t):.1f} s over {len(t)} runs", flush=True)


if __name__ == "__main__":
    main()
