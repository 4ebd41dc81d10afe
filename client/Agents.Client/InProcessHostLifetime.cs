using Microsoft.Extensions.Hosting;

namespace Agents.Client;

/// <summary>
/// The lifetime of a host that lives inside another program (the client's, or a command's embedded silo): it takes
/// no signals, so Ctrl-C and SIGTERM reach the program, which stops the host by disposing it. The default console
/// lifetime would swallow them to stop the host alone.
/// </summary>
public sealed class InProcessHostLifetime : IHostLifetime
{
    /// <inheritdoc />
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
