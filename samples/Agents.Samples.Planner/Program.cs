using Agents.Client;
using Agents.Engine;
using Agents.Hosting;
using Agents.Samples.Planner;

// Usage: Agents.Samples.Planner [FOLDER] [QUESTION...]; a cluster through P2P_CLUSTER or P2P_GATEWAYS, else an embedded silo.
var folder = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "documents");
string[] questions = args.Length > 1 ? args[1..] : ["How does a silo join the cluster?", "What happens to a job when its silo dies?", "How is a request routed to an agent?"];
if (!Directory.Exists(folder))
{
    Console.Error.WriteLine($"error: the documents folder '{folder}' does not exist.");
    return 2;
}

var environment = AgentsConfiguration.ReadEnvironment();
var settings = AgentsConfiguration.Load(environment.GetValueOrDefault("P2P_CONFIG"), environment);
var connection = (environment.GetValueOrDefault("P2P_CLUSTER"), environment.GetValueOrDefault("P2P_GATEWAYS")) switch
{
    ({ Length: > 0 } cluster, _) => ClusterConnection.Postgres(cluster),
    (_, { Length: > 0 } gateways) => ClusterConnection.Gateway(gateways.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)),
    _ => ClusterConnection.Embedded(),
};
connection = connection.WithSettings(settings);
await using var client = await EmbeddedCluster.ConnectAsync(connection, settings);
var planner = new PlannerAgent(client, "planner-sample", Console.Error);
var learned = await planner.LearnAsync(folder);
Console.WriteLine($"Learned {learned.Documents} documents as {learned.Chunks} chunks, embedded by {learned.EmbedsByAgent.Count} agent(s).");
foreach (var question in questions)
{
    Console.WriteLine();
    Console.WriteLine($"Q: {question}");
    foreach (var hit in await planner.AnswerAsync(question))
    {
        var text = string.Join(' ', (hit.Payload?.GetProperty("text").GetString() ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        Console.WriteLine($"  {hit.Score:0.000}  {hit.Id}: {(text.Length > 110 ? text[..110] + "..." : text)}");
    }
}

return 0;
