using System.Diagnostics;

namespace Agents.Grains.Messaging;

/// <summary>
/// The messaging benchmark's driver for one agent, on that agent's silo (the silo its key names). One-way bursts go
/// through an <see cref="AgentOutbox"/> sending as the agent, to the receivers' <see cref="IAgentGrain.DeliverAsync"/>,
/// exactly as the agent's own outbox would send them; request/replies call the receivers' <see cref="IAgentGrain.AnswerAsync"/>.
/// Reentrant, so the raw baseline's pings run as many at once as they arrive.
/// </summary>
[Reentrant, Placement.SiloTargetedPlacement]
public sealed class AgentBenchmarkGrain(PerformanceSettings performance, ILogger<AgentBenchmarkGrain> logger) : Grain, IAgentBenchmarkGrain
{
    private readonly Dictionary<string, string> _receiverSilos = new(StringComparer.Ordinal);
    private AgentOutbox? _outbox;

    private string Agent => AgentBenchmarkKey.AgentOf(this.GetPrimaryKeyString());

    private AgentOutbox Outbox => _outbox ??= new AgentOutbox(Agent, performance, to => GrainFactory.GetGrain<IAgentGrain>(to).DeliverAsync, logger);

    /// <inheritdoc />
    public async Task<long> SendBurstAsync(string to, int count, int bodyBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var before = Outbox.Batches;
        var body = new byte[bodyBytes];
        for (var i = 0; i < count; i++)
        {
            if (Outbox.IsFull)
            {
                await Outbox.DeliveringAsync();
            }

            Outbox.Post(to, "bench", body);
        }

        await Outbox.FlushAsync();
        return Outbox.Batches - before;
    }

    /// <inheritdoc />
    public async Task<float[]> AskBurstAsync(string to, int count, int bodyBytes, int inFlight, bool raw)
    {
        AgentOutbox.ValidateReceiver(to);
        var from = Agent;
        var peer = GrainFactory.GetGrain<IAgentGrain>(to);
        var pinged = raw ? GrainFactory.GetGrain<IAgentBenchmarkGrain>(AgentBenchmarkKey.Of(await ReceiverSiloAsync(to), to)) : null;
        var body = new byte[bodyBytes];
        var latencies = new float[count];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Math.Clamp(inFlight, 1, 1024)).Select(async worker =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var started = Stopwatch.GetTimestamp();
                _ = pinged is not null ? await pinged.PingAsync(body) : await peer.AnswerAsync(new AgentMessage(from, to, 0, "echo", body, DateTime.UtcNow.Ticks));
                latencies[i] = (float)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }));
        return latencies;
    }

    /// <inheritdoc />
    public Task<byte[]> PingAsync(byte[] body) => Task.FromResult(body);

    // The raw baseline calls between the same two silos as the request/replies: the receiver's silo is asked once.
    private async Task<string> ReceiverSiloAsync(string to)
    {
        if (!_receiverSilos.TryGetValue(to, out var silo))
        {
            _receiverSilos[to] = silo = (await GrainFactory.GetGrain<IAgentGrain>(to).GetProfileAsync()).Silo;
        }

        return silo;
    }
}
