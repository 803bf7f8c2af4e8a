# PyTorch's (OpenBLAS) matrix products on the shapes of scripts/gemm-scaling.ts at
# THREADS threads: GFLOP/s, best of 5 rounds. OpenBLAS takes its thread count from the
# environment, not torch.set_num_threads, so run it once per count:
#   for t in 1 2; do OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t scripts/measure.sh /usr/bin/python3 scripts/gemm_scaling_torch.py $t; done
import sys
import json, time, torch
shapes = [(2048, 128, 384, False, False), (2048, 384, 128, False, True), (128, 2048, 384, True, False), (2048, 2048, 2048, False, False)]
rows = []
for m, k, n, ta, tb in shapes:
    a = torch.randn(k, m) if ta else torch.randn(m, k)
    b = torch.randn(n, k) if tb else torch.randn(k, n)
    g = []
    for threads in (int(sys.argv[1]) if len(sys.argv) > 1 else 1,):
        torch.set_num_threads(threads)
        reps = 3 if m * n * k > 1e9 else 20
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(reps):
                (a.t() if ta else a) @ (b.t() if tb else b)
            best = min(best, (time.perf_counter() - t0) / reps)
        g.append(round(2 * m * n * k / best / 1e9, 2))
    rows.append({"m": m, "k": k, "n": n, "transposeA": ta, "transposeB": tb, "gflops": g[0]})
print(json.dumps({"system": "torch", "torch": torch.__version__, "threads": int(sys.argv[1]) if len(sys.argv) > 1 else 1, "rows": rows}))
