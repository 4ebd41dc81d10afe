using System.Text.Json;
using System.Text.RegularExpressions;
using Agents.Client;
using Agents.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Agents.Tests.Deploy;

/// <summary>
/// What can be checked of deploy/ without a container engine or a Kubernetes cluster: the compose file by Debian's
/// docker-compose, the Dockerfiles' paths and user, Prometheus' configuration by promtool, the Grafana dashboard's
/// queries against the metric names a real silo exports, and the Kubernetes manifests against the API schemas.
/// </summary>
public sealed partial class DeployTests(ITestOutputHelper output)
{
    private static readonly string Root = FindRoot();
    private static readonly string DeployDir = Path.Combine(Root, "deploy");

    [Fact]
    public async Task TheComposeFileIsValidAndNeedsItsPasswordsFromTheEnvironment()
    {
        var tool = Tool("docker-compose", "apt-get install -y docker-compose");
        var ok = await RunAsync(tool, ["config", "-q"], DeployDir, new() { ["POSTGRES_PASSWORD"] = "p", ["GRAFANA_PASSWORD"] = "g" });
        Assert.True(ok.ExitCode == 0, ok.Output);

        var missing = await RunAsync(tool, ["config", "-q"], DeployDir, new() { ["POSTGRES_PASSWORD"] = "", ["GRAFANA_PASSWORD"] = "g" });
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("POSTGRES_PASSWORD", missing.Output, StringComparison.Ordinal);

        var resolved = await RunAsync(tool, ["config"], DeployDir, new() { ["POSTGRES_PASSWORD"] = "p", ["GRAFANA_PASSWORD"] = "g" });
        foreach (var service in new[] { "postgres", "silo1", "silo2", "silo3", "prometheus", "grafana" })
        {
            Assert.Matches($"(?m)^  {service}:", resolved.Output);
        }

        // Every file the compose file mounts or builds from is in the repository.
        var compose = await File.ReadAllTextAsync(Path.Combine(DeployDir, "docker-compose.yml"));
        foreach (Match m in LocalPath().Matches(compose))
        {
            Assert.True(File.Exists(Path.Combine(DeployDir, m.Groups[1].Value)) || Directory.Exists(Path.Combine(DeployDir, m.Groups[1].Value)), m.Value);
        }

        foreach (Match m in DockerfilePath().Matches(compose))
        {
            Assert.True(File.Exists(Path.Combine(Root, m.Groups[1].Value)), m.Value);
        }
    }

