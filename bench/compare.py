#!/usr/bin/python3
"""Descent against PyTorch CPU on this machine, interleaved in one run.

    /usr/bin/python3 bench/compare.py [workload...] [--quick] [--pairs N] [--retries N] [--max-wait S]
                                      [--budget S] [--json FILE] [--no-build]

Builds bench/Descent.Bench once in Release, then, workload after workload, runs it alternately with
Descent (the built dll, run directly: no `dotnet run` start-up) and with PyTorch (bench/torch_baseline.py
with OPENBLAS_CORETYPE=SkylakeX and THREADS=2), D, P, D, P, ..., for N >= 3 pairs (default 3). Each run is
its own process and runs one workload.

Prints one line per figure: `name  descent  pytorch  ratio`, where descent and pytorch are the medians of
the runs and ratio is the median over pairs of the per-pair ratio, oriented so that > 1 always means
Descent is faster (throughputs: Descent/PyTorch; times: PyTorch/Descent). The mlp and cnn workloads also
report each process's peak resident memory (`peak RSS MB`, the whole process: runtime, dataset, model;
ratio PyTorch/Descent, > 1 means Descent needs less). The optimizer steps also get
their fraction of the memory-bandwidth floor: bytes moved (5 × 4 per parameter for SGD with momentum,
7 × 4 for Adam) divided by the copy bandwidth measured in the same run.

The machine has two cores and is shared. Before each pair the script waits (up to --max-wait seconds,
default 60) until other processes use less than 10 % of the CPU, and during every run it measures the
share of the machine's CPU time that other processes took. PyTorch's OpenMP threads spin at barriers and
collapse when a third busy thread competes for the two cores (optimizer steps measured about 15x slower),
so a pair where either run saw more than 10 % of foreign CPU use is "disturbed": up to --retries (default 2)
extra pairs per workload, run at once, replace disturbed ones, and the medians use the undisturbed pairs
when there are at least N of them (the table says how many pairs it used). Waiting and retrying stop once
the run has lasted --budget seconds (default 420): a full run takes about 4 minutes on a quiet machine;
on a busy one PyTorch's own runs slow down and it can take 10 to 15 (and its figures are then flagged).

Before the workloads it runs Descent's `peak` workload (--pairs times, the highest run): the machine's fp32 FMA
throughput on all cores at the widest vector width, and its copy bandwidth. The table then ends with every
compute figure as a fraction of that FMA peak (sgemm, the CNN's effective GFLOP/s, also as a fraction of the
same run's best Descent sgemm) and the optimizer steps against the copy bandwidth (their floor).

--quick runs short versions of every workload (for checking the harness, not for figures).
Workloads: sgemm copy_bandwidth sgd_momentum_step_10M adam_step_10M tiny_mlp_steps mlp cnn (all by default).
"""
import datetime, json, os, platform, resource, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = os.path.join(ROOT, "bench", "Descent.Bench")
DLL = os.path.join(PROJECT, "bin", "Release", "net10.0", "Descent.Bench.dll")
TORCH = os.path.join(ROOT, "bench", "torch_baseline.py")
PYTHON = "/usr/bin/python3"
WORKLOADS = ["sgemm", "copy_bandwidth", "sgd_momentum_step_10M", "adam_step_10M", "tiny_mlp_steps", "mlp", "cnn"]

# Bytes an optimizer step must move per float32 parameter, with every buffer in DRAM (10M parameters are
# 200 MB / 280 MB of traffic, far beyond the 32 MB L3):
#   SGD with momentum: read θ, g, b; write θ, b           -> 5 × 4 = 20 bytes
#   Adam:              read θ, g, m, v; write θ, m, v     -> 7 × 4 = 28 bytes
# The updates are in place, so each store hits a line that was just read: no read-for-ownership on top.
# A plain copy does pay one (12 bytes move per 8 counted), which is why the floor's copy bandwidth is the
# best copy of the run, normally Descent's streaming-store copy ("copy streaming stores" in the table).
STEP_BYTES = {"sgd_momentum_step_10M": 5 * 4, "adam_step_10M": 7 * 4}
PARAMS = 10_000_000

