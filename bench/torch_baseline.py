#!/usr/bin/python3
"""PyTorch CPU side of the Descent benchmarks (Debian python3-torch + OpenBLAS) on this machine.

Prints one JSON object per line. Usage:

    OPENBLAS_CORETYPE=SkylakeX THREADS=2 /usr/bin/python3 bench/torch_baseline.py \
        [workload...] [--quick]

Workloads (all when none is named): sgemm copy_bandwidth sgd_momentum_step_10M adam_step_10M
tiny_mlp_steps mlp cnn. bench/Descent.Bench runs the same workloads with the same shapes and field
names; bench/compare.py alternates the two.

Adapted from the project's original anchor script: one workload per process is possible (so that runs can
be interleaved with Descent's); micro-benchmarks time at least 1 s after a warm-up (copy and optimizer
steps too, where the original timed 5 or 20 repetitions; sgemm writes into a preallocated output, as
Descent's side does); an SGD-momentum step workload; and the training workloads run a short warm-up on a
throw-away model before the timed run, as Descent's side does.
"""
import gzip, json, resource, struct, sys, time, os
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
torch.manual_seed(0)
ARGS = sys.argv[1:]
QUICK = "--quick" in ARGS
FM = os.environ.get("FASHION", "/usr/share/datasets/fashion-mnist")
MIN_TIME = 0.3 if QUICK else 1.0      # seconds each timed micro-benchmark runs at least
WARMUP_TIME = 0.3 if QUICK else 1.0   # seconds of warm-up before a timed run (the same on Descent's side)

def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    nd = magic & 0xFF
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)

def load():
    xtr = idx(f"{FM}/train-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    ytr = idx(f"{FM}/train-labels-idx1-ubyte.gz").astype(np.int64)
    xte = idx(f"{FM}/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    yte = idx(f"{FM}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    mu, sd = xtr.mean(), xtr.std()
    xtr, xte = [torch.from_numpy((a - mu) / sd) for a in (xtr, xte)]
    return xtr, torch.from_numpy(ytr), xte, torch.from_numpy(yte)

def emit(**kw):
    print(json.dumps(kw), flush=True)

def timed(fn, min_reps=3):
    """Warm-up (>= WARMUP_TIME/3 and 3 calls), then repeats fn for >= MIN_TIME; seconds per call."""
    t, r = time.perf_counter(), 0
    while r < 3 or time.perf_counter() - t < WARMUP_TIME / 3:
        fn(); r += 1
    t, r = time.perf_counter(), 0
    while r < min_reps or time.perf_counter() - t < MIN_TIME:
        fn(); r += 1
    return (time.perf_counter() - t) / r

def gemm():
    for n in (256, 512, 1024):
        a, b = torch.randn(n, n), torch.randn(n, n)
        c = torch.empty(n, n)
        dt = timed(lambda: torch.mm(a, b, out=c))
        emit(bench="sgemm", n=n, gflops=round(2 * n ** 3 / dt / 1e9, 1))

def bandwidth():
    n = 64 * 1024 * 1024  # 256 MB of float32
    a, b = torch.empty(n), torch.randn(n)
    dt = timed(lambda: a.copy_(b))
    emit(bench="copy_bandwidth", gb_per_s=round(2 * 4 * n / dt / 1e9, 1))

def ten_million_params():
    params = [torch.zeros(1_000_000, requires_grad=True) for _ in range(10)]
    for p in params: p.grad = torch.randn_like(p)
    return params

def sgd_momentum_step():
    # Read θ, g, b; write θ, b: 5 × 4 bytes per parameter.
    params = ten_million_params()
    for foreach in (False, True):
        opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9, foreach=foreach)
        dt = timed(opt.step, min_reps=10)
        emit(bench="sgd_momentum_step_10M", foreach=foreach, ms=round(dt * 1e3, 2),
             effective_gb_per_s=round(5 * 4 * 10_000_000 / dt / 1e9, 1))

def adam_step():
    # Read θ, g, m, v; write θ, m, v: 7 × 4 bytes per parameter.
    params = ten_million_params()
    for foreach in (False, True):
        opt = torch.optim.Adam(params, lr=1e-3, foreach=foreach)
        dt = timed(opt.step, min_reps=10)
        emit(bench="adam_step_10M", foreach=foreach, ms=round(dt * 1e3, 2),
             effective_gb_per_s=round(7 * 4 * 10_000_000 / dt / 1e9, 1))

def warm_up(make_model, make_opt, xtr, ytr, bs, image):
    """Trains a throw-away copy of the model for >= 20 steps and >= WARMUP_TIME seconds."""
    model = make_model()
    opt = make_opt(model)
    t, steps = time.perf_counter(), 0
    while steps < 20 or time.perf_counter() - t < WARMUP_TIME:
        i = (steps * bs) % (len(xtr) - bs)
        xb = xtr[i:i + bs]
        xb = xb.view(bs, 1, 28, 28) if image else xb.view(bs, -1)
        loss = F.cross_entropy(model(xb), ytr[i:i + bs])
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        steps += 1

def train(model, opt, xtr, ytr, xte, yte, bs, max_steps, name, image):
    model.train()
    perm = torch.randperm(len(xtr))
    steps, seen = 0, 0
    t = time.perf_counter()
    for i in range(0, len(xtr) - bs + 1, bs):
        idx_ = perm[i:i + bs]
        xb = xtr[idx_]
        xb = xb.view(bs, 1, 28, 28) if image else xb.view(bs, -1)
        loss = F.cross_entropy(model(xb), ytr[idx_])
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        steps += 1; seen += bs
        if steps >= max_steps: break
    dt = time.perf_counter() - t
    model.eval()
    with torch.no_grad():
        xe = xte.view(-1, 1, 28, 28) if image else xte.view(len(xte), -1)
        acc = (model(xe).argmax(1) == yte).float().mean().item()
    emit(bench=name, batch=bs, steps=steps, samples_per_s=round(seen / dt), test_acc=round(acc, 4), seconds=round(dt, 2),
         peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))

