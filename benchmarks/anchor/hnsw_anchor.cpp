// The hnswlib anchor of benchmarks/compare_ann.py: builds hnswlib (Debian libhnswlib-dev, header-only) over
// DIR/base.fvecs on one thread with the same M, efConstruction and seed as benchmarks/AnnComparison.cs, searches
// DIR/query.fvecs at each ef on one thread, and prints one JSON object (build inserts/s, q/s and recall@10 per ef).
//
//   g++ -O3 -march=native -std=c++17 -o hnsw_anchor benchmarks/anchor/hnsw_anchor.cpp
//   ./hnsw_anchor DIR 32,64,128 [M] [efConstruction]
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

// TEXMEX layout: each row is an int32 dimension followed by that many 4-byte values.
template <typename T>
std::vector<T> ReadVecs(const std::string& path, int& dim, size_t& rows) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot open %s\n", path.c_str());
        std::exit(2);
    }
    std::vector<T> data;
    rows = 0;
    dim = 0;
    int32_t d;
    while (in.read(reinterpret_cast<char*>(&d), sizeof d)) {
        if (dim == 0) dim = d;
        if (d != dim) {
            std::fprintf(stderr, "%s: rows of differing dimension\n", path.c_str());
            std::exit(2);
        }
        data.resize(data.size() + dim);
        in.read(reinterpret_cast<char*>(data.data() + rows * dim), sizeof(T) * dim);
        ++rows;
    }
    return data;
}

double Seconds(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: hnsw_anchor DIR EF[,EF...] [M] [efConstruction]\n");
        return 2;
    }
    const std::string dir = argv[1];
    std::vector<int> efs;
    std::stringstream list(argv[2]);
    for (std::string item; std::getline(list, item, ',');) efs.push_back(std::atoi(item.c_str()));
    const size_t m = argc > 3 ? std::atoi(argv[3]) : 16;
    const size_t efConstruction = argc > 4 ? std::atoi(argv[4]) : 200;
    const size_t k = 10;
    const size_t seed = 42;

    int dim = 0, qdim = 0, tdim = 0;
    size_t n = 0, nq = 0, nt = 0;
    auto base = ReadVecs<float>(dir + "/base.fvecs", dim, n);
    auto queries = ReadVecs<float>(dir + "/query.fvecs", qdim, nq);
    auto truth = ReadVecs<int32_t>(dir + "/groundtruth.ivecs", tdim, nt);
    if (qdim != dim || nt < nq || tdim < static_cast<int>(k)) {
        std::fprintf(stderr, "query.fvecs / groundtruth.ivecs do not match base.fvecs\n");
        return 2;
    }

    hnswlib::L2Space space(dim);
    hnswlib::HierarchicalNSW<float> index(&space, n, m, efConstruction, seed);
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n; ++i) index.addPoint(base.data() + i * dim, i);
    const double build = Seconds(start);

    std::printf("{\"n\": %zu, \"dim\": %d, \"queries\": %zu, \"m\": %zu, \"ef_construction\": %zu, "
                "\"build_seconds\": %.3f, \"inserts_per_second\": %.1f, \"search\": [",
                n, dim, nq, m, efConstruction, build, n / build);
    for (size_t e = 0; e < efs.size(); ++e) {
        index.setEf(efs[e]);
        // Warm the caches and branch predictors for about a second, as the C# side warms its JIT.
        auto warm = std::chrono::steady_clock::now();
        for (size_t i = 0; i < 50 || Seconds(warm) < 1.0; ++i) index.searchKnn(queries.data() + (i % nq) * dim, k);

        // Best of three passes, as benchmarks/AnnComparison.cs times its own.
        std::vector<std::vector<size_t>> found(nq);
        double elapsed = 1e300;
        for (int pass = 0; pass < 3; ++pass) {
            start = std::chrono::steady_clock::now();
            for (size_t q = 0; q < nq; ++q) {
                auto top = index.searchKnn(queries.data() + q * dim, k);
                found[q].clear();
                while (!top.empty()) {
                    found[q].push_back(top.top().second);
                    top.pop();
                }
            }
            elapsed = std::min(elapsed, Seconds(start));
        }

        size_t hits = 0;
        for (size_t q = 0; q < nq; ++q) {
            std::set<int32_t> expected(truth.begin() + q * tdim, truth.begin() + q * tdim + k);
            for (auto label : found[q]) hits += expected.count(static_cast<int32_t>(label));
        }
        std::printf("%s{\"ef\": %d, \"qps\": %.1f, \"recall_at10\": %.4f}", e ? ", " : "", efs[e], nq / elapsed,
                    static_cast<double>(hits) / (k * nq));
    }
    std::printf("]}\n");
    return 0;
}
