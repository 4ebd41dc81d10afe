#!/usr/bin/python3
"""Side-by-side ANN numbers: the project's HNSW index (C#) against native hnswlib, and exact flat search against FAISS.

    /usr/bin/python3 benchmarks/compare_ann.py --data DIR [--ef 32,64,128] [--n 100000 --dim 384 --queries 1000]

Generates DIR/base.fvecs and DIR/query.fvecs if missing (clustered Gaussian, fixed seed), runs
`dotnet run -c Release --project benchmarks -- ann --data DIR` (which also writes DIR/groundtruth.ivecs if missing),
then the anchor: benchmarks/anchor/hnsw_anchor.cpp, compiled here with `g++ -O3 -march=native` against the
header-only hnswlib (so it uses this CPU's widest SIMD, as a native build would), with the same M, efConstruction,
seed, ef list and one thread; then FAISS IndexFlatIP on one thread if faiss is importable. Prints one table of
ratios (ours / anchor) and writes DIR/comparison.json.

Uses only what Debian packages: libhnswlib-dev, g++, python3-numpy, and optionally python3-faiss.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

# One BLAS thread, set before numpy loads OpenBLAS, so the exact-search stand-in runs single-threaded like the rest.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

# Must match benchmarks/AnnComparison.cs so the graphs have the same shape.
M = 16
EF_CONSTRUCTION = 200
SEED = 42
K = 10
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANCHOR_SOURCE = os.path.join(REPO, "benchmarks", "anchor", "hnsw_anchor.cpp")
ANCHOR_BINARY = os.path.join(REPO, "benchmarks", "anchor", "bin", "hnsw_anchor")


def write_fvecs(path, x):
    # TEXMEX layout: each row is int32 dimension then the floats; written via a temporary so a killed run leaves no stub.
    rows = np.empty((x.shape[0], x.shape[1] + 1), dtype=np.float32)
    rows[:, 0] = np.array([x.shape[1]], dtype=np.int32).view(np.float32)[0]
    rows[:, 1:] = x
    rows.tofile(path + ".tmp")
    os.replace(path + ".tmp", path)


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        sys.exit(f"{path} is empty")
    dim = int(raw[0])
    rows = raw.reshape(-1, dim + 1)
    if not (rows[:, 0] == dim).all():
        sys.exit(f"{path}: rows of differing dimension")
    return np.ascontiguousarray(rows[:, 1:].view(dtype))


def generate(data_dir, n, dim, nq):
    # Clustered data (100 Gaussian centres, noise 0.5) rather than isotropic noise: real embeddings cluster, and on
    # uniform random vectors every graph index looks bad at 384 dimensions.
    rng = np.random.default_rng(20240607)
    centres = rng.standard_normal((100, dim), dtype=np.float32)

    def draw(count):
        return centres[rng.integers(0, 100, count)] + 0.5 * rng.standard_normal((count, dim), dtype=np.float32)

    print(f"generating {n} x {dim} base and {nq} queries in {data_dir}", flush=True)
    write_fvecs(os.path.join(data_dir, "base.fvecs"), draw(n))
    write_fvecs(os.path.join(data_dir, "query.fvecs"), draw(nq))
    # Ground truth belongs to the old data, if any.
    truth = os.path.join(data_dir, "groundtruth.ivecs")
    if os.path.exists(truth):
        os.remove(truth)


def run_agents(data_dir, efs, exact_queries):
    cmd = ["dotnet", "run", "-c", "Release", "--project", os.path.join(REPO, "benchmarks"), "--",
           "ann", "--data", data_dir, "--ef", ",".join(map(str, efs)), "--threads", "1",
           "--exact-queries", str(exact_queries), "--quantized"]
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    with open(os.path.join(data_dir, "agents-ann.json")) as f:
        return json.load(f)


def build_anchor():
    # Rebuilt when the source is newer; -march=native is the point: Debian's prebuilt hnswlib is generic x86-64.
    if os.path.exists(ANCHOR_BINARY) and os.path.getmtime(ANCHOR_BINARY) >= os.path.getmtime(ANCHOR_SOURCE):
        return
    os.makedirs(os.path.dirname(ANCHOR_BINARY), exist_ok=True)
    cmd = ["g++", "-O3", "-march=native", "-std=c++17", "-o", ANCHOR_BINARY, ANCHOR_SOURCE]
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def run_anchor(data_dir, efs):
    build_anchor()
    cmd = [ANCHOR_BINARY, data_dir, ",".join(map(str, efs)), str(M), str(EF_CONSTRUCTION)]
    print("$ " + " ".join(cmd), flush=True)
    result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    print(f"hnswlib -O3 -march=native build {result['build_seconds']:.1f} s ({result['inserts_per_second']:.0f} inserts/s)")
    for s in result["search"]:
        print(f"hnswlib ef={s['ef']} {s['qps']:.0f} q/s recall@10={s['recall_at10']:.4f}", flush=True)
    return result


def run_numpy_exact(x, q, exact_queries):
    """Stand-in for FAISS IndexFlatIP where faiss is missing: one BLAS matrix-vector product per query (OpenBLAS sgemv,
    one thread, as numpy was imported with OPENBLAS_NUM_THREADS=1) and a partial sort, the same memory-bound scan."""
    sub = q[:exact_queries]
    for i in range(5):
        np.argpartition(-(x @ sub[i]), K)[:K]
    start = time.perf_counter()
    for i in range(len(sub)):
        scores = x @ sub[i]
        top = np.argpartition(-scores, K)[:K]
        top[np.argsort(-scores[top])]
    qps = len(sub) / (time.perf_counter() - start)
    print(f"numpy x @ q (OpenBLAS, 1 thread) {qps:.1f} q/s one at a time", flush=True)
    return {"numpy_version": np.__version__, "exact_ip_qps": qps}


def run_faiss(x, q, exact_queries):
    try:
        import faiss
    except ImportError:
        return None
    faiss.omp_set_num_threads(1)
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    sub = q[:exact_queries]
    index.search(sub[:5], K)
    # One query per call, like the C# flat scan and like a server answering requests; a batch lets FAISS use BLAS
    # matrix products, which is a different workload, so it is reported separately.
    start = time.perf_counter()
    for i in range(len(sub)):
        index.search(sub[i:i + 1], K)
    single = len(sub) / (time.perf_counter() - start)
    start = time.perf_counter()
    index.search(sub, K)
    batched = len(sub) / (time.perf_counter() - start)
    print(f"faiss IndexFlatIP {single:.1f} q/s one at a time, {batched:.1f} q/s batched", flush=True)
    return {"version": faiss.__version__, "exact_ip_qps": single, "exact_ip_batched_qps": batched}


def ratio(a, b):
    return a / b if b else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="directory with base.fvecs, query.fvecs (generated if missing)")
    parser.add_argument("--n", type=int, default=100_000, help="base vectors to generate")
    parser.add_argument("--dim", type=int, default=384, help="dimension to generate")
    parser.add_argument("--queries", type=int, default=1000, help="queries to generate")
    parser.add_argument("--ef", default="32,64,128", help="comma-separated query ef values")
    parser.add_argument("--exact-queries", type=int, default=200, help="queries timed for exact flat search")
    args = parser.parse_args()
    efs = [int(v) for v in args.ef.split(",") if v.strip()]

    data_dir = os.path.abspath(args.data)
    os.makedirs(data_dir, exist_ok=True)
    if not (os.path.exists(os.path.join(data_dir, "base.fvecs")) and os.path.exists(os.path.join(data_dir, "query.fvecs"))):
        generate(data_dir, args.n, args.dim, args.queries)

    started = time.perf_counter()
    ours = run_agents(data_dir, efs, args.exact_queries)

    x = read_vecs(os.path.join(data_dir, "base.fvecs"), np.float32)
    q = read_vecs(os.path.join(data_dir, "query.fvecs"), np.float32)
    if (x.shape[0], x.shape[1], q.shape[0]) != (args.n, args.dim, args.queries):
        print(f"note: using existing data {x.shape[0]} x {x.shape[1]}, {q.shape[0]} queries (--n/--dim/--queries apply only when generating)")

    theirs = run_anchor(data_dir, efs)
    faiss_result = run_faiss(x, q, args.exact_queries)
    numpy_result = run_numpy_exact(x, q, args.exact_queries)

    # The table.
    print()
    print(f"n={x.shape[0]} dim={x.shape[1]} queries={q.shape[0]} M={M} efConstruction={EF_CONSTRUCTION} single thread")
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; anchor = hnswlib g++ -O3 -march=native")
    print(f"{'':26}{'ours':>12}{'hnswlib':>12}{'ours/hnswlib':>14}")
    print(f"{'build inserts/s':26}{ours['inserts_per_second']:12.0f}{theirs['inserts_per_second']:12.0f}"
          f"{ratio(ours['inserts_per_second'], theirs['inserts_per_second']):14.2f}")
    print(f"{'build seconds':26}{ours['build_seconds']:12.1f}{theirs['build_seconds']:12.1f}")
    print(f"{'raw float bytes/vector':26}{ours['raw_bytes_per_vector']:12d}{x.shape[1] * 4:12d}")
    print()
    print(f"{'ef':>6}{'ours q/s':>12}{'hnswlib q/s':>13}{'ours/hnswlib':>14}{'ours recall':>13}{'hnswlib recall':>16}")
    rows = []
    for a, b in zip(ours["search"], theirs["search"]):
        r = ratio(a["qps"], b["qps"])
        rows.append({"ef": a["ef"], "ours_qps": a["qps"], "hnswlib_qps": b["qps"], "ratio": r,
                     "ours_recall_at10": a["recall_at10"], "hnswlib_recall_at10": b["recall_at10"]})
        print(f"{a['ef']:6d}{a['qps']:12.0f}{b['qps']:13.0f}{r:14.2f}{a['recall_at10']:13.4f}{b['recall_at10']:16.4f}")
    quantized = ours.get("quantized")
    if quantized:
        print()
        print(f"int8 quantized (ours, rescored on full vectors): build {quantized['inserts_per_second']:.0f} inserts/s "
              f"({ratio(quantized['inserts_per_second'], theirs['inserts_per_second']):.2f} x hnswlib), "
              f"codes {quantized['code_bytes_per_vector']:.0f} + graph {quantized['graph_bytes_per_vector']:.0f} B/vector = "
              f"{(quantized['code_bytes_per_vector'] + quantized['graph_bytes_per_vector']) / (x.shape[1] * 4):.3f} x raw floats")
        print(f"{'ef':>6}{'int8 q/s':>12}{'hnswlib q/s':>13}{'int8/hnswlib':>14}{'int8 recall':>13}{'hnswlib recall':>16}")
        for a, b in zip(quantized["search"], theirs["search"]):
            print(f"{a['ef']:6d}{a['qps']:12.0f}{b['qps']:13.0f}{ratio(a['qps'], b['qps']):14.2f}{a['recall_at10']:13.4f}{b['recall_at10']:16.4f}")
    print()
    print(f"exact flat search, {ours['exact_queries']} queries, one at a time:")
    print(f"  ours inner product  {ours['exact_dot_qps']:10.1f} q/s")
    print(f"  ours L2             {ours['exact_l2_qps']:10.1f} q/s")
    if faiss_result is None:
        print("  faiss               not available (import faiss failed; Debian 12 does not package it) - skipped")
    else:
        print(f"  faiss IndexFlatIP   {faiss_result['exact_ip_qps']:10.1f} q/s   ours/faiss "
              f"{ratio(ours['exact_dot_qps'], faiss_result['exact_ip_qps']):.2f}")
        print(f"  faiss batched       {faiss_result['exact_ip_batched_qps']:10.1f} q/s   ours/faiss "
              f"{ratio(ours['exact_dot_qps'], faiss_result['exact_ip_batched_qps']):.2f}")
    print(f"  numpy x @ q         {numpy_result['exact_ip_qps']:10.1f} q/s   ours/numpy "
          f"{ratio(ours['exact_dot_qps'], numpy_result['exact_ip_qps']):.2f}   (OpenBLAS sgemv, one thread: the stand-in for FAISS)")
    print(f"\n(total {time.perf_counter() - started:.0f} s)")

    out = {"n": int(x.shape[0]), "dim": int(x.shape[1]), "queries": int(q.shape[0]), "m": M,
           "ef_construction": EF_CONSTRUCTION, "threads": 1, "ours": ours, "hnswlib": theirs,
           "anchor": "hnswlib (libhnswlib-dev) g++ -O3 -march=native", "load_average": os.getloadavg(), "faiss": faiss_result, "numpy_exact": numpy_result,
           "search": rows,
           "build_inserts_ratio": ratio(ours["inserts_per_second"], theirs["inserts_per_second"]),
           "exact_ip_ratio_vs_faiss": None if faiss_result is None
           else ratio(ours["exact_dot_qps"], faiss_result["exact_ip_qps"])}
    path = os.path.join(data_dir, "comparison.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