def mlp(xtr, ytr, xte, yte):
    def make_model():
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    def make_opt(model):
        return torch.optim.Adam(model.parameters(), lr=1e-3)
    model = make_model()
    opt = make_opt(model)
    warm_up(make_model, make_opt, xtr, ytr, 128, False)
    train(model, opt, xtr, ytr, xte, yte, 128, 200 if QUICK else 10**9, "mlp_784_512_256_10_adam_1epoch", False)

def cnn(xtr, ytr, xte, yte):
    def make_model():
        return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    def make_opt(model):
        return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model = make_model()
    opt = make_opt(model)
    warm_up(make_model, make_opt, xtr, ytr, 64, True)
    train(model, opt, xtr, ytr, xte, yte, 64, 50 if QUICK else 300, "cnn_c32_c64_fc128_sgdm", True)

def tiny():
    # per-op overhead: 2-16-16-2 MLP, batch 32, SGD
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 2), torch.randint(0, 2, (32,))
    def step():
        opt.zero_grad(); F.cross_entropy(model(x), y).backward(); opt.step()
    t, n = time.perf_counter(), 0
    while n < 50 or time.perf_counter() - t < WARMUP_TIME:
        step(); n += 1
    duration = 0.5 if QUICK else 2.0
    t = time.perf_counter(); n = 0
    while time.perf_counter() - t < duration:
        step(); n += 1
    emit(bench="tiny_mlp_steps", steps_per_s=round(n / (time.perf_counter() - t)))

MICRO = {"sgemm": gemm, "copy_bandwidth": bandwidth, "sgd_momentum_step_10M": sgd_momentum_step,
         "adam_step_10M": adam_step, "tiny_mlp_steps": tiny}
TRAINING = {"mlp": mlp, "cnn": cnn}

if __name__ == "__main__":
    names = [a for a in ARGS if not a.startswith("--")] or list(MICRO) + list(TRAINING)
    unknown = [n for n in names if n not in MICRO and n not in TRAINING]
    if unknown:
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(list(MICRO) + list(TRAINING))}")
    emit(bench="env", side="pytorch", torch=torch.__version__, threads=torch.get_num_threads(),
         openblas_coretype=os.environ.get("OPENBLAS_CORETYPE"), quick=QUICK)
    for n in names:
        if n in MICRO: MICRO[n]()
    if any(n in TRAINING for n in names):
        data = load()
        for n in names:
            if n in TRAINING: TRAINING[n](*data)
