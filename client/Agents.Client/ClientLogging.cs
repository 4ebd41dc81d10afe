using Microsoft.Extensions.Logging;

namespace Agents.Client;

/// <summary>
/// The log set-up of a process whose output is its own (a command, and the silo it hosts): logs go to stderr only,
/// and Orleans', Microsoft's and Npgsql's own lines are shown only when asked for (<c>verbose</c>).
/// </summary>
public static class ClientLogging
{
    /// <summary>
    /// Replaces the default providers with one console logger on stderr. Quiet: warnings of this product's own
    /// categories (<c>Agents.*</c>) only; verbose: information and up from every category.
    /// </summary>
    public static ILoggingBuilder AddCommandLogging(this ILoggingBuilder logging, bool verbose)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o => o.SingleLine = true);
        logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (verbose)
        {
            logging.SetMinimumLevel(LogLevel.Information);
            // Polly reports every placement it runs at information: thousands of lines that say nothing.
            logging.AddFilter("Polly", LogLevel.Warning);
            return logging;
        }

        // The runtime's retries, gateway probes and shutdown notes are the command's business, not the user's: a
        // failure reaches the user as the command's own one-line error.
        logging.SetMinimumLevel(LogLevel.None);
        logging.AddFilter("Agents", LogLevel.Warning);
        return logging;
    }
}
