namespace Agents.Grains.Messaging;

/// <summary>
/// What an agent sends one-way, queued per receiver until delivered. One flusher per receiver delivers in batches of up
/// to <c>message_batch_size</c>, waiting <c>message_flush_interval</c> for a batch to fill, one batch in flight at a time,
/// so a receiver gets this sender's messages in order. Every message is numbered (1, 2, 3... per receiver, under an epoch
/// drawn per outbox), so a receiver drops the repeats of a retried batch. The outbox holds at most
/// <c>message_outbox_limit</c> undelivered messages. Not thread-safe: its grain calls it from its own turns, and its
/// flushers run there too.
/// </summary>
/// <param name="from">The sending agent's id.</param>
/// <param name="performance">The batch size, flush interval and limit.</param>
/// <param name="deliveryTo">How a batch reaches a receiver (its <see cref="IAgentGrain.DeliverAsync"/>).</param>
/// <param name="logger">Where retried deliveries are logged.</param>
public sealed partial class AgentOutbox(
    string from, PerformanceSettings performance, Func<string, Func<AgentMessage[], Task>> deliveryTo, ILogger logger)
{
    private const int DeliveryAttempts = 5;

    private readonly Dictionary<string, Queue<Outgoing>> _queues = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _flushers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _sequence = new(StringComparer.Ordinal);

    /// <summary>The sending activation, drawn at random: a sender that starts again numbers its messages from 1 under a new epoch.</summary>
    public long Epoch { get; } = Random.Shared.NextInt64(1, long.MaxValue);

    /// <summary>Messages queued and not yet handed to a delivery.</summary>
    public int Queued { get; private set; }

    /// <summary>Messages delivered so far.</summary>
    public long Delivered { get; private set; }

    /// <summary>Deliveries (batches) made so far.</summary>
    public long Batches { get; private set; }

    /// <summary>True when the outbox holds <c>message_outbox_limit</c> undelivered messages.</summary>
    public bool IsFull => Queued >= performance.MessageOutboxLimit;

    private int BatchSize => performance.MessageBatchSize;

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="to"/> is a valid agent id (1-256 characters).</summary>
    public static void ValidateReceiver(string to)
    {
        if (string.IsNullOrWhiteSpace(to) || to.Length > 256)
        {
            throw new ArgumentException($"An agent id must be 1-256 characters; got '{to}'.");
        }
    }

    /// <summary>A message from this sender to <paramref name="to"/> (an agent or <c>topic:NAME</c>), with the next sequence number for it.</summary>
    public AgentMessage Stamp(string to, string kind, byte[] body)
    {
        var sequence = _sequence[to] = _sequence.GetValueOrDefault(to) + 1;
        return new AgentMessage(from, to, sequence, kind, body, DateTime.UtcNow.Ticks, Epoch);
    }

    /// <summary>
    /// Queues a message for <paramref name="to"/>; the task completes once the receiver has it. Throws
    /// <see cref="OverloadedException"/>, having queued nothing, when the outbox is full.
    /// </summary>
    public Task SendAsync(string to, string kind, byte[] body)
    {
        if (IsFull)
        {
            throw new OverloadedException(
                $"Agent '{from}' holds {Queued:N0} undelivered messages (performance.message_outbox_limit {performance.MessageOutboxLimit:N0}): its receivers are not keeping up; retry later.");
        }

        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(to, kind, body, delivered);
        return delivered.Task;
    }

    /// <summary>Queues a message for <paramref name="to"/> with no acknowledgement, whether or not the outbox is full.</summary>
    public void Post(string to, string kind, byte[] body) => Enqueue(to, kind, body, delivered: null);

    /// <summary>Waits for the deliveries under way now (a full outbox has room after them).</summary>
    public Task DeliveringAsync() => Task.WhenAll(_flushers.Values.ToList());

    /// <summary>Delivers everything queued and waits until the receivers have it.</summary>
    public async Task FlushAsync()
    {
        while (_flushers.Count > 0 || _queues.Values.Any(q => q.Count > 0))
        {
            foreach (var (to, queue) in _queues)
            {
                if (queue.Count > 0)
                {
                    Kick(to, now: true);
                }
            }

            await Task.WhenAll(_flushers.Values.ToList());
        }
    }

    private void Enqueue(string to, string kind, byte[] body, TaskCompletionSource? delivered)
    {
        ValidateReceiver(to);
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(body);
        if (!_queues.TryGetValue(to, out var queue))
        {
            _queues[to] = queue = new Queue<Outgoing>();
        }

        queue.Enqueue(new Outgoing(Stamp(to, kind, body), delivered));
        Queued++;
        Kick(to, now: queue.Count >= BatchSize);
    }

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
            var queue = _queues[to];
            if (!now)
            {
                // Let the rest of this turn queue first (a burst fills its batches and goes at once), then wait for more.
                await Task.Yield();
                if (queue.Count < BatchSize && performance.MessageFlushInterval > TimeSpan.Zero)
                {
                    await Task.Delay(performance.MessageFlushInterval);
                }
            }

            var deliver = deliveryTo(to);
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

                Queued -= batch.Length;
                try
                {
                    await DeliverWithRetryAsync(deliver, to, batch);
                }
                catch (Exception e)
                {
                    // The senders hear of it; the batch is gone, as they were not told it arrived.
                    acks.ForEach(a => a.TrySetException(e));
                    throw;
                }

                acks.ForEach(a => a.TrySetResult());
                Delivered += batch.Length;
                Batches++;
            }
        }
        finally
        {
            _flushers.Remove(to);
        }
    }

    private async Task DeliverWithRetryAsync(Func<AgentMessage[], Task> deliver, string to, AgentMessage[] batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await deliver(batch);
                return;
            }
            catch (Exception e) when (attempt < DeliveryAttempts && e is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException)
            {
                // The receiver's silo went away: it reactivates elsewhere on the next attempt; sequence numbers drop repeats.
                LogRetry(logger, from, to, attempt, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {Agent}: delivery to {Peer} failed (attempt {Attempt}): {Reason}; retrying")]
    private static partial void LogRetry(ILogger logger, string agent, string peer, int attempt, string reason);

    /// <summary>A queued message and, for a caller's send, the promise to tell it of delivery.</summary>
    private readonly record struct Outgoing(AgentMessage Message, TaskCompletionSource? Delivered);
}
