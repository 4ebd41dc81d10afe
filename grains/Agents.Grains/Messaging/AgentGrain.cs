using System.Text.Json;
using Agents.Grains.Jobs;
using Orleans.Streams;

namespace Agents.Grains.Messaging;

/// <summary>
/// An agent. One-way sends wait in its <see cref="AgentOutbox"/>, delivered in batches in order per receiver, and are
/// acknowledged when the receiver has them; what arrives waits in its <see cref="AgentInbox"/> and goes to watching
/// observers; topics arrive over an Orleans stream. A deactivating agent delivers what it holds first (a silo's graceful
/// shutdown drains its agents). Reentrant, so an agent waiting on an ask still takes deliveries. Placed by rendezvous
/// hashing of its id: spread like random placement (Orleans 10's default put a burst of new agents all on one silo),
/// and never activated twice when a silo's death loses its directory entry (<see cref="Placement.RendezvousPlacement"/>).
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

    private static readonly TimeSpan ObserverLifetime = TimeSpan.FromMinutes(5);

    private readonly AgentInbox _inbox = new();
    private readonly Dictionary<IAgentInboxObserver, DateTime> _observers = [];
    private readonly Dictionary<string, StreamSubscriptionHandle<AgentMessage>> _topics = new(StringComparer.Ordinal);
    private readonly LatencyHistogram _latency = new();
    private AgentOutbox? _outbox;
    private long _received;
    private long _sent;

    private string Id => this.GetPrimaryKeyString();

    private AgentOutbox Outbox => _outbox ??= new AgentOutbox(Id, performance, to => GrainFactory.GetGrain<IAgentGrain>(to).DeliverAsync, logger);

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
            await Outbox.FlushAsync().WaitAsync(cancellationToken);
        }
        catch (Exception e)
        {
            LogUndelivered(logger, Id, Outbox.Queued, e.Message);
        }

        // Unread messages were acknowledged to their senders: when this activation goes while the agent lives on (a
        // duplicate made while the cluster's view changed, a silo shutting down), they go to the one that carries on.
        // The call is one-way and queued behind this deactivation, so it reaches the registered or next activation.
        if (_inbox.Count > 0 && reason.ReasonCode is DeactivationReasonCode.DuplicateActivation or DeactivationReasonCode.ShuttingDown
                or DeactivationReasonCode.Migrating or DeactivationReasonCode.DirectoryFailure)
        {
            LogHandOver(logger, Id, _inbox.Count, reason.ReasonCode.ToString());
            _ = this.AsReference<IAgentGrain>().TakeOverInboxAsync(_inbox.Take(_inbox.Count));
        }
    }

    /// <inheritdoc />
    public Task TakeOverInboxAsync(AgentMessage[] messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        // Counted as received where they first arrived; here they only join the inbox, oldest kept first.
        _inbox.TakeOver(messages);
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
    public Task SendAsync(string to, string kind, byte[] body) => Outbox.SendAsync(to, kind, body);

    /// <inheritdoc />
    public Task FlushAsync() => Outbox.FlushAsync();

    /// <inheritdoc />
    public async Task<byte[]> AskAsync(string to, string kind, byte[] body)
    {
        AgentOutbox.ValidateReceiver(to);
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
        var fresh = _inbox.DropRepeats(messages);
        foreach (var message in fresh)
        {
            RecordLatency(message, now);
        }

        Receive(fresh);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<byte[]> AnswerAsync(AgentMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        _received++;
        AgentsMetrics.Messages.Add(1);
        RecordLatency(request, DateTime.UtcNow.Ticks);
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
        return Task.FromResult(_inbox.Take(max));
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
        var stream = this.GetStreamProvider(StreamProvider).GetStream<AgentMessage>(StreamId.Create(TopicNamespace, topic));
        await stream.OnNextAsync(Outbox.Stamp($"topic:{topic}", kind, body));
        _sent++;
    }

    /// <inheritdoc />
    public Task<AgentStats> GetStatsAsync() => Task.FromResult(new AgentStats(
        _received, _sent + Outbox.Delivered, Outbox.Batches, _inbox.Count,
        _latency.Quantile(0.50), _latency.Quantile(0.95), _latency.Quantile(0.99), _inbox.Dropped, _latency.Encode()));

    private void RecordLatency(AgentMessage message, long nowTicks) =>
        _latency.Record(Math.Max(0, nowTicks - message.SentAtUtcTicks) / (double)TimeSpan.TicksPerMillisecond);

    private Task OnTopicMessageAsync(AgentMessage message, StreamSequenceToken? token)
    {
        // Our own broadcasts come back too; an agent that publishes does not hear itself.
        if (message.From != Id)
        {
            RecordLatency(message, DateTime.UtcNow.Ticks);
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
        _inbox.Add(messages);
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