# Floating-point operations per training sample of the CNN workload (multiply-adds × 2): forward
# conv1 32·1·9·784 + conv2 64·32·9·196 + fc1 3136·128 + fc2 128·10 = 4,241,152 multiply-adds; backward the
# same again for the weight gradients and again for the input gradients of every layer but the first.
CNN_MACS_FORWARD = 32 * 1 * 9 * 784 + 64 * 32 * 9 * 196 + 3136 * 128 + 128 * 10
CNN_FLOPS_PER_SAMPLE = 2 * (2 * CNN_MACS_FORWARD + (CNN_MACS_FORWARD - 32 * 1 * 9 * 784))
QUIET = 0.10      # others' CPU share under which a pair may start
DISTURBED = 0.10  # others' CPU share during a run above which its pair is disturbed


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv):
    opts = {"quick": False, "pairs": 3, "retries": 2, "max_wait": 60.0, "budget": 420.0, "json": None, "build": True, "workloads": []}
    it = iter(argv)
    try:
        for a in it:
            if a == "--quick": opts["quick"] = True
            elif a == "--pairs": opts["pairs"] = int(next(it))
            elif a == "--retries": opts["retries"] = int(next(it))
            elif a == "--max-wait": opts["max_wait"] = float(next(it))
            elif a == "--budget": opts["budget"] = float(next(it))
            elif a == "--json": opts["json"] = next(it)
            elif a == "--no-build": opts["build"] = False
            elif a in ("-h", "--help"): print(__doc__); sys.exit(0)
            elif a in WORKLOADS: opts["workloads"].append(a)
            else: sys.exit(f"unknown argument {a!r}; workloads: {' '.join(WORKLOADS)}")
    except (StopIteration, ValueError):
        sys.exit("--pairs, --retries, --max-wait, --budget and --json take a value")
    if opts["pairs"] < 1: sys.exit("--pairs must be at least 1")
    w = opts["workloads"] or list(WORKLOADS)
    # The bandwidth floor of an optimizer step needs the copy bandwidth of the same run.
    if any(x in STEP_BYTES for x in w) and "copy_bandwidth" not in w:
        w.append("copy_bandwidth")
    opts["workloads"] = [x for x in WORKLOADS if x in w]
    return opts


def cpu_times():
    """(total, idle) CPU time of the whole machine, in seconds."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    return sum(v[:8]) / hz, (v[3] + v[4]) / hz


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def others_busy(seconds=0.5):
    """Share of the machine's CPU time used by other processes over a short sample (none of ours run then)."""
    t0, i0 = cpu_times(); time.sleep(seconds); t1, i1 = cpu_times()
    return max(0.0, 1 - (i1 - i0) / max(t1 - t0, 1e-9))


def wait_quiet(max_wait):
    deadline = time.time() + max_wait
    busy = others_busy(1.0)
    while busy > QUIET and time.time() < deadline:
        busy = others_busy(2.0)
    return busy


def run(cmd, env):
    """Runs one benchmark process; returns its JSON lines, wall seconds, and others' CPU share meanwhile."""
    t0, i0 = cpu_times(); c0 = children_cpu(); w0 = time.time()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    t1, i1 = cpu_times(); c1 = children_cpu(); wall = time.time() - w0
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    busy = (t1 - t0) - (i1 - i0)
    others = max(0.0, (busy - (c1 - c0)) / max(t1 - t0, 1e-9))
    rows = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    return rows, wall, others


def figures(workload, rows):
    """{figure name: (value, higher_is_better)} from one run's JSON lines."""
    out = {}
    for r in rows:
        b = r.get("bench", "")
        if workload == "sgemm" and b == "sgemm":
            out[f"sgemm n={r['n']} GFLOP/s"] = (r["gflops"], True)
        elif workload == "copy_bandwidth" and b == "copy_bandwidth":
            out["copy_bandwidth GB/s"] = (r["gb_per_s"], True)
            if "streaming_gb_per_s" in r:
                out["copy streaming stores GB/s"] = (r["streaming_gb_per_s"], True)
        elif workload in STEP_BYTES and b == workload and "ms" in r and not r.get("foreach", False):
            out[f"{workload} ms"] = (r["ms"], False)
        elif workload == "tiny_mlp_steps" and b == "tiny_mlp_steps":
            out["tiny_mlp_steps steps/s"] = (r["steps_per_s"], True)
        elif workload in ("mlp", "cnn") and b.startswith(workload + "_"):
            out[f"{workload} samples/s"] = (r["samples_per_s"], True)
            out[f"{workload} test_acc"] = (r["test_acc"], True)
            if "peak_rss_mb" in r:
                out[f"{workload} peak RSS MB"] = (r["peak_rss_mb"], False)
    return out