    [Theory]
    [InlineData("silo.Dockerfile", "Agents.Silo.dll")]
    [InlineData("cli.Dockerfile", "p2p-ai-agents.dll")]
    public async Task DockerfilesCopyWhatExistsAndRunAsANonRootUser(string file, string entry)
    {
        var lines = (await File.ReadAllLinesAsync(Path.Combine(DeployDir, "docker", file))).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var stages = lines.Count(l => l.StartsWith("FROM ", StringComparison.Ordinal));
        Assert.True(stages >= 2, "a multi-stage build");
        Assert.Contains(lines, l => l.StartsWith("FROM mcr.microsoft.com/dotnet/sdk:10.0", StringComparison.Ordinal));
        var runtime = lines.SkipWhile(l => !l.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet:10.0", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(runtime);
        Assert.Contains(runtime, l => l == "USER $APP_UID");
        Assert.Contains(runtime, l => l.StartsWith("ENTRYPOINT", StringComparison.Ordinal) && l.Contains(entry, StringComparison.Ordinal));
        foreach (var copy in lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from", StringComparison.Ordinal)))
        {
            var parts = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var source in parts[1..^1])
            {
                Assert.True(File.Exists(Path.Combine(Root, source)) || Directory.Exists(Path.Combine(Root, source)), $"{file}: {copy}");
            }
        }
    }

    [Fact]
    public async Task PromtoolAcceptsThePrometheusConfiguration()
    {
        var promtool = Tool("promtool", "apt-get install -y prometheus");
        var run = await RunAsync(promtool, ["check", "config", Path.Combine(DeployDir, "prometheus", "prometheus.yml")], DeployDir);
        Assert.True(run.ExitCode == 0, run.Output);
    }

    [Fact]
    public async Task TheKubernetesManifestsPassTheApiSchemasAndReferToEachOther()
    {
        var check = Path.Combine(DeployDir, "check");
        Assert.True(Directory.Exists(Path.Combine(check, "node_modules")), "deploy/check needs its packages: (cd deploy/check && npm ci), as .ci/run does");
        var run = await RunAsync("node", ["check-k8s.mjs", "../k8s"], check);
        output.WriteLine(run.Output);
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("0 failures", run.Output, StringComparison.Ordinal);
        Assert.Contains("kustomization: rbac.yaml, silo.yaml", run.Output, StringComparison.Ordinal);
        foreach (var kind in new[] { "ServiceAccount", "Role", "RoleBinding", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler" })
        {
            Assert.Contains($": {kind}/", run.Output, StringComparison.Ordinal);
        }

        // The checker itself rejects a broken manifest.
        var broken = Directory.CreateTempSubdirectory("k8s-broken-").FullName;
        await File.WriteAllTextAsync(Path.Combine(broken, "silo.yaml"),
            (await File.ReadAllTextAsync(Path.Combine(DeployDir, "k8s", "silo.yaml"))).Replace("replicas: 3", "replicas: three", StringComparison.Ordinal));
        var rejected = await RunAsync("node", ["check-k8s.mjs", broken], check);
        Assert.NotEqual(0, rejected.ExitCode);
        Assert.Contains("FAIL silo.yaml: Deployment/agents-silo", rejected.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryGrafanaQueryNamesAMetricARealSiloExports()
    {
        var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(DeployDir, "grafana", "dashboards", "agents-nodes.json")));
        var datasource = await File.ReadAllTextAsync(Path.Combine(DeployDir, "grafana", "provisioning", "datasources", "prometheus.yml"));
        var queries = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => (Panel: p.GetProperty("title").GetString()!, Uid: t.GetProperty("datasource").GetProperty("uid").GetString()!, Expr: t.GetProperty("expr").GetString()!)))
            .ToList();
        Assert.True(queries.Count >= 10, $"{queries.Count} queries");
        Assert.All(queries, q => Assert.Contains($"uid: {q.Uid}", datasource, StringComparison.Ordinal));

        // A silo process that has done every kind of work, so every instrument has a series.
        var instance = SiloProcess.FreeInstance();
        var metricsPort = PostgresServer.FreePort();
        await using var silo = SiloProcess.Start(["--metrics-port", metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", Directory.CreateTempSubdirectory("deploy-silo-").FullName], instance,
            new Dictionary<string, string> { ["P2P_METRICS_INTERVAL"] = "200ms" });
        await using (var client = await ClusterProcesses.ConnectGatewayAsync(instance, silo))
        {
            await client.WaitAsync(await client.SubmitAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin), [new JobTask(0, "d", "some words to process"u8.ToArray())]));
            await client.CreateCollectionAsync(new CollectionSpec("grafana", 4));
            await client.UpsertAsync("grafana", [new PointInput("a", [1, 0, 0, 0])]);
            await client.SearchAsync("grafana", [1, 0, 0, 0], 1);
            await client.SendAsync("x", "y", "note", [1]);
            await client.EmbedAsync(["one sentence"]);
        }

        using var http = new HttpClient();
        var exposition = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
        var exported = ExposedName().Matches(exposition).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        output.WriteLine($"{exported.Count} series names, e.g. {string.Join(", ", exported.Where(n => !n.StartsWith("orleans", StringComparison.Ordinal)).Order(StringComparer.Ordinal))}");
        foreach (var (panel, _, expr) in queries)
        {
            var names = MetricNames(expr).ToList();
            Assert.NotEmpty(names);
            foreach (var name in names.Where(n => n != "up"))
            {
                Assert.True(exported.Contains(name), $"panel '{panel}': {name} (in {expr}) is not exported by a silo");
            }
        }
    }

