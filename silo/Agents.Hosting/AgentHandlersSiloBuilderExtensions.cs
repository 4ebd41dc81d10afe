using Agents.Grains.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;

namespace Agents.Hosting;

/// <summary>Registers agents' request handlers in a silo, as ASP.NET Core maps endpoints.</summary>
public static class AgentHandlersSiloBuilderExtensions
{
    /// <summary>
    /// Adds request handlers to the silo's <see cref="AgentHandlerRegistry"/> (may be called more than once; each kind
    /// once): <c>silo.AddAgentHandlers(a =&gt; a.Handle&lt;Order, Receipt&gt;("order", async (ctx, order) =&gt; ...))</c>.
    /// Register the same handlers on every silo of the cluster.
    /// </summary>
    public static ISiloBuilder AddAgentHandlers(this ISiloBuilder silo, Action<AgentHandlerRegistry> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        silo.Services.AddAgentHandlers(configure);
        return silo;
    }

    /// <summary>The same on a service collection.</summary>
    public static IServiceCollection AddAgentHandlers(this IServiceCollection services, Action<AgentHandlerRegistry> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var registry = services.FirstOrDefault(d => d.ServiceType == typeof(AgentHandlerRegistry))?.ImplementationInstance as AgentHandlerRegistry;
        if (registry is null)
        {
            registry = new AgentHandlerRegistry();
            services.AddSingleton(registry);
        }

        configure(registry);
        return services;
    }
}
