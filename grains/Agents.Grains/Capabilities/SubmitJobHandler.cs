using System.Text;

namespace Agents.Grains.Capabilities;

/// <summary>
/// <c>submit-job</c>: creates and starts a job, stores its documents batch by batch on the silos the job places them
/// on (as the client does), seals it and returns its id; the job then runs on its own.
/// </summary>
public sealed class SubmitJobHandler(IGrainFactory grains)
{
    /// <summary>Documents one request may carry at most; larger inputs go through the client's streaming submit.</summary>
    public const int MaxDocuments = 10_000;

    /// <summary>The payload fields a collection this creates for an e2e job indexes for keyword search (as ingest does).</summary>
    private static readonly string[] IngestTextFields = ["title", "text"];

    /// <summary>Submits the job; returns once its input is stored and sealed.</summary>
    public async Task<SubmitJobReply> HandleAsync(SubmitJobRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        TaskTypes.EnsureRunnable(request.TaskType);
        if (request.Documents is not { Length: > 0 } documents)
        {
            throw new ArgumentException("The submit-job request has no documents: give them in \"documents\" as {\"name\", \"text\"}.");
        }

        if (documents.Length > MaxDocuments)
        {
            throw new ArgumentException($"A submit-job request of {documents.Length} documents is too large: send at most {MaxDocuments}, or submit through the client.");
        }

        for (var i = 0; i < documents.Length; i++)
        {
            if (documents[i] is null || string.IsNullOrWhiteSpace(documents[i].Text))
            {
                throw new ArgumentException($"Document {i} of the submit-job request is empty.");
            }
        }

        if (request.BatchSize < 0)
        {
            throw new ArgumentException($"batchSize must be at least 0 (0: the job's default); got {request.BatchSize}.");
        }

        var distribution = BuiltInCapabilities.ParseDistribution(request.Distribution);
        if (request.TaskType == TaskTypes.Ingest)
        {
            if (string.IsNullOrWhiteSpace(request.Collection))
            {
                throw new ArgumentException("An e2e job needs the collection to upsert into: give it in \"collection\".");
            }

            ShardRouter.ValidateName(request.Collection);
            var collection = grains.GetGrain<IVectorCollectionGrain>(request.Collection);
            if (await collection.GetSpecAsync() is null)
            {
                await collection.CreateAsync(new CollectionSpec(request.Collection, SentenceEmbedder.Dimension, VectorMetric.Cosine, TextFields: IngestTextFields));
            }
        }

        var id = Guid.NewGuid();
        var job = grains.GetGrain<IJobGrain>(id);
        await job.CreateAsync(new JobSpec(request.TaskType, distribution, request.BatchSize, request.Label, request.Collection));
        var status = await job.StartAsync();
        var tasks = documents.Select((d, i) => new JobTask(i, string.IsNullOrWhiteSpace(d.Name) ? $"document-{i}" : d.Name, Encoding.UTF8.GetBytes(d.Text))).ToArray();
        var batches = tasks.Chunk(Math.Max(1, status.BatchSize)).ToArray();
        var silos = await job.PlaceBatchesAsync(0, batches.Length);
        var declared = new JobBatch[batches.Length];
        var stores = new Task[batches.Length];
        for (var i = 0; i < batches.Length; i++)
        {
            declared[i] = new JobBatch(i, silos[i], batches[i][0].Id, batches[i].Length);
            stores[i] = grains.GetGrain<IJobBatchGrain>(JobBatchKey.Of(id, i, silos[i])).StoreAsync(batches[i]);
        }

        await Task.WhenAll(stores);
        await job.AddBatchesAsync(declared);
        await job.SealAsync();
        return new SubmitJobReply(id, tasks.Length);
    }
}