def fmt(v):
    if v is None: return "n/a"
    if abs(v) >= 100: return f"{v:,.0f}"
    if abs(v) >= 10: return f"{v:.1f}"
    return f"{v:.2f}" if abs(v) >= 1 else f"{v:.3f}"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            info = dict(line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines() if ":" in line)
        info = {k.strip(): v.strip() for k, v in info.items()}
        return f"{info.get('model name', '?')} (family {info.get('cpu family', '?')} model {info.get('model', '?')})"
    except OSError:
        return platform.processor() or "unknown"


def main():
    opts = parse_args(sys.argv[1:])
    quick = ["--quick"] if opts["quick"] else []
    env_torch = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX", THREADS="2")
    env_descent = dict(os.environ)
    if opts["build"]:
        log("building bench/Descent.Bench (Release) ...")
        p = subprocess.run(["dotnet", "build", "-c", "Release", "-nologo", "-v", "q", PROJECT],
                           cwd=ROOT, capture_output=True, text=True)
        if p.returncode != 0: sys.exit(f"build failed:\n{p.stdout[-3000:]}{p.stderr[-3000:]}")
    if not os.path.exists(DLL): sys.exit(f"{DLL} not found; build it or drop --no-build")

    started, t_start = datetime.datetime.now(), time.time()
    peak_runs = []
    for i in range(opts["pairs"]):
        wait_quiet(opts["max_wait"])
        rows, _, others = run(["dotnet", DLL, "peak"] + quick, env_descent)
        peak = next(r for r in rows if r.get("bench") == "peak")
        copy = next(r for r in rows if r.get("bench") == "copy_bandwidth")
        peak_runs.append((peak["fma_gflops"], copy["streaming_gb_per_s"], peak["vector_bits"], others))
        log(f"peak {i + 1}    FMA {peak['fma_gflops']} GFLOP/s ({peak['vector_bits']}-bit, {peak['kind']}), "
            f"copy {copy['streaming_gb_per_s']} GB/s; others' CPU {others:4.0%}")
    # A ceiling: other processes can only lower a run's figure, so the highest run is the best estimate.
    peak_gflops = max(r[0] for r in peak_runs)
    peak_copy = max(r[1] for r in peak_runs)
    pairs = {w: [] for w in opts["workloads"]}  # per workload: [{descent, pytorch, others_d, others_p}]
    envs, raw = {}, []

    def one_pair(w, label):
        wait_quiet(max(0.0, min(opts["max_wait"], opts["budget"] - (time.time() - t_start))))
        rows_d, wall_d, others_d = run(["dotnet", DLL, w] + quick, env_descent)
        envs["descent"] = next((r for r in rows_d if r.get("bench") == "env"), envs.get("descent"))
        rows_p, wall_p, others_p = run([PYTHON, TORCH, w] + quick, env_torch)
        envs["pytorch"] = next((r for r in rows_p if r.get("bench") == "env"), envs.get("pytorch"))
        pair = {"descent": figures(w, rows_d), "pytorch": figures(w, rows_p), "others": (others_d, others_p)}
        pairs[w].append(pair)
        raw.append({"workload": w, "pair": label, "descent": rows_d, "pytorch": rows_p,
                    "others_cpu_share": [others_d, others_p], "wall_s": [wall_d, wall_p]})
        flag = "  disturbed" if max(others_d, others_p) > DISTURBED else ""
        log(f"{label:9s} {w:24s} descent {wall_d:5.1f} s, pytorch {wall_p:5.1f} s; "
            f"others' CPU {others_d:4.0%} / {others_p:4.0%}{flag}")

    def clean(w):
        return [p for p in pairs[w] if max(p["others"]) <= DISTURBED]

    # Workload after workload, its pairs back to back (a quiet spell of a minute or two covers them), each
    # pair D then P; disturbed pairs are retried at once, after waiting for quiet, within the budget.
    for w in opts["workloads"]:
        for i in range(opts["pairs"]):
            one_pair(w, f"pair {i + 1}")
        for extra in range(opts["retries"]):
            if len(clean(w)) >= opts["pairs"] or time.time() - t_start > opts["budget"]: break
            one_pair(w, f"retry {extra + 1}")
    finished = datetime.datetime.now()

    # Median of each side and median of the per-pair ratios, per figure.
    def pair_ratios(name, group):
        return [(p["descent"][name][0] / p["pytorch"][name][0]) if p["descent"][name][1]
                else (p["pytorch"][name][0] / p["descent"][name][0])
                for p in group if name in p["descent"] and name in p["pytorch"]
                and p["descent"][name][0] and p["pytorch"][name][0]]

    table = []
    for w in opts["workloads"]:
        undisturbed = clean(w)
        used = undisturbed if len(undisturbed) >= opts["pairs"] else pairs[w]
        names = []
        for p in pairs[w]:
            for side in ("descent", "pytorch"):
                names += [n for n in p[side] if n not in names]
        for name in names:
            d = [p["descent"][name][0] for p in used if name in p["descent"]]
            t = [p["pytorch"][name][0] for p in used if name in p["pytorch"]]
            ratios, quiet = pair_ratios(name, used), pair_ratios(name, undisturbed)
            table.append({"workload": w, "figure": name,
                          "descent": statistics.median(d) if d else None,
                          "pytorch": statistics.median(t) if t else None,
                          "ratio": statistics.median(ratios) if ratios else None,
                          "ratio_min": min(ratios) if ratios else None, "ratio_max": max(ratios) if ratios else None,
                          "undisturbed_ratio": statistics.median(quiet) if quiet else None,
                          "pairs_used": len(used), "pairs_clean": len(undisturbed), "pairs_run": len(pairs[w])})

    # Bandwidth floor of the optimizer steps: bytes / copy bandwidth, the copy bandwidth being the highest
    # copy median of this run (Descent's streaming-store copy, which counts the bytes it moves, unless a plain
    # copy did better): what this machine demonstrably streams.
    copy_rows = [r for r in table if r["figure"] in ("copy_bandwidth GB/s", "copy streaming stores GB/s")]
    copy_bw = max((v for r in copy_rows for v in (r["descent"], r["pytorch"]) if v), default=None)
    floors = []
    for w, per_param in STEP_BYTES.items():
        row = next((r for r in table if r["figure"] == f"{w} ms"), None)
        if row is None or not copy_bw: continue
        floor_ms = per_param * PARAMS / (copy_bw * 1e9) * 1e3
        floors.append({"workload": w, "bytes_per_param": per_param, "floor_ms": floor_ms,
                       "descent": floor_ms / row["descent"] if row["descent"] else None,
                       "pytorch": floor_ms / row["pytorch"] if row["pytorch"] else None})

    out = sys.stdout
    de, pe = envs.get("descent", {}), envs.get("pytorch", {})
    all_others = [o for w in pairs for p in pairs[w] for o in p["others"]]
    disturbed = sum(o > DISTURBED for o in all_others)
    print(f"# Descent vs PyTorch CPU, {started:%Y-%m-%d %H:%M}-{finished:%H:%M}, {cpu_model()}, {os.cpu_count()} cores", file=out)
    print(f"# Descent: .NET {de.get('dotnet')}, {de.get('workers')} workers; "
          f"PyTorch {pe.get('torch')}, {pe.get('threads')} threads, OPENBLAS_CORETYPE={pe.get('openblas_coretype')}", file=out)
    print(f"# interleaved pairs (D,P,D,P,...): {opts['pairs']} per workload{', --quick' if opts['quick'] else ''}; "
          f"other processes' CPU share during the runs: median {statistics.median(all_others):.0%}, max {max(all_others):.0%}; "
          f"{disturbed} of {len(all_others)} runs disturbed (> {DISTURBED:.0%})", file=out)
    print("# mlp: Adam lr 1e-3 on both sides; cnn: SGD lr 0.05 momentum 0.9; PyTorch optimizer steps with foreach=False", file=out)
    print("# descent, pytorch: medians of the runs; ratio: median of the per-pair ratios, > 1 means Descent is faster", file=out)
    print("#   (throughputs Descent/PyTorch, times and peak RSS PyTorch/Descent; test_acc Descent/PyTorch); range: min-max of the pair ratios;", file=out)
    print("#   pairs: used/run; the undisturbed ones when there are enough of them, else all ('incl. disturbed');", file=out)
    print("#   quiet: median ratio over the undisturbed pairs alone, with their number", file=out)
    width = max(len(r["figure"]) for r in table) + 2
    print(f"{'name':{width}s}{'descent':>10s}{'pytorch':>10s}{'ratio':>8s}  {'range':>11s}  {'quiet':>10s}  pairs", file=out)
    for r in table:
        rng = f"{r['ratio_min']:.2f}-{r['ratio_max']:.2f}" if r["ratio"] is not None else ""
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "n/a"
        quiet = f"{r['undisturbed_ratio']:.2f} ({r['pairs_clean']})" if r["undisturbed_ratio"] is not None else "-"
        print(f"{r['figure']:{width}s}{fmt(r['descent']):>10s}{fmt(r['pytorch']):>10s}{ratio:>8s}  {rng:>11s}  {quiet:>10s}  "
              f"{r['pairs_used']}/{r['pairs_run']}{'' if r['pairs_used'] <= r['pairs_clean'] else ' incl. disturbed'}", file=out)
    if floors:
        print(f"# bandwidth floor of a step = bytes/param × 10M / copy bandwidth ({copy_bw:.1f} GB/s, the highest copy median "
              "this run); fraction = floor / median step time (> 1: faster than the copy rate predicts)", file=out)
        for f in floors:
            print(f"{f['workload'] + ' floor':{width}s}{fmt(f['descent']):>10s}{fmt(f['pytorch']):>10s}"
                  f"{'':8s}  {f['bytes_per_param']} B/param, floor {f['floor_ms']:.2f} ms", file=out)
    # Fractions of the measured ceilings.
    print(f"# peak (Descent's peak workload, highest of {len(peak_runs)} runs): FMA {peak_gflops:.1f} GFLOP/s on all cores "
          f"({peak_runs[0][2]}-bit), copy {peak_copy:.1f} GB/s; fractions of them:", file=out)
    fractions = []
    best_sgemm = max((r["descent"] for r in table if r["figure"].startswith("sgemm") and r["descent"]), default=None)
    for r in table:
        if r["figure"].startswith("sgemm"):
            fractions.append((r["figure"].replace("GFLOP/s", "of FMA peak"), r["descent"] / peak_gflops, r["pytorch"] / peak_gflops, ""))
        elif r["figure"] == "cnn samples/s":
            d, t = (v * CNN_FLOPS_PER_SAMPLE / 1e9 if v else None for v in (r["descent"], r["pytorch"]))
            fractions.append(("cnn of FMA peak", d / peak_gflops, t / peak_gflops,
                              f"effective GFLOP/s {d:.1f} / {t:.1f} ({CNN_FLOPS_PER_SAMPLE / 1e6:.1f} MFLOP/sample)"))
            if best_sgemm:
                fractions.append(("cnn of best sgemm", d / best_sgemm, None, f"Descent's best sgemm this run {best_sgemm:.1f} GFLOP/s"))
        elif r["figure"] == "copy_bandwidth GB/s":
            fractions.append(("copy of peak copy", r["descent"] / peak_copy, r["pytorch"] / peak_copy, ""))
    width = max([width] + [len(f[0]) + 2 for f in fractions])
    for name, d, t, note in fractions:
        print(f"{name:{width}s}{fmt(d):>10s}{fmt(t):>10s}{'':8s}  {note}", file=out)
    if opts["json"]:
        with open(opts["json"], "w") as fh:
            json.dump({"started": started.isoformat(), "finished": finished.isoformat(), "cpu": cpu_model(),
                       "pairs": opts["pairs"], "quick": opts["quick"],
                       "env": envs, "table": table, "copy_bandwidth_gb_per_s": copy_bw, "floors": floors,
                       "peak": {"fma_gflops": peak_gflops, "copy_gb_per_s": peak_copy, "runs": peak_runs},
                       "runs": raw}, fh, indent=1)


if __name__ == "__main__":
    main()
