using System.Diagnostics;
using System.Text.Json;
using Agents.Engine;
using Agents.Grains.Jobs;
using Orleans.Streams;

namespace Agents.Grains.Messaging;

/// <summary>
/// An agent. One-way sends wait in a per-receiver outbox; one flusher per receiver delivers them in batches of up to
/// <c>message_batch_size</c>, waiting <c>message_flush_interval</c> for a batch to fill, one batch in flight at a time,
/// so a receiver gets each sender's messages in order. Receivers drop repeats by sequence number (a retried batch).
/// A send is acknowledged when the receiver has the message; the outbox is bounded (<c>message_outbox_limit</c>), and a
/// deactivating agent delivers what it holds first (a silo's graceful shutdown drains its agents).
/// Reentrant, so an agent waiting on an ask still takes deliveries. Placed by rendezvous hashing of its id: spread like
/// random placement (Orleans 10's default put a burst of new agents all on one silo), and never activated twice when a
/// silo's death loses its directory entry (<see cref="Placement.RendezvousPlacement"/>).
/// </summary>
[Reentrant, Placement.RendezvousPlacement]
public sealed partial class AgentGrain(
    [PersistentState("agent", JobStorage.Name)] IPersistentState<AgentState> state,
    PerformanceSettings performance,
    ILocalSiloDetails silo,
    ILogger<AgentGrain> logger) : Grain, IAgentGrain
{
    /// <summary>The stream provider that carries topics.</summary>
    public const string StreamProvider = "agents";

    /// <summary>The stream namespace of topics (key: the topic's name).</summary>
    public const string TopicNamespace = "agent-topics";

    /// <summary>Messages an inbox keeps; older ones are dropped (and counted) when nobody reads it.</summary>
    public const int InboxLimit = 100_000;


    private const int DeliveryAttempts = 5;
    private static readonly TimeSpan ObserverLifetime = TimeSpan.FromMinutes(5);

    private readonly Dictionary<string, Queue<Outgoing>> _outbox = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _flushers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _sentSequence = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Epoch, long Sequence)> _receivedSequence = new(StringComparer.Ordinal);
    private readonly long _epoch = Random.Shared.NextInt64(1, long.MaxValue);
    private readonly Queue<AgentMessage> _inbox = new();
    private readonly Dictionary<IAgentInboxObserver, DateTime> _observers = [];
    private readonly Dictionary<string, StreamSubscriptionHandle<AgentMessage>> _topics = new(StringComparer.Ordinal);
    private readonly long[] _latency = LatencyHistogram.Create();
    private long _received;
    private long _sent;
    private long _batches;
    private long _dropped;
    private int _queued;

    private string Id => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Topic subscriptions outlive activations (PubSubStore keeps them): take up those of the topics this agent joined.
        var provider = this.GetStreamProvider(StreamProvider);
        foreach (var topic in state.State.Topics)
        {
            var stream = provider.GetStream<AgentMessage>(StreamId.Create(TopicNamespace, topic));
            foreach (var handle in await stream.GetAllSubscriptionHandles())
            {
                _topics[topic] = await handle.ResumeAsync(OnTopicMessageAsync);
            }
        }
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Graceful shutdown or idle collection: what was queued is delivered before the activation goes.
        try
        {
            await FlushAsync().WaitAsync(cancellationToken);
        }
        catch (Exception e)
        {
            LogUndelivered(logger, Id, _queued, e.Message);
        }

        // Unread messages were acknowledged to their senders: when this activation goes while the agent lives on (a
        // duplicate made while the cluster's view changed, a silo shutting down), they go to the one that carries on.
        // The call is one-way and queued behind this deactivation, so it reaches the registered or next activation.
        if (_inbox.Count > 0 && reason.ReasonCode is DeactivationReasonCode.DuplicateActivation or DeactivationReasonCode.ShuttingDown
                or DeactivationReasonCode.Migrating or DeactivationReasonCode.DirectoryFailure)
        {
            LogHandOver(logger, Id, _inbox.Count, reason.ReasonCode.ToString());
            _ = this.AsReference<IAgentGrain>().TakeOverInboxAsync(_inbox.ToArray());
            _inbox.Clear();
        }
    }

    /// <inheritdoc />
    public Task TakeOverInboxAsync(AgentMessage[] messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        // Counted as received where they first arrived; here they only join the inbox, oldest kept first.
        var newer = _inbox.ToArray();
        _inbox.Clear();
        foreach (var message in messages.Concat(newer).TakeLast(InboxLimit))
        {
            _inbox.Enqueue(message);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task SetCapabilitiesAsync(string[] capabilities)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        state.State.Capabilities = capabilities.Where(c => !string.IsNullOrWhiteSpace(c)).Distinct(StringComparer.Ordinal).ToList();
        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public Task<AgentProfile> GetProfileAsync() =>
        Task.FromResult(new AgentProfile(Id, state.State.Capabilities, _topics.Keys.Order(StringComparer.Ordinal).ToArray(), silo.SiloAddress.ToParsableString()));

    /// <inheritdoc />
    public Task SendAsync(string to, string kind, byte[] body)
    {
        if (_queued >= performance.MessageOutboxLimit)
        {
            throw new OverloadedException(
                $"Agent '{Id}' holds {_queued:N0} undelivered messages (performance.message_outbox_limit {performance.MessageOutboxLimit:N0}): its receivers are not keeping up; retry later.");
        }

        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(to, kind, body, delivered);
        return delivered.Task;
    }

    /// <inheritdoc />
    public async Task FlushAsync()
    {
        while (_flushers.Count > 0 || _outbox.Values.Any(q => q.Count > 0))
        {
            foreach (var (to, queue) in _outbox)
            {
                if (queue.Count > 0)
                {
                    Kick(to, now: true);
                }
            }

            await Task.WhenAll(_flushers.Values.ToList());
        }
    }

    /// <inheritdoc />
    public async Task<byte[]> AskAsync(string to, string kind, byte[] body)
    {
        ValidateTarget(to);
        ArgumentNullException.ThrowIfNull(body);
        var request = new AgentMessage(Id, to, 0, kind, body, DateTime.UtcNow.Ticks);
        var reply = await GrainFactory.GetGrain<IAgentGrain>(to).AnswerAsync(request);
        _sent++;
        return reply;
    }

    /// <inheritdoc />
    public Task DeliverAsync(AgentMessage[] messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var now = DateTime.UtcNow.Ticks;
        var accepted = new List<AgentMessage>(messages.Length);
        foreach (var message in messages)
        {
            // A batch retried after a lost reply arrives again: keep each sequence number of a sender's activation once.
            if (_receivedSequence.TryGetValue(message.From, out var last) && last.Epoch == message.Epoch && message.Sequence <= last.Sequence)
            {
                continue;
            }

            _receivedSequence[message.From] = (message.Epoch, message.Sequence);
            accepted.Add(message);
            LatencyHistogram.Record(_latency, Math.Max(0, now - message.SentAtUtcTicks) / (double)TimeSpan.TicksPerMillisecond);
        }

        Receive(accepted);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<byte[]> AnswerAsync(AgentMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        _received++;
        AgentsMetrics.Messages.Add(1);
        LatencyHistogram.Record(_latency, Math.Max(0, DateTime.UtcNow.Ticks - request.SentAtUtcTicks) / (double)TimeSpan.TicksPerMillisecond);
        return request.Kind switch
        {
            "echo" => Task.FromResult(request.Body),
            "capabilities" => Task.FromResult(JsonSerializer.SerializeToUtf8Bytes(state.State.Capabilities)),
            _ => throw new NotSupportedException(
                $"Agent '{Id}' answers requests of kind 'echo' and 'capabilities'; '{request.Kind}' has no handler here. Send it one-way instead."),
        };
    }

    /// <inheritdoc />
    public Task<AgentMessage[]> ReadInboxAsync(int max = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var taken = new AgentMessage[Math.Min(max, _inbox.Count)];
        for (var i = 0; i < taken.Length; i++)
        {
            taken[i] = _inbox.Dequeue();
        }

        return Task.FromResult(taken);
    }

    /// <inheritdoc />
    public Task SubscribeAsync(IAgentInboxObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        _observers[observer] = DateTime.UtcNow + ObserverLifetime;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task UnsubscribeAsync(IAgentInboxObserver observer)
    {
        _observers.Remove(observer);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task JoinTopicAsync(string topic)
    {
        ValidateTopic(topic);
        if (_topics.ContainsKey(topic))
        {
            return;
        }

        var stream = this.GetStreamProvider(StreamProvider).GetStream<AgentMessage>(StreamId.Create(TopicNamespace, topic));
        _topics[topic] = await stream.SubscribeAsync(OnTopicMessageAsync);
        state.State.Topics.Add(topic);
        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public async Task LeaveTopicAsync(string topic)
    {
        if (_topics.Remove(topic, out var handle))
        {
            await handle.UnsubscribeAsync();
            state.State.Topics.Remove(topic);
            await state.WriteStateAsync();
        }
    }

    /// <inheritdoc />
    public async Task PublishAsync(string topic, string kind, byte[] body)
    {
        ValidateTopic(topic);
        ArgumentNullException.ThrowIfNull(body);
        var target = $"topic:{topic}";
        var sequence = _sentSequence[target] = _sentSequence.GetValueOrDefault(target) + 1;
        var stream = this.GetStreamProvider(StreamProvider).GetStream<AgentMessage>(StreamId.Create(TopicNamespace, topic));
        await stream.OnNextAsync(new AgentMessage(Id, target, sequence, kind, body, DateTime.UtcNow.Ticks, _epoch));
        _sent++;
    }

    /// <inheritdoc />
    public Task<AgentStats> GetStatsAsync() => Task.FromResult(new AgentStats(
        _received, _sent, _batches, _inbox.Count,
        LatencyHistogram.Quantile(_latency, 0.50), LatencyHistogram.Quantile(_latency, 0.95), LatencyHistogram.Quantile(_latency, 0.99), _dropped));

    /// <inheritdoc />
    public async Task SendBurstAsync(string to, int count, int bodyBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var body = new byte[bodyBytes];
        for (var i = 0; i < count; i++)
        {
            if (_queued >= performance.MessageOutboxLimit)
            {
                await Task.WhenAll(_flushers.Values.ToList());
            }

            Enqueue(to, "bench", body, delivered: null);
        }

        await FlushAsync();
    }

    /// <inheritdoc />
    public async Task<float[]> AskBurstAsync(string to, int count, int bodyBytes, int inFlight, bool raw)
    {
        ValidateTarget(to);
        var peer = GrainFactory.GetGrain<IAgentGrain>(to);
        var body = new byte[bodyBytes];
        var latencies = new float[count];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Math.Clamp(inFlight, 1, 1024)).Select(async worker =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var started = Stopwatch.GetTimestamp();
                _ = raw ? await peer.PingAsync(body) : await peer.AnswerAsync(new AgentMessage(Id, to, 0, "echo", body, DateTime.UtcNow.Ticks));
                latencies[i] = (float)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }));
        _sent += raw ? 0 : count;
        return latencies;
    }

    /// <inheritdoc />
    public Task<byte[]> PingAsync(byte[] body) => Task.FromResult(body);

    private void Enqueue(string to, string kind, byte[] body, TaskCompletionSource? delivered)
    {
        ValidateTarget(to);
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(body);
        if (!_outbox.TryGetValue(to, out var queue))
        {
            _outbox[to] = queue = new Queue<Outgoing>();
        }

        var sequence = _sentSequence[to] = _sentSequence.GetValueOrDefault(to) + 1;
        queue.Enqueue(new Outgoing(new AgentMessage(Id, to, sequence, kind, body, DateTime.UtcNow.Ticks, _epoch), delivered));
        _queued++;
        Kick(to, now: queue.Count >= BatchSize);
    }

    private int BatchSize => performance.MessageBatchSize;

    /// <summary>Starts the receiver's flusher unless one is running (it takes whatever is queued when it gets there).</summary>
    private void Kick(string to, bool now)
    {
        if (!_flushers.ContainsKey(to))
        {
            _flushers[to] = FlushLoopAsync(to, now);
        }
    }

    private async Task FlushLoopAsync(string to, bool now)
    {
        try
        {
            var queue = _outbox[to];
            if (!now)
            {
                // Let the rest of this turn queue first (a burst fills its batches and goes at once), then wait for more.
                await Task.Yield();
                if (queue.Count < BatchSize && performance.MessageFlushInterval > TimeSpan.Zero)
                {
                    await Task.Delay(performance.MessageFlushInterval);
                }
            }

            var peer = GrainFactory.GetGrain<IAgentGrain>(to);
            while (queue.Count > 0)
            {
                var batch = new AgentMessage[Math.Min(queue.Count, BatchSize)];
                var acks = new List<TaskCompletionSource>();
                for (var i = 0; i < batch.Length; i++)
                {
                    var outgoing = queue.Dequeue();
                    batch[i] = outgoing.Message;
                    if (outgoing.Delivered is { } ack)
                    {
                        acks.Add(ack);
                    }
                }

                _queued -= batch.Length;
                try
                {
                    await DeliverWithRetryAsync(peer, to, batch);
                }
                catch (Exception e)
                {
                    // The senders hear of it; the batch is gone, as they were not told it arrived.
                    acks.ForEach(a => a.TrySetException(e));
                    throw;
                }

                acks.ForEach(a => a.TrySetResult());
                _sent += batch.Length;
                _batches++;
            }
        }
        finally
        {
            _flushers.Remove(to);
        }
    }

    private async Task DeliverWithRetryAsync(IAgentGrain peer, string to, AgentMessage[] batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await peer.DeliverAsync(batch);
                return;
            }
            catch (Exception e) when (attempt < DeliveryAttempts && e is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException)
            {
                // The receiver's silo went away: it reactivates elsewhere on the next attempt; sequence numbers drop repeats.
                LogRetry(logger, Id, to, attempt, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt));
            }
        }
    }

    private Task OnTopicMessageAsync(AgentMessage message, StreamSequenceToken? token)
    {
        // Our own broadcasts come back too; an agent that publishes does not hear itself.
        if (message.From != Id)
        {
            LatencyHistogram.Record(_latency, Math.Max(0, DateTime.UtcNow.Ticks - message.SentAtUtcTicks) / (double)TimeSpan.TicksPerMillisecond);
            Receive([message]);
        }

        return Task.CompletedTask;
    }

    private void Receive(List<AgentMessage> messages)
    {
        if (messages.Count == 0)
        {
            return;
        }

        _received += messages.Count;
        AgentsMetrics.Messages.Add(messages.Count);
        foreach (var message in messages)
        {
            _inbox.Enqueue(message);
        }

        while (_inbox.Count > InboxLimit)
        {
            _inbox.Dequeue();
            _dropped++;
        }

        if (_observers.Count > 0)
        {
            var array = messages.ToArray();
            var now = DateTime.UtcNow;
            foreach (var (observer, expires) in _observers.ToList())
            {
                if (expires < now)
                {
                    _observers.Remove(observer);
                    continue;
                }

                observer.OnMessages(array);
            }
        }
    }

    private void ValidateTarget(string to)
    {
        if (string.IsNullOrWhiteSpace(to) || to.Length > 256)
        {
            throw new ArgumentException($"An agent id must be 1-256 characters; got '{to}'.");
        }
    }

    private static void ValidateTopic(string topic)
    {
        if (string.IsNullOrWhiteSpace(topic) || topic.Length > 256)
        {
            throw new ArgumentException($"A topic must be 1-256 characters; got '{topic}'.");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {Agent}: handing {Count} unread messages to the activation that carries on ({Reason})")]
    private static partial void LogHandOver(ILogger logger, string agent, int count, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {Agent} deactivated with {Count} messages undelivered: {Reason}")]
    private static partial void LogUndelivered(ILogger logger, string agent, int count, string reason);

    /// <summary>A queued message and, for a caller's send, the promise to tell it of delivery.</summary>
    private readonly record struct Outgoing(AgentMessage Message, TaskCompletionSource? Delivered);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {Agent}: delivery to {Peer} failed (attempt {Attempt}): {Reason}; retrying")]
    private static partial void LogRetry(ILogger logger, string agent, string peer, int attempt, string reason);
}

/// <summary>What an agent keeps across activations: its capabilities and the topics it joined.</summary>
[GenerateSerializer]
public sealed class AgentState
{
    /// <summary>What the agent can do.</summary>
    [Id(0)]
    public List<string> Capabilities { get; set; } = [];

    /// <summary>Topics whose stream subscriptions the agent resumes on activation.</summary>
    [Id(1)]
    public HashSet<string> Topics { get; set; } = new(StringComparer.Ordinal);
}
