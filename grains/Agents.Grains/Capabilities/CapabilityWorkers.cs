namespace Agents.Grains.Capabilities;

/// <summary>
/// Starts the silo's <c>agent_workers</c> worker agents as the silo becomes active, each holding every built-in
/// capability, so <c>AskAnyAsync("embed", ...)</c> finds holders as soon as the silo serves. A worker's id names the
/// silo endpoint that started it (<c>worker-HOST:PORT-N</c>, the same across restarts on the same port); workers are
/// placed like every agent (rendezvous hash of the id), so they spread over the silos.
/// </summary>
public sealed partial class CapabilityWorkers(
    IGrainFactory grains, ILocalSiloDetails silo, PerformanceSettings performance, ILogger<CapabilityWorkers> logger) : IStartupTask
{
    private const int Attempts = 20;

    /// <summary>The id of worker <paramref name="index"/> started by the silo at <paramref name="endpoint"/>.</summary>
    public static string WorkerId(string endpoint, int index) => $"worker-{endpoint}-{index}";

    /// <summary>The ids of this silo's workers.</summary>
    public IReadOnlyList<string> Ids => Enumerable.Range(0, performance.AgentWorkers).Select(i => WorkerId(silo.SiloAddress.Endpoint.ToString(), i)).ToArray();

    /// <inheritdoc />
    public async Task Execute(CancellationToken cancellationToken)
    {
        var capabilities = BuiltInCapabilities.All.ToArray();
        await Task.WhenAll(Ids.Select(async id =>
        {
            // A worker whose placement lands on a silo still joining is retried; a silo that cannot place one still serves.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await grains.GetGrain<IAgentGrain>(id).SetCapabilitiesAsync(capabilities);
                    return;
                }
                catch (Exception e) when (e is not OperationCanceledException && attempt < Attempts)
                {
                    LogRetry(logger, id, attempt, e.Message);
                    await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogGaveUp(logger, id, e.Message);
                    return;
                }
            }
        }));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker agent {Agent} not registered yet (attempt {Attempt}): {Reason}")]
    private static partial void LogRetry(ILogger logger, string agent, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Worker agent {Agent} could not be registered; this silo starts without it: {Reason}")]
    private static partial void LogGaveUp(ILogger logger, string agent, string reason);
}
