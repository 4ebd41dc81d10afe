using System.Text.Json;
using System.Text.Json.Nodes;

namespace Agents.Grains.Messaging;

/// <summary>A request handler resolved from the silo's services (registered with <c>Handle&lt;THandler&gt;("kind")</c>).</summary>
/// <typeparam name="TRequest">The request, read from the body's JSON.</typeparam>
/// <typeparam name="TReply">The reply, written back as JSON.</typeparam>
public interface IAgentHandler<TRequest, TReply>
{
    /// <summary>Answers <paramref name="request"/> as the agent in <paramref name="context"/>.</summary>
    Task<TReply> HandleAsync(AgentContext context, TRequest request);
}

/// <summary>
/// What a handler has at hand: the agent's id and capabilities, the request's kind, id and asker, the agent's small
/// persistent <see cref="State"/>, the silo's services, and a token cancelled when the asker's timeout passes.
/// Handlers run on the agent's activation (interleaved with its other requests at awaits, as the agent is reentrant).
/// </summary>
public sealed class AgentContext
{
    internal AgentContext(string agentId, IReadOnlyList<string> capabilities, AgentRequest request, AgentStateBag state,
        IServiceProvider services, IAgentGrain self, CancellationToken cancellationToken)
    {
        AgentId = agentId;
        Capabilities = capabilities;
        Kind = request.Kind;
        RequestId = request.Id;
        From = request.From;
        State = state;
        Services = services;
        Self = self;
        CancellationToken = cancellationToken;
    }

    /// <summary>The agent answering.</summary>
    public string AgentId { get; }

    /// <summary>The capabilities the agent serves.</summary>
    public IReadOnlyList<string> Capabilities { get; }

    /// <summary>The request's kind.</summary>
    public string Kind { get; }

    /// <summary>The request's id: the same on a retry to this agent, so a handler can tell a repeat.</summary>
    public Guid RequestId { get; }

    /// <summary>The asker: an agent's id, or <c>client</c>.</summary>
    public string From { get; }

    /// <summary>The agent's persistent key/value state (JSON values), saved with the agent's grain state.</summary>
    public AgentStateBag State { get; }

    /// <summary>The silo's services.</summary>
    public IServiceProvider Services { get; }

    /// <summary>The agent itself, to ask other agents as it (<see cref="IAgentGrain.AskAsync"/>, <see cref="IAgentGrain.AskAnyAsync"/>) or send one-way.</summary>
    public IAgentGrain Self { get; }

    /// <summary>Cancelled when the asker's timeout passes.</summary>
    public CancellationToken CancellationToken { get; }
}

/// <summary>
/// An agent's small persistent state: string keys to JSON values, kept in the agent's grain state (so in the product's
/// grain storage: PostgreSQL in a cluster). Changes made by a handler are saved when it returns (or at <see cref="SaveAsync"/>).
/// At most <see cref="MaxBytes"/> of JSON in all.
/// </summary>
public sealed class AgentStateBag
{
    /// <summary>The most JSON (UTF-8 bytes, keys included) a bag may hold.</summary>
    public const int MaxBytes = 64 * 1024;

    private readonly Dictionary<string, string> _values;
    private readonly Func<Task> _save;

    internal AgentStateBag(Dictionary<string, string> values, Func<Task> save)
    {
        _values = values;
        _save = save;
    }

    /// <summary>True when something changed since the last save.</summary>
    public bool IsDirty { get; private set; }

    /// <summary>The keys held.</summary>
    public IReadOnlyCollection<string> Keys => _values.Keys;

    /// <summary>The value under <paramref name="key"/>, or default when there is none.</summary>
    public T? Get<T>(string key) => _values.TryGetValue(key, out var json) ? JsonSerializer.Deserialize<T>(json, AgentJson.Options) : default;

    /// <summary>The raw JSON under <paramref name="key"/>, or null.</summary>
    public JsonNode? GetJson(string key) => _values.TryGetValue(key, out var json) ? JsonNode.Parse(json) : null;

    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/>; throws <see cref="InvalidOperationException"/> when the bag would pass <see cref="MaxBytes"/>.</summary>
    public void Set<T>(string key, T value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var json = JsonSerializer.Serialize(value, AgentJson.Options);
        var size = _values.Where(p => p.Key != key).Sum(p => p.Key.Length + p.Value.Length) + key.Length + json.Length;
        if (size > MaxBytes)
        {
            throw new InvalidOperationException($"An agent's state holds at most {MaxBytes / 1024} KB of JSON; setting '{key}' would make it {size / 1024} KB.");
        }

        _values[key] = json;
        IsDirty = true;
    }