    [Fact]
    public async Task RunLocalBringsUpThreeSilosAndPrometheusServesAJobAndStops()
    {
        var base0 = FreeInstanceRange(3);
        var run = await RunAsync("bash", [Path.Combine(DeployDir, "run-local.sh"), "--smoke"], Root, new()
        {
            ["RUN_LOCAL_BIN"] = AppContext.BaseDirectory,
            ["RUN_LOCAL_BASE"] = base0.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RUN_LOCAL_PROMETHEUS_PORT"] = PostgresServer.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, TimeSpan.FromMinutes(6));
        output.WriteLine(run.Output);
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("cluster: 3 silos active", run.Output, StringComparison.Ordinal);
        Assert.Contains("Prometheus: 3 targets up", run.Output, StringComparison.Ordinal);
        Assert.Contains("3000 text-processing tasks", run.Output, StringComparison.Ordinal);
        Assert.Contains("smoke test passed", run.Output, StringComparison.Ordinal);
        Assert.Contains("stopped", run.Output, StringComparison.Ordinal);

        // Nothing is left listening.
        foreach (var port in Enumerable.Range(0, 3).SelectMany(i => new[] { 11111, 30000, 9464, 8080 }.Select(p => p + base0 + i)))
        {
            Assert.True(PortIsFree(port), $"port {port} is still in use after the script stopped");
        }
    }

    /// <summary>The metric names in a PromQL expression: identifiers that are not functions, keywords or label names.</summary>
    public static IEnumerable<string> MetricNames(string expr)
    {
        var bare = LabelMatchers().Replace(expr, "");
        bare = Grouping().Replace(bare, "");
        bare = Ranges().Replace(bare, "");
        return Identifier().Matches(bare).Select(m => m.Value)
            .Where(t => !PromQlWords.Contains(t) && !double.TryParse(t, out _))
            .Distinct(StringComparer.Ordinal);
    }

    private static readonly HashSet<string> PromQlWords = new(StringComparer.Ordinal)
    {
        "sum", "avg", "min", "max", "count", "rate", "irate", "increase", "histogram_quantile", "by", "without", "on", "ignoring",
        "group_left", "group_right", "and", "or", "unless", "topk", "bottomk", "delta", "deriv", "abs", "clamp_min", "clamp_max",
    };

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex LabelMatchers();

    [GeneratedRegex(@"\b(by|without|on|ignoring)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Ranges();

    [GeneratedRegex(@"[A-Za-z_:][A-Za-z0-9_:]*")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"(?m)^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]")]
    private static partial Regex ExposedName();

    [GeneratedRegex(@"- \./([A-Za-z0-9_./-]+?)(?::|\s*$)", RegexOptions.Multiline)]
    private static partial Regex LocalPath();

    [GeneratedRegex(@"dockerfile: ([A-Za-z0-9_./-]+)")]
    private static partial Regex DockerfilePath();

    [Fact]
    public void TheQueryParserFindsMetricsAndSkipsTheRest()
    {
        Assert.Equal(["task_duration_seconds_bucket"], MetricNames("histogram_quantile(0.95, sum by (le, instance) (rate(task_duration_seconds_bucket{job=\"a\"}[$__rate_interval])))"));
        Assert.Equal(["node_working_set_bytes"], MetricNames("node_working_set_bytes"));
        Assert.Equal(["a_total", "b"], MetricNames("sum(rate(a_total[1m])) / on (instance) b"));
    }

    private static int FreeInstanceRange(int count)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var start = Random.Shared.Next(100, 900);
            if (Enumerable.Range(start, count).All(n => new[] { 11111, 30000, 9464, 8080 }.All(p => PortIsFree(p + n))))
            {
                return start;
            }
        }

        throw new InvalidOperationException("no free range of instances");
    }

    private static bool PortIsFree(int port)
    {
        try
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static string Tool(string name, string install) =>
        new[] { $"/usr/bin/{name}", $"/usr/local/bin/{name}" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"{name} is not installed ({install}; .ci/run does).");

    private static async Task<(int ExitCode, string Output)> RunAsync(
        string file, IEnumerable<string> arguments, string directory, Dictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var outcome = await CliProcess.RunToolAsync(file, arguments, directory, environment, timeout ?? TimeSpan.FromMinutes(2));
        return (outcome.ExitCode, outcome.Stdout + outcome.Stderr);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Agents.Orleans.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Agents.Orleans.sln) is not above the test's folder");
    }
}
