using System.CommandLine;
using System.Text;
using System.Text.Json;

namespace Agents.Cli;

/// <summary><c>agents list|ask|ask-any</c>: find the agents that hold a capability and send them requests.</summary>
internal static class AgentsCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var capability = new Option<string?>("--capability") { Description = "Only the agents holding this capability (e.g. embed).", HelpName = "name" };
        var list = new Command("list", "List the agents that hold capabilities, with their silo.") { capability };
        list.AddConnection().AddJson().WithExamples(
            "p2p-ai-agents agents list --gateway 127.0.0.1:30000",
            "p2p-ai-agents agents list --capability embed --json");
        list.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var only = parse.GetValue(capability);
            if (only is not null)
            {
                AgentRequests.ValidateName(only, "capability");
            }

            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            IReadOnlyList<string> capabilities = only is null ? await client.ListCapabilitiesAsync(cancellationToken) : [only];
            var rows = new List<(string Capability, AgentHolder Holder)>();
            foreach (var name in capabilities)
            {
                rows.AddRange((await client.FindAgentsAsync(name, cancellationToken)).OrderBy(h => h.AgentId, StringComparer.Ordinal).Select(h => (name, h)));
            }

            if (parse.GetValue(GlobalOptions.Json))
            {
                var agents = rows.GroupBy(r => r.Holder.AgentId, StringComparer.Ordinal)
                    .Select(g => new { agent = g.Key, silo = g.First().Holder.Silo, capabilities = g.Select(r => r.Capability).ToArray() });
                Console.WriteLine(JsonSerializer.Serialize(agents, GlobalOptions.JsonOutput));
                return 0;
            }

            if (rows.Count > 0)
            {
                var table = ResultTable.Create("capability", "agent", "silo");
                foreach (var (name, holder) in rows)
                {
                    table.Row(name, holder.AgentId, holder.Silo);
                }

                ResultTable.Write(table);
            }

            Console.WriteLine(only is null
                ? $"{rows.Select(r => r.Holder.AgentId).Distinct().Count()} agent(s) holding {capabilities.Count} capability(ies)"
                : $"{rows.Count} agent(s) holding '{only}'");
            return 0;
        }));

        var id = new Argument<string>("agent-id") { Description = "The agent asked (as agents list prints it)." };
        var kind = new Argument<string>("kind") { Description = "The request kind, e.g. process-text, embed, search, submit-job, echo." };
        var body = BodyOption();
        var timeout = TimeoutOption();
        var ask = new Command("ask", "Send a request to one agent and print its reply.") { id, kind, body, timeout };
        ask.AddConnection().AddJson().WithExamples(
            "p2p-ai-agents agents ask worker-0 process-text --body '{\"text\": \"Silos join a cluster.\"}'",
            "p2p-ai-agents agents ask worker-0 echo --body '{\"hello\": 1}' --gateway 127.0.0.1:30000");
        ask.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var agent = parse.GetValue(id)!;
            var requestKind = parse.GetValue(kind)!;
            AgentRequests.ValidateName(requestKind, "request kind");
            var request = Body(parse.GetValue(body));
            var wait = Timeout(parse.GetValue(timeout));
            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            return await ReplyAsync(parse, () => client.AskAsync(agent, requestKind, request, wait, cancellationToken));
        }));

        var anyCapability = new Argument<string>("capability") { Description = "The capability whose holders may answer (the least-loaded one does)." };
        var anyKind = new Option<string?>("--kind") { Description = "The request kind, when it is not the capability's own name.", HelpName = "kind" };
        var anyBody = BodyOption();
        var anyTimeout = TimeoutOption();
        var askAny = new Command("ask-any", "Send a request to any agent holding a capability and print its reply.") { anyCapability, anyKind, anyBody, anyTimeout };
        askAny.AddConnection().AddJson().WithExamples(
            "p2p-ai-agents agents ask-any embed --body '{\"texts\": [\"how do silos join\"]}'",
            "p2p-ai-agents agents ask-any search --body '{\"collection\": \"docs\", \"text\": \"how do silos join\", \"k\": 5}' --gateway 127.0.0.1:30000");
        askAny.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var name = parse.GetValue(anyCapability)!;
            AgentRequests.ValidateName(name, "capability");
            var requestKind = parse.GetValue(anyKind) ?? name;
            AgentRequests.ValidateName(requestKind, "request kind");
            var request = Body(parse.GetValue(anyBody));
            var wait = Timeout(parse.GetValue(anyTimeout));
            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            return await ReplyAsync(parse, () => client.AskAnyAsync(name, requestKind, request, wait, cancellationToken));
        }));

        return new Command("agents", "List agents by capability and send them requests.") { list, ask, askAny }.WithExamples(
            "p2p-ai-agents agents list --capability embed",
            "p2p-ai-agents agents ask-any process-text --body '{\"text\": \"Silos join a cluster.\"}'");
    }

    private static Option<string?> BodyOption() => new("--body")
    {
        Description = "The request as JSON (default {}); @FILE reads it from a file, - from stdin.",
        HelpName = "json",
    };

    private static Option<string?> TimeoutOption() => new("--timeout")
    {
        Description = "How long the agent may take to answer (e.g. 10s, 2m; at most 10m). [default: 30s]",
        HelpName = "duration",
    };

    /// <summary>The request body: JSON text, a file's (@FILE) or stdin's (-), checked to be JSON so a typo fails here, not at the agent.</summary>
    internal static byte[] Body(string? text)
    {
        var json = text switch
        {
            null => "{}",
            "-" => Console.In.ReadToEnd(),
            ['@', .. var path] => File.Exists(path) ? File.ReadAllText(path) : throw new ArgumentException($"--body file '{path}' does not exist."),
            _ => text,
        };

        try
        {
            using var _ = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"--body is not JSON: {e.Message}");
        }

        return Encoding.UTF8.GetBytes(json);
    }

    private static TimeSpan? Timeout(string? text) =>
        text is null ? null
        : ValueParsers.TryParseDuration(text, out var duration) && duration > TimeSpan.Zero && duration <= AgentRequests.MaxTimeout ? duration
        : throw new ArgumentException($"--timeout '{text}' is not a duration above 0 and at most {AgentRequests.MaxTimeout.TotalMinutes:0}m (e.g. 10s, 2m).");

    /// <summary>
    /// Prints the reply (indented JSON, or as sent with --json); a request the agent refused (no handler for the kind, a
    /// body of the wrong shape, content its handler rejected) exits 2 as bad input, one its handler failed or outran exits 1.
    /// </summary>
    private static async Task<int> ReplyAsync(ParseResult parse, Func<Task<byte[]>> ask)
    {
        byte[] reply;
        try
        {
            reply = await ask();
        }
        catch (AgentRequestFailedException e) when (e.Failure is AgentRequestFailure.NoHandler or AgentRequestFailure.BadRequest || IsBadInput(e.ErrorType))
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 2;
        }
        catch (AgentRequestFailedException e)
        {
            await Console.Error.WriteLineAsync($"error: agent '{e.AgentId}' failed '{e.Kind}': {e.Message}");
            return 1;
        }
        catch (AgentRequestTimeoutException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 1;
        }

        Console.WriteLine(Pretty(reply, indented: !parse.GetValue(GlobalOptions.Json)));
        return 0;
    }

    /// <summary>True when a handler refused the request's content (empty text, an unknown collection...), not when it broke.</summary>
    private static bool IsBadInput(string? errorType) => errorType is "System.ArgumentException" or "System.ArgumentOutOfRangeException"
        or "System.ArgumentNullException" or "System.Collections.Generic.KeyNotFoundException" or "Agents.Engine.Text.DocumentRejectedException";

    private static string Pretty(byte[] reply, bool indented)
    {
        try
        {
            using var json = JsonDocument.Parse(reply);
            return indented ? JsonSerializer.Serialize(json.RootElement, GlobalOptions.JsonOutput) : Encoding.UTF8.GetString(reply);
        }
        catch (JsonException)
        {
            // A handler may answer in plain text: shown as it is.
            return Encoding.UTF8.GetString(reply);
        }
    }
}
