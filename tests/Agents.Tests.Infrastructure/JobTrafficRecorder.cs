using System.Collections.Concurrent;
using Orleans.Serialization;

namespace Agents.Tests.Infrastructure;

/// <summary>
/// An incoming call filter on the test silos that records, per job, the serialized bytes of every call the job grain
/// takes, and the document bytes its batches take and where: the test of the job's data plane reads it.
/// </summary>
public sealed class JobTrafficRecorder(Serializer serializer, ILocalSiloDetails silo) : IIncomingGrainCallFilter
{
    /// <summary>What one job was sent.</summary>
    public sealed class Traffic
    {
        private long _jobGrainBytes;
        private long _documentBytes;
        private int _batchesOnTheirSilo;
        private int _batchesElsewhere;

        public long JobGrainBytes => Interlocked.Read(ref _jobGrainBytes);

        public long DocumentBytes => Interlocked.Read(ref _documentBytes);

        public int BatchesOnTheirSilo => Volatile.Read(ref _batchesOnTheirSilo);

        public int BatchesElsewhere => Volatile.Read(ref _batchesElsewhere);

        internal void JobCall(long bytes) => Interlocked.Add(ref _jobGrainBytes, bytes);

        internal void Stored(long bytes, bool onItsSilo)
        {
            Interlocked.Add(ref _documentBytes, bytes);
            Interlocked.Increment(ref onItsSilo ? ref _batchesOnTheirSilo : ref _batchesElsewhere);
        }
    }

    private static readonly ConcurrentDictionary<Guid, Traffic> Jobs = new();

    /// <summary>The traffic of <paramref name="jobId"/> so far.</summary>
    public static Traffic Of(Guid jobId) => Jobs.GetOrAdd(jobId, _ => new Traffic());

    /// <inheritdoc />
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.TargetContext.GrainInstance is IJobGrain)
        {
            long bytes = 0;
            for (var i = 0; i < context.Request.GetArgumentCount(); i++)
            {
                bytes += serializer.SerializeToArray(context.Request.GetArgument(i)).Length;
            }

            Of(context.TargetId.GetGuidKey()).JobCall(bytes);
        }
        else if (context.TargetContext.GrainInstance is IJobBatchGrain && context.Request.GetArgument(0) is JobTask[] tasks)
        {
            var key = context.TargetId.Key.ToString()!;
            var (jobId, _) = JobBatchKey.Parse(key);
            Of(jobId).Stored(tasks.Sum(t => (long)t.Content.Length), key.StartsWith(silo.SiloAddress.ToParsableString() + "/", StringComparison.Ordinal));
        }

        await context.Invoke();
    }
}
