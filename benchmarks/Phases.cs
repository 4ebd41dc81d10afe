namespace Agents.Benchmarks;
using System.Diagnostics;
using System.Text;
using Agents.Client;
using Agents.GrainInterfaces;
public static class Phases
{
    public static async Task RunAsync()
    {
        var docs = Enumerable.Range(0, 4000).Select(i => Encoding.UTF8.GetBytes(Agents.Cli.DocumentSource.Generate(i, 2048))).ToArray();
        await using var client = await AgentsClient.ConnectAsync(ClusterConnection.Embedded());
        var rounds = int.Parse(Environment.GetEnvironmentVariable("ROUNDS") ?? "8");
        for (var round = 0; round < rounds; round++)
        {
            var tasks = docs.Select((d, i) => { var c = (byte[])d.Clone(); c[0] = (byte)('A' + round); return new JobTask(i, "d", c); }).ToList();
            var sw = Stopwatch.StartNew();
            var id = await client.SubmitAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin), tasks);
            var submit = sw.Elapsed.TotalMilliseconds;
            var r = await client.WaitAsync(id);
            var total = sw.Elapsed.TotalMilliseconds;
            Console.WriteLine($"round {round}: submit {submit:F0} ms, process {total - submit:F0} ms, total {total:F0} ms => {4000 / total * 1000:F0} docs/s; busy {r.PerSilo.Sum(s => s.BusySeconds):F2} s; p50 {r.Latency.P50:F3}");
        }
    }
}
