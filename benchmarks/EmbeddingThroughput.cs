using System.Diagnostics;
using Agents.Inputs;
using Agents.Engine.Embeddings;
using Agents.Engine.Text;

namespace Agents.Benchmarks;

/// <summary>
/// <c>embed [--seconds 8]</c>: raw ONNX Runtime throughput of the embedding model in this process, the baseline the
/// cluster's end-to-end figures are compared with. For ~15-word sentences and ~200-word paragraphs (the generator of
/// <c>p2p-ai-agents benchmark --document-size</c>, so both sides embed the same kind of text) it times: one session on one
/// thread at batch sizes 1..64 (the per-core rate), then the two ways to use every core, one session per core and one
/// session with an intra-op thread per core. Plain stopwatch runs: each point is seconds of model calls, not the
/// microseconds BenchmarkDotNet is built for.
/// </summary>
public static class EmbeddingThroughput
{
    /// <summary>Runs the measurements; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        var seconds = args is ["--seconds", var s] ? double.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : 8;
        var tokenizer = WordPieceTokenizer.FromMiniLm();
        var model = SentenceEmbedder.ReadMiniLmModel();
        var cores = Environment.ProcessorCount;
        foreach (var (label, bytes) in new[] { ("sentence (~15 words)", 100), ("paragraph (~200 words)", 1200) })
        {
            var texts = Enumerable.Range(0, 512).Select(i => DocumentSource.Generate(i, bytes)).ToArray();
            var tokens = texts.Average(t => Math.Min(SentenceEmbedder.MaxTokens, tokenizer.EncodeIds(t).Length + 2));
            Console.WriteLine($"{label}: {texts.Average(t => t.Split(' ').Length):F0} words, {tokens:F0} tokens on average");
            using (var one = new SentenceEmbedder(tokenizer, model, 1))
            {
                foreach (var batch in new[] { 1, 8, 16, 32, 64 })
                {
                    Console.WriteLine($"  1 session x 1 thread, batch {batch,2}: {Rate([one], texts, batch, seconds),8:F1} embeddings/s");
                }
            }

            var perCore = Enumerable.Range(0, cores).Select(_ => new SentenceEmbedder(tokenizer, model, 1)).ToArray();
            using var wide = new SentenceEmbedder(tokenizer, model, cores);
            foreach (var batch in new[] { 1, 8, 32 })
            {
                Console.WriteLine($"  {cores} sessions x 1 thread, batch {batch,2}: {Rate(perCore, texts, batch, seconds),8:F1} embeddings/s");
                Console.WriteLine($"  1 session x {cores} threads, batch {batch,2}: {Rate([wide], texts, batch, seconds),8:F1} embeddings/s");
            }

            foreach (var session in perCore)
            {
                session.Dispose();
            }
        }

        return 0;
    }

    // Every session embeds batches on its own thread for the given time (after a warm-up batch); the rate is the total.
    private static double Rate(SentenceEmbedder[] sessions, string[] texts, int batch, double seconds)
    {
        var encoded = texts.Select(t => sessions[0].Encode(t)).ToArray();
        foreach (var session in sessions)
        {
            session.Embed(encoded.Take(batch).ToList());
        }

        long done = 0;
        var clock = Stopwatch.StartNew();
        var threads = sessions.Select((session, n) => new Thread(() =>
        {
            var next = n * batch;
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                var slice = Enumerable.Range(next, batch).Select(i => encoded[i % encoded.Length]).ToList();
                session.Embed(slice);
                next += batch * sessions.Length;
                Interlocked.Add(ref done, batch);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return done / clock.Elapsed.TotalSeconds;
    }
}
