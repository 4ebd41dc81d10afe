using System.Text.Json;
using Agents.Grains.Messaging;
using Microsoft.Extensions.DependencyInjection;

namespace Agents.Grains.Capabilities;

/// <summary>
/// Registers the built-in capabilities (<see cref="BuiltInCapabilities"/>) in a silo's handler registry. Bodies are read
/// and written as camelCase JSON (<see cref="BuiltInCapabilities.Json"/>, case-insensitive on read); a body that is not
/// the request's JSON is refused as a bad request, and bad input (empty text, an unknown collection, a wrong
/// dimension) fails the request with a message naming it.
/// </summary>
public static class BuiltInCapabilityHandlers
{
    /// <summary>Adds the four handlers, each in the capability of its own name.</summary>
    public static AgentHandlerRegistry AddBuiltIns(this AgentHandlerRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        Add<ProcessTextRequest, ProcessTextReply>(registry, BuiltInCapabilities.ProcessText,
            (context, request) => Task.FromResult(context.Services.GetRequiredService<ProcessTextHandler>().Handle(request)));
        Add<EmbedRequest, EmbedReply>(registry, BuiltInCapabilities.Embed,
            (context, request) => context.Services.GetRequiredService<EmbedHandler>().HandleAsync(context.AgentId, request));
        Add<CapabilitySearchRequest, CapabilitySearchReply>(registry, BuiltInCapabilities.Search,
            (context, request) => context.Services.GetRequiredService<SearchHandler>().HandleAsync(request));
        Add<SubmitJobRequest, SubmitJobReply>(registry, BuiltInCapabilities.SubmitJob,
            (context, request) => context.Services.GetRequiredService<SubmitJobHandler>().HandleAsync(request));
        return registry;
    }

    /// <summary>The handlers' services (each a singleton over the silo's engines).</summary>
    public static IServiceCollection AddBuiltInCapabilityServices(this IServiceCollection services)
    {
        services.AddSingleton<ProcessTextHandler>();
        services.AddSingleton<EmbedHandler>();
        services.AddSingleton<SearchHandler>();
        services.AddSingleton<SubmitJobHandler>();
        return services;
    }

    private static void Add<TRequest, TReply>(AgentHandlerRegistry registry, string kind, Func<AgentContext, TRequest, Task<TReply>> handle) =>
        registry.HandleRaw(kind, async (context, body) =>
        {
            TRequest? request;
            try
            {
                request = JsonSerializer.Deserialize<TRequest>(body, BuiltInCapabilities.Json);
            }
            catch (JsonException e)
            {
                throw new AgentRequestFailedException(context.AgentId, kind, AgentRequestFailure.BadRequest, typeof(JsonException).FullName,
                    $"The body of '{kind}' is not a {typeof(TRequest).Name}: {e.Message}");
            }

            if (request is null)
            {
                throw new AgentRequestFailedException(context.AgentId, kind, AgentRequestFailure.BadRequest, null,
                    $"The body of '{kind}' is JSON null; send a {typeof(TRequest).Name} object.");
            }

            return BuiltInCapabilities.Encode(await handle(context, request));
        });
}
