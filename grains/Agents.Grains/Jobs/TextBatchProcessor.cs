using System.Diagnostics;

namespace Agents.Engine.Text;

/// <summary>Runs a batch of text-processing tasks through the pipeline and the document cache, and sums what they found.</summary>
public sealed class TextBatchProcessor(TextPipeline pipeline, DocumentCache cache)
{
    private const int KeywordsPerDocument = 5;
    private const int KeywordsPerBatch = 20;

    /// <summary>The pipeline in use.</summary>
    public TextPipeline Pipeline => pipeline;

    /// <summary>The silo's document cache.</summary>
    public DocumentCache Cache => cache;

    /// <summary>
    /// Processes every task of <paramref name="work"/>; a rejected document becomes a failure, never an exception.
    /// Each accepted document is added to <paramref name="documents"/> when given, with the index of its task.
    /// </summary>
    public BatchResult Process(BatchWork work, string silo, int capacity, List<(int Task, ProcessedDocument Document)>? documents = null)
    {
        var started = Stopwatch.GetTimestamp();
        var totals = TextTotals.Zero;
        var failures = new List<TaskFailure>();
        var keywords = new Dictionary<string, int>(StringComparer.Ordinal);
        var millis = new float[work.Tasks.Length];
        long idSum = 0;
        var succeeded = 0;
        for (var i = 0; i < work.Tasks.Length; i++)
        {
            var task = work.Tasks[i];
            var t0 = Stopwatch.GetTimestamp();
            idSum += task.Id;
            try
            {
                var (document, hit) = ProcessOne(task.Content);
                documents?.Add((i, document));
                var s = document.Statistics;
                totals = totals.Add(new TextTotals(s.Characters, s.Words, s.Sentences, s.Tokens, s.Chunks, hit ? 1 : 0));
                foreach (var keyword in document.Keywords.Take(KeywordsPerDocument))
                {
                    keywords[keyword.Term] = keywords.GetValueOrDefault(keyword.Term) + 1;
                }

                succeeded++;
            }
            catch (DocumentRejectedException e)
            {
                failures.Add(new TaskFailure(task.Id, task.Name, e.Message));
            }

            millis[i] = (float)Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }

        var top = keywords
            .OrderByDescending(k => k.Value).ThenBy(k => k.Key, StringComparer.Ordinal)
            .Take(KeywordsPerBatch)
            .Select(k => new KeywordCount(k.Key, k.Value))
            .ToArray();
        return new BatchResult(
            work.BatchIndex, silo, capacity, succeeded, totals, [.. failures], top, millis, idSum,
            Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    private (ProcessedDocument Document, bool CacheHit) ProcessOne(byte[] content)
    {
        var hash = TextPipeline.ContentHash(content);
        if (cache.TryGet(hash, out var cached) && cached is not null)
        {
            return (cached, true);
        }

        var document = pipeline.Process(content, hash);
        cache.Add(hash, document);
        return (document, false);
    }
}
