using System.Text.Json;
using Agents.Grains.Jobs;
using Microsoft.Extensions.DependencyInjection;
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
    IServiceProvider services,
    ILogger<AgentGrain> logger) : Grain, IAgentGrain
{
    /// <summary>The stream provider that carries topics.</summary>
    public const string StreamProvider = "agents";

    /// <summary>The stream namespace of topics (key: the topic's name).</summary>
    public const string TopicNamespace = "agent-topics";

    private static readonly TimeSpan ObserverLifetime = TimeSpan.FromMinutes(5);

    // An agent registers its capabilities again this often, so a directory that lost its state fills up again.
    private static readonly TimeSpan RegistrationPeriod = TimeSpan.FromSeconds(30);

    // What an ask waits beyond its timeout for the reply's trip, so an unreachable silo still ends the wait.
    private static readonly TimeSpan ReplyGrace = TimeSpan.FromSeconds(2);

    private static readonly AgentHandlerRegistry NoHandlers = new();

    private readonly AgentInbox _inbox = new();
    private readonly Dictionary<IAgentInboxObserver, DateTime> _observers = [];
    private readonly Dictionary<string, StreamSubscriptionHandle<AgentMessage>> _topics = new(StringComparer.Ordinal);
    private readonly LatencyHistogram _latency = new();
    private AgentOutbox? _outbox;
    private long _received;
    private long _sent;

    private AgentHandlerRegistry? _handlers;
    private CapabilityRouter? _router;

    private string Id => this.GetPrimaryKeyString();

    private string SiloName => silo.SiloAddress.ToParsableString();

    private AgentHandlerRegistry Handlers => _handlers ??= services.GetService<AgentHandlerRegistry>() ?? NoHandlers;

    // One router per silo (its in-flight counts are the silo's), or this activation's own when hosting registered none.
    private CapabilityRouter Router => _router ??= services.GetService<CapabilityRouter>() ?? new CapabilityRouter(GrainFactory);

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

        // Registered where it now lives (its silo may have changed), then again now and then; not awaited, so a
        // directory that is itself reactivating does not hold up this activation.
        this.RegisterGrainTimer(RegisterAsync, new GrainTimerCreationOptions(TimeSpan.Zero, RegistrationPeriod) { Interleave = true });
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
        var next = capabilities.Where(c => !string.IsNullOrWhiteSpace(c)).Distinct(StringComparer.Ordinal).ToList();
        foreach (var capability in next)
        {
            AgentRequests.ValidateName(capability, "capability");
        }

        var dropped = state.State.Capabilities.Except(next, StringComparer.Ordinal).ToList();
        state.State.Capabilities = next;
        await state.WriteStateAsync();
        await Task.WhenAll(dropped.Select(c => GrainFactory.GetGrain<ICapabilityDirectoryGrain>(c).RemoveAsync(Id)));
        await RegisterAsync(CancellationToken.None);
    }

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        var capabilities = state.State.Capabilities.ToList();
        try
        {
            await Task.WhenAll(capabilities.Select(async c =>
            {
                await GrainFactory.GetGrain<ICapabilityDirectoryGrain>(c).AddAsync(Id, SiloName);
            }));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRegistrationFailed(logger, Id, e.Message);
        }
    }

    /// <inheritdoc />
    public Task<AgentProfile> GetProfileAsync() =>
        Task.FromResult(new AgentProfile(Id, state.State.Capabilities, _topics.Keys.Order(StringComparer.Ordinal).ToArray(), silo.SiloAddress.ToParsableString()));

    /// <inheritdoc />
    public Task SendAsync(string to, string kind, byte[] body) => Outbox.SendAsync(to, kind, body);

    /// <inheritdoc />
    public Task FlushAsync() => Outbox.FlushAsync();

    /// <inheritdoc />
    public async Task<byte[]> AskAsync(string to, string kind, byte[] body, TimeSpan? timeout = null)
    {
        AgentOutbox.ValidateReceiver(to);
        ArgumentNullException.ThrowIfNull(body);
        var reply = await AskOnceAsync(to, kind, body, AgentRequests.EffectiveTimeout(timeout), Guid.NewGuid());
        _sent++;
        return reply;
    }

    /// <inheritdoc />
    public async Task<byte[]> AskAnyAsync(string capability, string kind, byte[] body, TimeSpan? timeout = null)
    {
        AgentRequests.ValidateName(capability, "capability");
        AgentRequests.ValidateName(kind, "request kind");
        ArgumentNullException.ThrowIfNull(body);
        var limit = AgentRequests.EffectiveTimeout(timeout);
        var id = Guid.NewGuid();
        var lost = new HashSet<string>(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var holders = await Router.HoldersAsync(capability, fresh: lost.Count > 0);
            var holder = Router.Pick(holders, SiloName, lost)
                ?? throw new AgentRequestFailedException("", kind, AgentRequestFailure.NoHandler, null, holders.Length == 0
                    ? $"No agent holds capability '{capability}'."
                    : $"Every holder of capability '{capability}' was lost ({string.Join(", ", lost)}).");
            using (Router.Track(holder.AgentId))
            {
                try
                {
                    var reply = await AskOnceAsync(holder.AgentId, kind, body, limit, id);
                    _sent++;
                    return reply;
                }
                catch (Exception e) when (IsLost(e) && DateTime.UtcNow < deadline)
                {
                    lost.Add(holder.AgentId);
                    LogHolderLost(logger, Id, holder.AgentId, capability, e.Message);
                    // Not awaited: the directory may itself be on the silo that died.
                    _ = Router.ReportLostAsync(capability, holder).ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
                }
            }
        }
    }

    private async Task<byte[]> AskOnceAsync(string to, string kind, byte[] body, TimeSpan timeout, Guid id)
    {
        var request = new AgentRequest(id, Id, to, kind, body, DateTime.UtcNow.Ticks, timeout);
        try
        {
            return await GrainFactory.GetGrain<IAgentGrain>(to).HandleAsync(request).WaitAsync(timeout + ReplyGrace);
        }
        catch (TimeoutException e) when (e is not AgentRequestTimeoutException)
        {
            throw new TimeoutException($"Agent '{to}' did not answer '{kind}' within {timeout.TotalSeconds:0.###} s (no reply reached agent '{Id}').", e);
        }
    }

    // A failure on the way to a holder, not one of its handler: its silo died or left, or no reply came back.
    private static bool IsLost(Exception e) => e switch
    {
        AgentRequestFailedException or AgentRequestTimeoutException => false,
        SiloUnavailableException or OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException or TimeoutException => true,
        OrleansException { InnerException: { } inner } => IsLost(inner),
        _ => false,
    };

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
        return HandleAsync(new AgentRequest(Guid.NewGuid(), request.From, request.To, request.Kind, request.Body, request.SentAtUtcTicks, AgentRequests.DefaultTimeout));
    }

    /// <inheritdoc />
    public async Task<byte[]> HandleAsync(AgentRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        _received++;
        AgentsMetrics.Messages.Add(1);
        _latency.Record(Math.Max(0, DateTime.UtcNow.Ticks - request.SentAtUtcTicks) / (double)TimeSpan.TicksPerMillisecond);
        switch (request.Kind)
        {
            case "echo":
                return request.Body;
            case "capabilities":
                return JsonSerializer.SerializeToUtf8Bytes(state.State.Capabilities);
        }

        var registration = Handlers.Find(request.Kind);
        if (registration is null || !state.State.Capabilities.Contains(registration.Capability))
        {
            var unserved = state.State.Capabilities.Where(c => !Handlers.Capabilities.Contains(c)).ToList();
            throw new AgentRequestFailedException(Id, request.Kind, AgentRequestFailure.NoHandler, null,
                $"Agent '{Id}' has no handler for '{request.Kind}' (it serves: {string.Join(", ", ServedKinds())})" +
                (unserved.Count == 0 ? "." : $"; it lists {string.Join(", ", unserved)}, which silo {SiloName} has no handlers for."));
        }

        var timeout = request.Timeout > TimeSpan.Zero && request.Timeout <= AgentRequests.MaxTimeout ? request.Timeout : AgentRequests.DefaultTimeout;
        using var deadline = new CancellationTokenSource(timeout);
        var bag = new AgentStateBag(state.State.Values, state.WriteStateAsync);
        var context = new AgentContext(Id, state.State.Capabilities.ToList(), request, bag, services, this.AsReference<IAgentGrain>(), deadline.Token);
        Task<byte[]>? run = null;
        try
        {
            run = registration.Handler(context, request.Body);
            var reply = await run.WaitAsync(deadline.Token);
            if (bag.IsDirty)
            {
                await bag.SaveAsync();
            }

            return reply;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            // The handler keeps its token and may still finish; what it throws then is seen here and dropped.
            _ = run?.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
            LogHandlerTimedOut(logger, Id, request.Kind, timeout.TotalMilliseconds);
            throw new AgentRequestTimeoutException(Id, request.Kind, timeout);
        }
        catch (AgentRequestFailedException)
        {
            throw;
        }
        catch (ArgumentException e)
        {
            // The asker's input, refused with a reason: the asker is told; the silo's log needs no stack trace.
            LogHandlerRefused(logger, Id, request.Kind, e.Message);
            throw new AgentRequestFailedException(Id, request.Kind, AgentRequestFailure.HandlerFailed, e.GetType().FullName,
                $"Agent '{Id}' failed '{request.Kind}': {e.GetType().Name}: {e.Message}");
        }
        catch (Exception e)
        {
            LogHandlerFailed(logger, Id, request.Kind, e);
            throw new AgentRequestFailedException(Id, request.Kind, AgentRequestFailure.HandlerFailed, e.GetType().FullName,
                $"Agent '{Id}' failed '{request.Kind}': {e.GetType().Name}: {e.Message}");
        }
    }

    // The kinds this agent answers: its own two, and those whose capability it lists (and its silo has a handler for).
    private IEnumerable<string> ServedKinds() =>
        AgentRequests.BuiltInKinds.Concat(Handlers.Kinds.Where(k => state.State.Capabilities.Contains(Handlers.Find(k)!.Capability)).Order(StringComparer.Ordinal));

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {Agent}: handler of '{Kind}' failed")]
    private static partial void LogHandlerFailed(ILogger logger, string agent, string kind, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {Agent}: handler of '{Kind}' refused its request: {Reason}")]
    private static partial void LogHandlerRefused(ILogger logger, string agent, string kind, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {Agent}: handler of '{Kind}' ran past its {TimeoutMs} ms timeout and was cancelled")]
    private static partial void LogHandlerTimedOut(ILogger logger, string agent, string kind, double timeoutMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {Agent} could not register its capabilities: {Reason}")]
    private static partial void LogRegistrationFailed(ILogger logger, string agent, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {Agent}: holder {Holder} of '{Capability}' was lost ({Reason}); asking another")]
    private static partial void LogHolderLost(ILogger logger, string agent, string holder, string capability, string reason);

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

    /// <summary>The handlers' key/value state (JSON values; see <see cref="AgentStateBag"/>).</summary>
    [Id(2)]
    public Dictionary<string, string> Values { get; set; } = new(StringComparer.Ordinal);
}
