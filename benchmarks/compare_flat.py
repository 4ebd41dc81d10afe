#!/usr/bin/python3
"""Exact batched search, ours against FAISS IndexFlatIP, one thread each, on the same .fvecs files.

Debian 12's FAISS calls whatever libblas.so.3 the loader finds: the netlib reference BLAS by default, which is slow.
The fair anchor is FAISS on OpenBLAS; without installing it system-wide (apt-get download libopenblas0-pthread;
dpkg -x it to DIR) run this with LD_LIBRARY_PATH=DIR/usr/lib/x86_64-linux-gnu/openblas-pthread. The BLAS in use is printed.

Runs FAISS (in this process) and `benchmarks -- flat` (a child process) in turn, --rounds times (A/B/A/B...), and
prints each run's queries/s, the load average beside it, and the ratio ours/FAISS of each pair and of the medians.

  /usr/bin/python3 benchmarks/compare_flat.py --data /path/to/ann-100k-384 [--queries 1000] [--batch 1000] [--rounds 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import time

# One thread for FAISS and the BLAS under it, set before they load.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402

K = 10
HERE = os.path.dirname(os.path.abspath(__file__))


def read_fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    dim = raw[0]
    return raw.reshape(-1, dim + 1)[:, 1:].view(np.float32).copy()


def faiss_run(index, q):
    start = time.perf_counter()
    index.search(q, K)
    return len(q) / (time.perf_counter() - start)


def ours_run(data, queries, batch):
    dll = os.path.join(HERE, "bin", "Release", "net10.0", "linux-x64", "Agents.Benchmarks.dll")
    cmd = ["dotnet", dll] if os.path.exists(dll) else ["dotnet", "run", "-c", "Release", "--project", HERE, "--"]
    out = subprocess.run(cmd + ["flat", "--data", data, "--queries", str(queries), "--batch", str(batch), "--single", "20"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import faiss
    faiss.omp_set_num_threads(1)
    x = read_fvecs(os.path.join(args.data, "base.fvecs"))
    q = read_fvecs(os.path.join(args.data, "query.fvecs"))[:args.queries]
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    index.search(q[:20], K)

    blas = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line and ".so" in line})
    print(f"BLAS loaded: {', '.join(blas) or 'none'}", flush=True)
    pairs = []
    for r in range(args.rounds):
        theirs = faiss_run(index, q)
        load_faiss = os.getloadavg()[0]
        ours = ours_run(args.data, args.queries, args.batch)
        load_ours = os.getloadavg()[0]
        pairs.append((ours["batch_qps"], theirs))
        print(f"round {r + 1}: faiss {theirs:7.1f} q/s (load {load_faiss:.2f})   ours {ours['batch_qps']:7.1f} q/s "
              f"(load {load_ours:.2f}, one at a time {ours['single_qps']:.1f}, recall@10 {ours['recall']:.4f})   "
              f"ours/faiss {ours['batch_qps'] / theirs:.2f}", flush=True)

    ours_median = statistics.median(p[0] for p in pairs)
    theirs_median = statistics.median(p[1] for p in pairs)
    print(f"faiss {faiss.__version__} IndexFlatIP, {len(q)} queries in one call, 1 thread: median {theirs_median:.1f} q/s")
    print(f"ours FlatBatchSearch, batches of {args.batch}, 1 thread: median {ours_median:.1f} q/s")
    print(f"ratio of medians ours/faiss {ours_median / theirs_median:.2f}; loadavg now {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