    /// <summary>Removes <paramref name="key"/>; true when it was there.</summary>
    public bool Remove(string key)
    {
        var removed = _values.Remove(key);
        IsDirty |= removed;
        return removed;
    }

    /// <summary>Saves the agent's state now.</summary>
    public async Task SaveAsync()
    {
        await _save();
        IsDirty = false;
    }
}

/// <summary>
/// The request handlers of a silo: kind → handler, each kind in one capability (by default a capability of its own,
/// named as the kind). An agent answers a kind when it lists the kind's capability. Built by
/// <c>AddAgentHandlers(a =&gt; a.Handle...)</c> in Agents.Hosting; every silo of a cluster registers the same handlers,
/// as every silo carries the same grain classes.
/// </summary>
public sealed class AgentHandlerRegistry
{
    private readonly Dictionary<string, Registration> _byKind = new(StringComparer.Ordinal);

    /// <summary>A handler: its kind, its capability, and the call that answers a raw body.</summary>
    public sealed record Registration(string Kind, string Capability, Func<AgentContext, byte[], Task<byte[]>> Handler);

    /// <summary>The kinds registered.</summary>
    public IReadOnlyCollection<string> Kinds => _byKind.Keys;

    /// <summary>The capabilities registered.</summary>
    public IEnumerable<string> Capabilities => _byKind.Values.Select(r => r.Capability).Distinct(StringComparer.Ordinal);

    /// <summary>The handler of <paramref name="kind"/>, if any.</summary>
    public Registration? Find(string kind) => _byKind.GetValueOrDefault(kind);

    /// <summary>Registers <paramref name="handler"/> for <paramref name="kind"/> on bodies and replies as raw bytes.</summary>
    public AgentHandlerRegistry HandleRaw(string kind, Func<AgentContext, byte[], Task<byte[]>> handler, string? capability = null)
    {
        AgentRequests.ValidateName(kind, "request kind");
        AgentRequests.ValidateName(capability ?? kind, "capability");
        ArgumentNullException.ThrowIfNull(handler);
        if (AgentRequests.BuiltInKinds.Contains(kind))
        {
            throw new ArgumentException($"'{kind}' is answered by every agent itself; register another kind.", nameof(kind));
        }

        if (!_byKind.TryAdd(kind, new Registration(kind, capability ?? kind, handler)))
        {
            throw new ArgumentException($"A handler for '{kind}' is already registered.", nameof(kind));
        }

        return this;
    }

    /// <summary>Registers <paramref name="handler"/> for <paramref name="kind"/>: the body is the JSON of <typeparamref name="TRequest"/>, the reply that of <typeparamref name="TReply"/>.</summary>
    public AgentHandlerRegistry Handle<TRequest, TReply>(string kind, Func<AgentContext, TRequest, Task<TReply>> handler, string? capability = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return HandleRaw(kind, async (context, body) =>
        {
            TRequest request;
            try
            {
                request = JsonSerializer.Deserialize<TRequest>(body, AgentJson.Options)!;
            }
            catch (JsonException e)
            {
                throw new AgentRequestFailedException(context.AgentId, kind, AgentRequestFailure.BadRequest, typeof(JsonException).FullName,
                    $"Agent '{context.AgentId}' could not read the body of '{kind}' as {typeof(TRequest).Name}: {e.Message}");
            }

            return JsonSerializer.SerializeToUtf8Bytes(await handler(context, request), AgentJson.Options);
        }, capability);
    }

    /// <summary>Registers <typeparamref name="THandler"/> (resolved from the silo's services, or created with them, per request) for <paramref name="kind"/>.</summary>
    public AgentHandlerRegistry Handle<THandler>(string kind, string? capability = null)
        where THandler : class
    {
        var contract = typeof(THandler).GetInterfaces().SingleOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IAgentHandler<,>))
            ?? throw new ArgumentException($"{typeof(THandler).Name} must implement IAgentHandler<TRequest, TReply> once.");
        var method = typeof(AgentHandlerRegistry).GetMethod(nameof(HandleType), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .MakeGenericMethod(typeof(THandler), contract.GenericTypeArguments[0], contract.GenericTypeArguments[1]);
        return (AgentHandlerRegistry)method.Invoke(this, [kind, capability])!;
    }

    private AgentHandlerRegistry HandleType<THandler, TRequest, TReply>(string kind, string? capability)
        where THandler : class, IAgentHandler<TRequest, TReply> =>
        Handle<TRequest, TReply>(kind, (context, request) =>
            Microsoft.Extensions.DependencyInjection.ActivatorUtilities.GetServiceOrCreateInstance<THandler>(context.Services).HandleAsync(context, request), capability);
}
