using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Agents.Cli;
using Agents.Engine;
using Agents.Hosting;
using Agents.Engine.Vectors;
using Agents.Tests;
using Agents.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Agents.Tests.Reliability;

/// <summary>
/// Randomised bad command lines (seeded, so a failure repeats), run through the real command tree in this process:
/// each ends with a non-zero exit and a message on stderr that names what was wrong, never a stack trace, and never
/// gets as far as the cluster. An unparsable gateway in <c>P2P_GATEWAYS</c> stands in for the cluster: a command that
/// accepts its input fails there at once, so a valid case is told apart and no case starts a silo in the test process.
/// Console and environment are process-wide, so these run alone.
/// </summary>
[Collection(nameof(ProcessWide))]
public sealed partial class CliFuzzTests(ITestOutputHelper log) : IDisposable
{
    private const string Sentinel = "p2p-fuzz-sentinel:0";
    private const int Dimension = 4;
    private static readonly RootCommand Root = Commands.Build();
    private readonly string _dir = Directory.CreateTempSubdirectory("agents-clifuzz-").FullName;

    /// <summary>
    /// A command line. <paramref name="Named"/> null: valid, so it reaches the cluster (or, <paramref name="Local"/>,
    /// exits 0); otherwise rejected with a message holding one of <paramref name="Named"/> and all of <paramref name="Also"/>.
    /// </summary>
    private sealed record Case(
        string[] Args, string[]? Named, IReadOnlyDictionary<string, string?>? Environment = null, bool Local = false, string[]? Also = null);

    private sealed record Outcome(int Exit, string Stdout, string Stderr);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task RandomCommandLinesAreRunOrRejectedNamingTheFault()
    {
        var random = new Random(2024);
        var specs = CommandSpecs();
        await CheckAsync("random command lines", Enumerable.Range(0, 2500).Select(_ => RandomCommandLine(random, specs[random.Next(specs.Count)])));
    }

    [Fact]
    public async Task EveryNumericOptionRejectsNumbersThatAreNot()
    {
        string[] notNumbers = ["lots", "1.5", "99999999999", "", "0x10", "1e3", "NaN", "٣", "+", "1,000", "7 7", "2147483648", "-2147483649", "Infinity"];
        var cases = new List<Case>();
        foreach (var spec in CommandSpecs())
        {
            foreach (var option in spec.Options.Where(o => o.Numeric))
            {
                foreach (var token in notNumbers)
                {
                    cases.Add(new Case([.. spec.Prefix(option.Name), option.Name, token], [option.Name]));
                }

                foreach (var value in option.OutOfRange)
                {
                    var text = value.ToString(CultureInfo.InvariantCulture);
                    cases.Add(new Case([.. spec.Prefix(option.Name), option.Name, text], [option.Name, .. option.Says.Select(s => s.Replace("{v}", text, StringComparison.Ordinal))]));
                }
            }
        }

        await CheckAsync("numbers", cases);
    }

    [Fact]
    public async Task CollectionNamesAreCheckedBeforeAnythingStarts()
    {
        var random = new Random(77);
        const string alphabet = "abcXYZ019_-./ é*%:";
        string[][] commands =
        [
            ["collection", "create", "{0}", "--dimension", "4"], ["collection", "describe", "{0}"], ["collection", "drop", "{0}", "--yes"],
            ["vectors", "upsert", "{0}", "--input", "{fvecs}"], ["vectors", "search", "{0}", "--vector", "1,2,3,4"],
            ["vectors", "delete", "{0}", "--id", "p1"], ["ingest", "{0}", "--input", "{docs}"],
        ];
        var cases = new List<Case>();
        for (var round = 0; round < 700; round++)
        {
            // Every third name from the valid characters only (some too long, some beginning with '-').
            var letters = round % 3 == 0 ? alphabet[..11] : alphabet;
            var name = new string(Enumerable.Range(0, random.Next(0, 70)).Select(_ => letters[random.Next(letters.Length)]).ToArray());
            var template = commands[round % commands.Length];
            // A name that begins with '-' reads as an option; after "--" it is an argument again.
            var args = name.StartsWith('-')
                ? [.. template.Where(a => a != "{0}").Select(Fill), "--", name]
                : template.Select(a => a == "{0}" ? name : Fill(a)).ToArray();
            var valid = NamePattern().IsMatch(name);
            cases.Add(new Case(args, valid ? null : ["name"], Also: valid || name.Trim().Length == 0 ? null : [name]));
        }

        await CheckAsync("collection names", cases);
    }

    [Fact]
    public async Task MissingAndMisplacedFilesAreNamed()
    {
        var missing = Path.Combine(_dir, "no-such", "thing");
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "a-folder")).FullName;
        var emptyFolder = Directory.CreateDirectory(Path.Combine(_dir, "empty-folder")).FullName;
        var text = Write("notes.txt", "just words");
        var empty = Write("empty.fvecs", "");
        var emptyJsonl = Write("blank.jsonl", "\n\n");
        var cases = new List<Case>
        {
            new(["submit", "--input", missing], [missing]), new(["submit", "--input", text], [text]), new(["submit", "--input", emptyFolder], [emptyFolder]),
            new(["submit", "--input", ""], ["--input"]),
            new(["ingest", "docs", "--input", missing], [missing]), new(["ingest", "docs", "--input", text], [text]), new(["ingest", "docs", "--input", ""], ["--input"]),
            new(["benchmark", "--mode", "cluster", "--input", missing], [missing]), new(["benchmark", "--mode", "cluster", "--input", ""], ["--input"]),
            new(["benchmark", "--mode", "cluster", "--task-type", "vector-search", "--dataset", missing], [missing]),
            new(["benchmark", "--mode", "cluster", "--task-type", "vector-search", "--dataset", emptyFolder], [emptyFolder]),
            new(["benchmark", "--mode", "cluster", "--output", folder], [folder]), new(["benchmark", "--mode", "cluster", "--output", ""], ["--output"]),
            new(["report", "--input", missing], [missing]), new(["report", "--input", emptyFolder], [emptyFolder]), new(["report", "--input", ""], ["--input"]),
            new(["report", "--input", Fill("{results}"), "--output", folder], [folder]), new(["report", "--input", Fill("{results}"), "--output", ""], ["--output"]),
            new(["vectors", "upsert", "c", "--input", missing], [missing]), new(["vectors", "upsert", "c", "--input", folder], [folder]),
            new(["vectors", "upsert", "c", "--input", text], [text]), new(["vectors", "upsert", "c", "--input", empty], [empty]),
            new(["vectors", "upsert", "c", "--input", emptyJsonl], [emptyJsonl]), new(["vectors", "upsert", "c", "--input", ""], ["--input"]),
            new(["vectors", "search", "c", "--query-file", missing], [missing]), new(["vectors", "search", "c", "--query-file", folder], [folder]),
            new(["vectors", "search", "c", "--query-file", empty], [empty]), new(["vectors", "search", "c", "--query-file", ""], ["--query-file"]),
            new(["vectors", "search", "c", "--vector", "1,2,3,4", "--output", folder], [folder]),
            new(["vectors", "search", "c", "--vector", "1,2,3,4", "--output", ""], ["--output"]),
            new(["collection", "list", "--config", missing], [missing]), new(["collection", "list", "--config", folder], [folder]),
            new(["collection", "list"], [missing], new Dictionary<string, string?> { ["P2P_CONFIG"] = missing }),
        };
        await CheckAsync("files", cases);
    }

    [Fact]
    public async Task RandomConfigurationFilesAreLoadedOrRejectedNamingTheKeyOrFile()
    {
        var random = new Random(31);
        string[] sections = ["performance", "text", "perfomance", "", "[a, b]", "{x: 1}", "? [k]"];
        string[] keys = [.. AgentsConfiguration.KeyPaths.Select(p => p.Split('.')[1]), "worker_thread", "bloom_filter_bits", "[1]", "{a: b}", "''", "~"];
        string[] values = ["4", "0", "-1", "1GB", "512MB", "2.5GB", "10s", "0ms", "abc", "", "99999999999", "1e3", "true", "[1, 2]", "{a: 1}", "30", "~", "&a 3", "*a", "!!binary aGk=", "\"8\"", "'x"];
        var cases = new List<Case>();
        for (var round = 0; round < 700; round++)
        {
            string yaml;
            if (round % 10 == 9)
            {
                // Random bytes, sometimes behind a valid start.
                var bytes = new byte[random.Next(1, 200)];
                random.NextBytes(bytes);
                yaml = (random.Next(2) == 0 ? "performance:\n  " : "") + Encoding.Latin1.GetString(bytes);
            }
            else
            {
                var text = new StringBuilder();
                for (var s = random.Next(1, 3); s > 0; s--)
                {
                    text.Append(random.Next(5) == 0 ? sections[random.Next(sections.Length)] : sections[random.Next(2)]).Append(":\n");
                    for (var i = random.Next(0, 4); i > 0; i--)
                    {
                        text.Append(random.Next(12) == 0 ? "\t" : "  ").Append(random.Next(6) == 0 ? keys[random.Next(keys.Length)] : keys[random.Next(keys.Length - 6)])
                            .Append(": ").Append(values[random.Next(values.Length)]).Append('\n');
                    }
                }

                yaml = text.ToString();
            }

            // The binder decides validity; anything but a ConfigurationException from it fails here.
            var path = Write($"config-{round}.yaml", yaml);
            var rejected = false;
            try
            {
                AgentsConfiguration.Load(path, new Dictionary<string, string?>());
            }
            catch (ConfigurationException)
            {
                rejected = true;
            }

            // Named: the file, or a section or key the document holds (a value error names its key).
            var named = !rejected ? null
                : new[] { Path.GetFileName(path) }.Concat(round % 10 == 9 ? [] : WordPattern().Matches(yaml).Select(m => m.Value).Intersect(sections.Concat(keys))).ToArray();
            cases.Add(round % 2 == 0
                ? new Case(["collection", "list", "--config", path], named)
                : new Case(["vectors", "delete", "c", "--id", "p1"], named, new Dictionary<string, string?> { ["P2P_CONFIG"] = path }));
        }

        await CheckAsync("configuration files", cases);
    }

    [Fact]
    public async Task RandomVariablesAreAppliedOrRejectedNamingTheVariable()
    {
        var random = new Random(8);
        string[] names =
        [
            .. AgentsConfiguration.KeyVariables, "P2P_INSTANCE", "P2P_METRICS_PORT", "P2P_DASHBOARD_PORT", "P2P_INIT_SCHEMA", "P2P_DATA_DIR",
            "P2P_WORKER_THRAEDS", "P2P_", "P2P_BLOOM_FILTER_BITS", "P2P_CHUNK_TOKEN", "P2P_cache_size",
        ];
        string[] values = ["4", "0", "-1", "1GB", "512MB", "10s", "0ms", "abc", "99999999999", "true", "maybe", "65536", "30", "1e3", " 8 ", "1000", "é"];
        var cases = new List<Case>();
        for (var round = 0; round < 600; round++)
        {
            var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
            for (var i = random.Next(1, 4); i > 0; i--)
            {
                environment[names[random.Next(names.Length)]] = values[random.Next(values.Length)];
            }

            if (random.Next(8) == 0)
            {
                // A malformed connection string is refused before anything connects; the string itself is never echoed.
                environment["P2P_CLUSTER"] = random.Next(2) == 0 ? "Hots=db;Port=5432" : "Host=db;Port=many";
            }

            var rejected = false;
            try
            {
                HostSettings.FromEnvironment(environment);
                AgentsConfiguration.Load(null, environment);
            }
            catch (ConfigurationException)
            {
                rejected = true;
            }

            // Every message names some P2P_ variable: the bare prefix counts only as itself ("P2P_;").
            var variables = environment.Keys.Select(k => k == "P2P_" ? "P2P_;" : k).ToArray();
            var named = environment.ContainsKey("P2P_CLUSTER") ? ["cluster connection string", .. variables] : rejected ? variables : null;
            cases.Add(new Case(random.Next(2) == 0 ? ["collection", "list"] : ["jobs", "list", "--max", "5"], named, environment));
        }

        await CheckAsync("P2P variables", cases);
    }

    [Fact]
    public async Task MalformedFvecsFilesAreRejectedNamingTheFileAndRow()
    {
        var random = new Random(4242);
        var cases = new List<Case>();
        for (var round = 0; round < 900; round++)
        {
            var rows = random.Next(1, 30);
            var floats = Enumerable.Range(0, rows * Dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var bytes = Fvecs(floats, Dimension);
            string[]? also = null;
            switch (round % 6)
            {
                case 0:
                    break;
                case 1:
                    bytes = bytes[..random.Next(bytes.Length)];
                    break;
                case 2:
                    var row = random.Next(rows);
                    BitConverter.TryWriteBytes(bytes.AsSpan(row * (4 + (4 * Dimension))), new[] { 0, -1, 5000, 3, int.MaxValue }[random.Next(5)]);
                    break;
                case 3:
                    var at = random.Next(floats.Length);
                    floats[at] = new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity }[random.Next(3)];
                    bytes = Fvecs(floats, Dimension);
                    also = [$"row {at / Dimension}"];
                    break;
                case 4:
                    for (var m = random.Next(1, 4); m > 0; m--)
                    {
                        bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                    }

                    break;
                default:
                    bytes = [.. bytes, .. Enumerable.Range(0, random.Next(1, 12)).Select(_ => (byte)random.Next(256))];
                    break;
            }

            var path = Write($"v{round}.fvecs", bytes);
            var problem = FvecsProblem(bytes);
            var named = problem is null ? null : new[] { Path.GetFileName(path) };
            cases.Add(round % 3 == 0
                ? new Case(["vectors", "search", "c", "--query-file", path], named, Also: problem is null ? null : also)
                : new Case(["vectors", "upsert", "c", "--input", path], named, Also: problem is null ? null : also));
        }

        await CheckAsync("fvecs files", cases);
    }

    [Fact]
    public async Task MalformedJsonlFilesAreRejectedNamingTheFileAndLine()
    {
        var random = new Random(99);
        var tooLong = new string('x', 300);
        string[] badLines =
        [
            """{"id": "b"}""", """{"vector": [1, 2, 3, 4]}""", """{"id": true, "vector": [1, 2, 3, 4]}""", """{"id": "", "vector": [1, 2, 3, 4]}""",
            $$"""{"id": "{{tooLong}}", "vector": [1, 2, 3, 4]}""", """{"id": "b", "vector": [1, 2, 3]}""", "[]", "\"point\"", "42",
            """{"id": "b", "vector": ["1", 2, 3, 4]}""", """{"id": "b", "vector": [1e39, 1, 1, 1]}""", """{"id": "b", "vector": [NaN, 1, 1, 1]}""",
            """{"id": "b", "vector": []}""", """{"id": "b", "vector": [1, 2, 3, 4], "payload": [1]}""", """{"id": "b", "vector": [1, 2, 3, 4], "payload": "x"}""",
            """{"id": "p0", "vector": [1, 2, 3, 4]}""", """{"id": "b", "vector": [1, 2, 3, 4]""", """{"id": "b", "vector": [1, 2, 3, 4]} trailing""",
            """{"id": "b", "vector": {"0": 1}}""", """{"id": "b", "vector": [1, 2, 3, null]}""", """{"id": "b", "vector": [1, 2, 3, 4], "payload": {"a": {"deep": 1}}}""",
            "{", "\u0000", """{"id": 1.5e400, "vector": [1, 2, 3, 4]}""",
        ];
        var cases = new List<Case>();
        for (var round = 0; round < 900; round++)
        {
            var lines = Enumerable.Range(0, random.Next(1, 25))
                .Select(i => $$$"""{"id": "p{{{i}}}", "vector": [{{{string.Join(", ", Enumerable.Range(0, Dimension).Select(_ => (random.NextDouble() + 0.1).ToString("F3", CultureInfo.InvariantCulture)))}}}], "payload": {"n": {{{i}}}, "tag": "t{{{i % 3}}}"}}""")
                .ToList();
            string[]? also = null;
            var text = string.Join('\n', lines);
            switch (round % 4)
            {
                case 0:
                    if (random.Next(3) == 0)
                    {
                        text = "\n" + text.Replace("\n", "\n\n", StringComparison.Ordinal) + "\n";
                    }

                    break;
                case 1:
                case 2:
                    var at = random.Next(lines.Count + 1);
                    var bad = badLines[random.Next(badLines.Length)];
                    lines.Insert(at, bad);
                    text = string.Join('\n', lines);
                    // A repeated id is reported where it repeats: after p0's own line when put first.
                    also = [$"line {(at == 0 && bad.Contains("\"p0\"", StringComparison.Ordinal) ? 2 : at + 1)}"];
                    break;
                default:
                    var bytes = Encoding.UTF8.GetBytes(text);
                    for (var m = random.Next(1, 4); m > 0; m--)
                    {
                        bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                    }

                    text = Encoding.UTF8.GetString(bytes);
                    break;
            }

            var path = Write($"p{round}.jsonl", text);
            var problem = JsonlProblem(path);
            cases.Add(new Case(["vectors", "upsert", "c", "--input", path], problem is null ? null : [Path.GetFileName(path)], Also: problem is null ? null : also));
        }

        await CheckAsync("jsonl files", cases);
    }

    [Fact]
    public async Task MalformedResultFilesAreSkippedByNameInTheReport()
    {
        var random = new Random(5);
        var good = Fill("{results}");
        var valid = File.ReadAllText(Directory.GetFiles(good, "*.json")[0]);
        var cases = new List<Case>();
        for (var round = 0; round < 300; round++)
        {
            var dir = Directory.CreateDirectory(Path.Combine(_dir, $"results-{round}")).FullName;
            File.Copy(Directory.GetFiles(good, "*.json")[0], Path.Combine(dir, "good.json"));
            var text = (round % 3) switch
            {
                // Drop a property, null one, or flip bytes.
                0 => JsonMutate(valid, random, remove: true),
                1 => JsonMutate(valid, random, remove: false),
                _ => Flip(valid, random),
            };
            var name = $"mutated-{round}.json";
            File.WriteAllText(Path.Combine(dir, name), text);
            cases.Add(new Case(["report", "--input", dir, "--output", Path.Combine(dir, "report.html")], null, Local: true, Also: [name]));
        }

        await CheckAsync("result files", cases);
    }

    [Fact]
    public async Task HugeInputsAreRunOrRejectedWithoutRunningOutOfMemory()
    {
        var ids = Enumerable.Range(0, 20_000).SelectMany(i => new[] { "--id", $"p{i}" });
        var bigVector = string.Join(',', Enumerable.Range(0, 5000).Select(i => "0.5"));
        var manyLines = Enumerable.Range(0, 50_000).Select(i => $$"""{"id": "p{{i}}", "vector": [1, 2, 3, 4]}""").Append("""{"id": "last", "vector": [1, 2, 3]}""");
        var lines = Write("many.jsonl", string.Join('\n', manyLines));
        var cases = new List<Case>
        {
            new(["vectors", "delete", "c", .. ids], null),
            new(["vectors", "search", "c", "--vector", bigVector], ["--vector"]),
            new(["vectors", "search", "c", "--vector", "1,2,3,4", "-k", "2147483647"], ["-k"]),
            new(["vectors", "upsert", "c", "--input", lines], ["many.jsonl"], Also: ["line 50001"]),
            new(["benchmark", "--mode", "cluster", "--task-type", "vector-store", "--tasks", "2147483647"], ["--tasks"]),
            new(["benchmark", "--mode", "cluster", "--task-type", "vector-search", "--tasks", "2000000000", "--queries", "2000000000"], ["--tasks", "--queries"]),
            new(["benchmark", "--mode", "cluster", "--document-size", "2147483647"], ["--document-size"]),
            new(["benchmark", "--mode", "cluster", "--tasks", "2147483647", "--batch-size", "2147483647"], null),
            new(["collection", "create", "c", "--dimension", "4096", "--shards", "256", "--ef-construction", "4096", "--ef", "4096", "--m", "128"], null),
            new(["jobs", "list", "--max", "2147483647"], null),
        };
        await CheckAsync("huge inputs", cases);
    }

    [Fact]
    public async Task TheRealProcessPrintsTheSameClearErrors()
    {
        // A handful through the real entry point and an embedded silo (no stand-in gateway): same exits, same messages.
        // The upsert names its bad line, not the missing collection: the file is read before the silo is asked.
        var bad = Write("bad.jsonl", """{"id": "a", "vector": [1, 2]}""" + "\n" + """{"id": "b", "vector": [1, NaN]}""");
        var yaml = Write("bad.yaml", "performance:\n  worker_threads: many\n");
        var clock = Stopwatch.StartNew();
        (string[] Args, Dictionary<string, string>? Environment, string Named)[] runs =
        [
            (["vectors", "upsert", "docs", "--input", bad], null, "line 2"),
            (["collection", "describe", "no/such"], null, "no/such"),
            (["collection", "list"], new() { ["P2P_CONFIG"] = yaml }, "performance.worker_threads"),
            (["benchmark", "--tasks", "lots"], null, "--tasks"),
            (["jobs", "list", "--max", "0"], null, "--max"),
        ];
        foreach (var (args, environment, named) in runs)
        {
            var variables = new Dictionary<string, string>(environment ?? []) { ["P2P_DATA_DIR"] = Path.Combine(_dir, "data") };
            var run = await CliProcess.RunAsync(args, variables, TimeSpan.FromSeconds(60));
            var problem = Judge(new Case(args, [named]), new Outcome(run.ExitCode, run.Stdout, run.Stderr), sentinel: false);
            Assert.True(problem is null, $"{problem}: p2p-ai-agents {Show(args)}\nexit {run.ExitCode}\nstderr: {run.Stderr}\nstdout: {run.Stdout}");
        }

        log.WriteLine($"process: {runs.Length} cases in {clock.Elapsed.TotalSeconds:F1} s");
    }

    private async Task CheckAsync(string category, IEnumerable<Case> cases)
    {
        var failures = new List<string>();
        var (tried, bad) = (0, 0);
        var clock = Stopwatch.StartNew();
        foreach (var c in cases)
        {
            tried++;
            bad += c.Named is null ? 0 : 1;
            var outcome = await RunAsync(c.Args, c.Environment);
            if (Judge(c, outcome, sentinel: true) is { } problem)
            {
                var environment = c.Environment is null ? "" : string.Concat(c.Environment.Select(e => $"{e.Key}={e.Value} "));
                failures.Add($"{problem}:\n  {environment}p2p-ai-agents {Show(c.Args)}\n  exit {outcome.Exit}, stderr: {Shorten(outcome.Stderr)}");
            }
        }

        log.WriteLine($"{category}: {tried} cases ({bad} bad, {tried - bad} valid), {failures.Count} failed, {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(failures.Count == 0, $"{failures.Count} of {tried} {category} cases failed; the first:\n{string.Join('\n', failures.Take(12))}");
    }

    /// <summary>What is wrong with the outcome of <paramref name="c"/>, or null.</summary>
    private static string? Judge(Case c, Outcome o, bool sentinel)
    {
        var all = o.Stdout + o.Stderr;
        if (all.Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase) || StackFrame().IsMatch(all))
        {
            return "printed a stack trace";
        }

        var reached = o.Stderr.Contains($"Gateway '{Sentinel}'", StringComparison.Ordinal);
        var missing = c.Also?.FirstOrDefault(a => !all.Contains(a, StringComparison.OrdinalIgnoreCase));
        if (c.Named is null)
        {
            return c.Local ? (o.Exit != 0 ? "valid input was rejected" : missing is not null ? $"the output does not name '{missing}'" : null)
                : reached ? null : "valid input did not reach the cluster";
        }

        return o.Exit == 0 ? "bad input exited 0"
            : reached && sentinel ? "bad input got as far as the cluster"
            : string.IsNullOrWhiteSpace(o.Stderr) ? "no message on stderr"
            : !c.Named.Any(n => o.Stderr.Contains(n, StringComparison.OrdinalIgnoreCase)) ? $"the message names none of: {string.Join(" | ", c.Named.Select(n => $"'{n}'"))}"
            : missing is not null ? $"the message does not name '{missing}'"
            : null;
    }

    private static bool Takes(string[] path, string option) =>
        path.Aggregate((Command)Root, (command, name) => command.Subcommands.Single(c => c.Name == name)).Options.Any(o => o.Name == option);

    private static async Task<Outcome> RunAsync(string[] args, IReadOnlyDictionary<string, string?>? environment)
    {
        var variables = new Dictionary<string, string?>(StringComparer.Ordinal) { ["P2P_GATEWAYS"] = Sentinel };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            variables[name] = value;
        }

        var saved = variables.Keys.ToDictionary(k => k, Environment.GetEnvironmentVariable);
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var (consoleOut, consoleError) = (Console.Out, Console.Error);
        try
        {
            foreach (var (name, value) in variables)
            {
                Environment.SetEnvironmentVariable(name, value);
            }

            Console.SetOut(stdout);
            Console.SetError(stderr);
            var exit = await Root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, ProcessTerminationTimeout = null });
            return new Outcome(exit, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(consoleOut);
            Console.SetError(consoleError);
            foreach (var (name, value) in saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    // ---- Random command lines from the real commands and options ----

    /// <summary>
    /// A value for an option or argument; <paramref name="Named"/> non-null marks it bad and says what its rejection
    /// names; <paramref name="Parses"/>: the parser takes it, so the command's own checks must catch it.
    /// </summary>
    private sealed record Value(string Text, string[]? Named = null, bool Parses = true);

    private sealed record OptionSpec(string Name, Func<Random, Value> Pick, bool Required = false, bool Flag = false, double Chance = 0.35)
    {
        public bool Numeric { get; init; }

        public long[] OutOfRange { get; init; } = [];

        public string[] Says { get; init; } = [];
    }

    private sealed record CommandSpec(string[] Path, Func<Random, Value>? Argument, OptionSpec[] Options, bool Local = false)
    {
        /// <summary>Faults of combinations, given the options chosen (name to value).</summary>
        public Func<IReadOnlyDictionary<string, string>, IEnumerable<string[]>>? Rules { get; init; }

        /// <summary>Whether an option's value is not looked at, given the options chosen (e.g. HNSW settings of a flat index).</summary>
        public Func<IReadOnlyDictionary<string, string>, string, bool>? Ignores { get; init; }

        /// <summary>Options a one-option case also carries (a query, for search).</summary>
        public string[] Fixed { get; init; } = [];

        /// <summary>The path with a valid argument and the required options but <paramref name="except"/>: what a one-option case is added to.</summary>
        public IEnumerable<string> Prefix(string except) => Path
            .Concat(Argument is null ? [] : [Path[0] == "jobs" ? Guid.Empty.ToString() : "docs"])
            .Concat(Options.Where(o => o.Required && o.Name != except).SelectMany(o => new[] { o.Name, ValidOf(o) }))
            .Concat(Fixed);

        private static string ValidOf(OptionSpec o)
        {
            var random = new Random(1);
            while (true)
            {
                if (o.Pick(random) is { Named: null } v)
                {
                    return v.Text;
                }
            }
        }
    }

    private List<CommandSpec> CommandSpecs()
    {
        var name = Pick(0.1, ["docs", "c-1", "A_b", "x"], [("", ["name"]), ("no/such", ["no/such"]), ("bad name", ["bad name"]), (new string('n', 65), ["name"])]);
        var k = Number("-k", 1, 10_000, [0, -1, 10_001]);
        var output = Pick(0.15, [Path.Combine(_dir, "out", "r.json")], [("", ["--output"]), (Fill("{docs}"), [Fill("{docs}")])]);
        var missing = Path.Combine(_dir, "nothing-here");
        return
        [
            new(["benchmark"], null,
            [
                Option("--mode", Pick(0.1, ["cluster"], [("sideways", ["sideways"], false), ("CLUSTER", ["CLUSTER"], false)]), required: true, chance: 1),
                Number("--tasks", 1, 10_000, [0, -5, int.MinValue]),
                Option("--task-type", Pick(0.1, ["text-processing", "embedding", "e2e", "messaging", "vector-store", "vector-search"], [("summarise", ["summarise"]), ("", ["task-type", "task type"])])),
                Option("--distribution", Pick(0.1, ["round-robin", "random", "least-loaded", "RoundRobin"], [("sideways", ["distribution"]), ("", ["distribution"])])),
                Option("--input", Pick(0.2, [Fill("{docs}")], [(missing, [missing]), ("", ["--input"])])),
                Option("--output", output),
                Option("--nodes", Pick(0.3, ["1", "2", "3"], [("0", ["--nodes"]), ("65", ["--nodes"]), ("5..2", ["--nodes"]), ("a", ["--nodes"]), ("1..", ["--nodes"]),
                    ("1..2..3", ["--nodes"]), ("", ["--nodes"]), ("1..3", ["--nodes"])])),
                Flag("--pin"),
                Number("--batch-size", 0, 100_000, [-1, int.MinValue]),
                Number("--document-size", 1, 65_536, [0, -1, int.MaxValue]),
                Number("--warmup", 0, 5_000, [-1, int.MinValue]),
                Number("--queries", 1, 10_000, [0, -1]),
                Number("--dimension", 1, 4096, [0, -1, 4097]),
                k,
                Number("--ef", 1, 100_000, [0, -1, 100_001]),
                Number("--shards", 0, 256, [-1, 257]),
                Option("--index", Pick(0.15, ["hnsw", "flat"], [("ivf", ["ivf"]), ("", ["--index"])])),
                Flag("--quantize"),
                Number("--concurrency", 1, 64, [0, -1]),
            ])
            { Rules = o => o.GetValueOrDefault("--index") == "flat" && o.ContainsKey("--quantize") ? [["quantize"]] : [] },
            new(["submit"], null,
            [
                Option("--task-type", Pick(0.2, ["text-processing", "embedding"], [("e2e", ["e2e"]), ("summarise", ["summarise"]), ("messaging", ["messaging"])])),
                Option("--input", Pick(0.15, [Fill("{docs}")], [(missing, [missing]), ("", ["--input"])]), required: true),
                Option("--distribution", Pick(0.15, ["round-robin", "random", "least-loaded"], [("sideways", ["distribution"])])),
                Number("--batch-size", 0, 100_000, [-1]),
                Flag("--detach"),
            ]),
            new(["ingest"], name, [Option("--input", Pick(0.15, [Fill("{docs}")], [(missing, [missing])]), required: true)]),
            new(["stats"], null, [Flag("--watch")]),
            new(["report"], null,
            [
                Option("--input", Pick(0.2, [Fill("{results}")], [(missing, [missing]), (Fill("{docs}"), [Fill("{docs}")])]), chance: 1),
                Option("--output", Pick(0.2, [Path.Combine(_dir, "out", "report.html")], [("", ["--output"]), (Fill("{docs}"), [Fill("{docs}")])])),
            ], Local: true),
            new(["jobs", "status"], Pick(0.2, [Guid.NewGuid().ToString()], [("notaguid", ["notaguid"], false), ("123", ["123"], false)]), []),
            new(["jobs", "cancel"], Pick(0.2, [Guid.NewGuid().ToString("N")], [("zork", ["zork"], false)]), []),
            new(["jobs", "list"], null, [Number("--max", 1, 1000, [0, -1])]),
            new(["collection", "create"], name,
            [
                Number("--dimension", 1, 4096, [0, -1, 4097], required: true, says: ["dimension {v}"]),
                Option("--metric", Pick(0.15, ["cosine", "dot", "l2", "euclid"], [("manhattan", ["manhattan"]), ("", ["metric"])])),
                Number("--shards", 0, 256, [-1, 257], says: ["shard count {v}"]),
                Option("--index", Pick(0.15, ["hnsw", "flat"], [("ivf", ["ivf"])])),
                Number("--m", 2, 128, [0, 1, 129], says: ["m {v}"]),
                Number("--ef-construction", 128, 4096, [0, 1, 4097], says: ["ef_construction {v}"]),
                Number("--ef", 1, 4096, [0, -1, 4097], says: ["ef {v}"]),
                Flag("--quantize"),
            ])
            {
                Rules = o => o.GetValueOrDefault("--index") == "flat" && o.ContainsKey("--quantize") ? [["quantize"]] : [],
                Ignores = (o, option) => o.GetValueOrDefault("--index") == "flat" && option is "--m" or "--ef-construction" or "--ef",
            },
            new(["collection", "list"], null, []),
            new(["collection", "describe"], name, []),
            // Off a terminal, drop needs --yes to go ahead.
            new(["collection", "drop"], name, [Flag("--yes") with { Chance = 1.0 }]),
            new(["vectors", "upsert"], name,
            [
                Option("--input", Pick(0.2, [Fill("{fvecs}"), Fill("{jsonl}")], [(missing + ".fvecs", ["nothing-here"]), (Fill("{docs}"), [Fill("{docs}")]), ("", ["--input"]),
                    (Fill("{txt}"), ["notes.txt"]), (Fill("{badjsonl}"), ["bad.jsonl"])]), required: true),
            ]),
            new(["vectors", "search"], name,
            [
                Option("--vector", Pick(0.25, ["1,2,3,4", "[0.5, 0.25]", "-1,2"], [("", ["--vector"]), ("a,b", ["a,b"]), ("1,NaN", ["--vector"]), ("1e39,1", ["--vector"])]), chance: 0.6),
                Option("--query-file", Pick(0.25, [Fill("{fvecs}")], [(missing + ".fvecs", ["nothing-here"]), (Fill("{jsonl}"), ["good.jsonl"])]), chance: 0.2),
                Option("--text", Pick(0.2, ["what runs grains", "é"], [("", ["--text"]), ("   ", ["--text"])]), chance: 0.2),
                k,
                Number("--ef", 1, 100_000, [0, -1, 100_001]),
                Option("--filter", Pick(0.3, ["tag=a", "n>=1", "n=1..5", "tag=a|b"], [("=x", ["=x"]), ("tag", ["tag"]), ("n>=abc", ["abc"]), ("tag=", ["tag="])])),
                Option("--output", output),
            ])
            {
                Rules = o => (o.ContainsKey("--vector") ? 1 : 0) + (o.ContainsKey("--query-file") ? 1 : 0) + (o.ContainsKey("--text") ? 1 : 0) == 1 ? []
                    : [["--vector", "--query-file", "--text"]],
                Fixed = ["--vector", "1,2,3,4"],
            },
            new(["vectors", "delete"], name,
            [
                Option("--id", Pick(0.15, ["p1", "0", "x-y"], [("", ["--id"]), (new string('i', 257), ["--id"])]), required: true),
            ]),
        ];
    }

    private Case RandomCommandLine(Random random, CommandSpec spec)
    {
        var groups = new List<string[]>();
        var faults = new List<(string? Option, Value Value)>();
        var chosen = new Dictionary<string, string>(StringComparer.Ordinal);
        void Fault(params string[] named) => faults.Add((null, new Value("", named, Parses: false)));
        string? argument = null;
        if (spec.Argument is not null)
        {
            if (random.Next(12) == 0)
            {
                Fault("Required argument missing");
            }
            else
            {
                var v = spec.Argument(random);
                argument = v.Text;
                groups.Add(v.Text.StartsWith('-') ? ["--", v.Text] : [v.Text]);
                if (v.Named is not null)
                {
                    faults.Add((null, v));
                }
            }
        }

        foreach (var option in spec.Options)
        {
            if (option.Required ? random.Next(12) == 0 : random.NextDouble() >= option.Chance)
            {
                if (option.Required)
                {
                    Fault(option.Name);
                }

                continue;
            }

            if (option.Flag)
            {
                groups.Add([option.Name]);
                chosen[option.Name] = "";
                continue;
            }

            for (var given = option.Name is "--filter" or "--id" ? random.Next(1, 3) : 1; given > 0; given--)
            {
                var value = option.Pick(random);
                groups.Add([option.Name, value.Text]);
                chosen[option.Name] = value.Text;
                if (value.Named is not null)
                {
                    faults.Add((option.Name, value));
                }
            }

            if (option.Name is not ("--filter" or "--id") && random.Next(25) == 0)
            {
                // Given twice: an option that takes one value.
                groups.Add([option.Name, option.Pick(random).Text]);
                Fault(option.Name);
            }
        }

        foreach (var named in spec.Rules?.Invoke(chosen) ?? [])
        {
            Fault(named);
        }

        // A value the command does not look at is no fault (the parser still judges its type).
        faults.RemoveAll(f => f.Option is { } o && f.Value.Parses && spec.Ignores?.Invoke(chosen, o) == true);
        // --json is offered only by the commands that print results.
        if (random.Next(5) == 0 && Takes(spec.Path, "--json"))
        {
            groups.Add(["--json"]);
        }

        // The report reads files only: it never looks at the cluster options.
        if (!spec.Local && random.Next(10) == 0)
        {
            var config = Pick(0.4, [Fill("{config}")], [(Path.Combine(_dir, "nothing.yaml"), ["nothing.yaml"]), (Fill("{badconfig}"), ["message_batch_size"])])(random);
            groups.Add(["--config", config.Text]);
            if (config.Named is not null)
            {
                faults.Add(("--config", config));
            }
        }

        if (!spec.Local && random.Next(20) == 0)
        {
            groups.Add(["--cluster", new[] { "Hots=db", "Host=db;Port=many", "==" }[random.Next(3)]]);
            Fault("cluster connection string");
        }

        if (!spec.Local && random.Next(20) == 0)
        {
            var gateway = new[] { "nogateway", "host:", ":30000", "127.0.0.1:0", "127.0.0.1:99999" }[random.Next(5)];
            groups.Add(["--gateway", gateway]);
            Fault(gateway);
        }

        if (random.Next(6) == 0)
        {
            string[] garbage = ["zork!", "%", "--zork", "-z", "@no-such-response-file", "collection!", "--json=maybe", "ünïcode?", "'quoted'", "--K"];
            for (var g = random.Next(1, 3); g > 0; g--)
            {
                var token = garbage[random.Next(garbage.Length)];
                groups.Insert(random.Next(groups.Count + 1), [token]);
                // A stray token may take the argument's place, and then the argument is the one left over.
                Fault([token.StartsWith('@') ? token[1..] : token.Replace("--json=", "", StringComparison.Ordinal), .. argument is null ? Array.Empty<string>() : [argument]]);
            }
        }

        // Options in any order; an argument after "--" stays last.
        var last = groups.FirstOrDefault(g => g[0] == "--");
        var order = groups.Where(g => g != last).OrderBy(_ => random.Next()).ToList();
        if (last is not null)
        {
            order.Add(last);
        }

        var args = spec.Path.Concat(order.SelectMany(g => g)).ToArray();
        return new Case(args, faults.Count == 0 ? null : faults.SelectMany(f => f.Value.Named!).Distinct().ToArray(), Local: spec.Local);
    }

    private static OptionSpec Option(string name, Func<Random, Value> pick, bool required = false, double chance = 0.35) => new(name, pick, required, Chance: chance);

    private static OptionSpec Flag(string name) => new(name, _ => new Value(""), Flag: true, Chance: 0.2);

    /// <summary>An int option: mostly in range, else not a number, or a number out of range (named with <paramref name="says"/>, "{v}" the value).</summary>
    private static OptionSpec Number(string name, int min, int max, long[] outOfRange, bool required = false, string[]? says = null) =>
        new(name, random =>
        {
            switch (random.Next(6))
            {
                case 0:
                    return new Value(new[] { "lots", "1.5", "99999999999", "", "NaN" }[random.Next(5)], [name], Parses: false);
                case 1:
                    var v = outOfRange[random.Next(outOfRange.Length)].ToString(CultureInfo.InvariantCulture);
                    return new Value(v, [name, .. (says ?? []).Select(s => s.Replace("{v}", v, StringComparison.Ordinal))]);
                default:
                    var n = random.Next(4) == 0 ? (random.Next(2) == 0 ? min : max) : random.Next(min, Math.Min(max, min + 64) + 1);
                    return new Value(n.ToString(CultureInfo.InvariantCulture));
            }
        }, required)
        { Numeric = true, OutOfRange = outOfRange, Says = says ?? [] };

    private static Func<Random, Value> Pick(double badChance, string[] good, (string Text, string[] Named)[] bad) =>
        Pick(badChance, good, bad.Select(b => (b.Text, b.Named, true)).ToArray());

    private static Func<Random, Value> Pick(double badChance, string[] good, (string Text, string[] Named, bool Parses)[] bad) => random =>
    {
        if (random.NextDouble() < badChance)
        {
            var (text, named, parses) = bad[random.Next(bad.Length)];
            return new Value(text, named, parses);
        }

        return new Value(good[random.Next(good.Length)]);
    };

    // ---- Files ----

    /// <summary>Replaces a <c>{placeholder}</c> with a prepared file or folder.</summary>
    private string Fill(string text) => text switch
    {
        "{docs}" => Folder("docs", d => File.WriteAllText(Path.Combine(d, "a.txt"), "Silos host grains.")),
        "{results}" => Folder("results", d => File.WriteAllText(Path.Combine(d, "one.json"), new BenchmarkResult("single-node", "text-processing", 10, 1, "round-robin",
            DateTimeOffset.UnixEpoch, 1, 10, new LatencyMs(1, 2, 3, 4), 0, [], new MemoryFigures(1 << 20), MachineInfo.Current(), new Dictionary<string, string>()).ToJson())),
        "{fvecs}" => Once("good.fvecs", Fvecs([.. Enumerable.Range(0, 8 * Dimension).Select(i => (float)(i + 1))], Dimension)),
        "{jsonl}" => Once("good.jsonl", Encoding.UTF8.GetBytes("""{"id": "a", "vector": [1, 2, 3, 4], "payload": {"tag": "x"}}""")),
        "{badjsonl}" => Once("bad.jsonl", Encoding.UTF8.GetBytes("""{"id": "a", "vector": [1, 2, 3, 4]}""" + "\n{\"id\": \"b\"}")),
        "{txt}" => Once("notes.txt", "words"u8.ToArray()),
        "{config}" => Once("good.yaml", "performance:\n  message_batch_size: 64\n"u8.ToArray()),
        "{badconfig}" => Once("bad.yaml", "performance:\n  message_batch_size: many\n"u8.ToArray()),
        _ => text,
    };

    private string Folder(string name, Action<string> fill)
    {
        var path = Path.Combine(_dir, name);
        if (!Directory.Exists(path))
        {
            fill(Directory.CreateDirectory(path).FullName);
        }

        return path;
    }

    private string Once(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        if (!File.Exists(path))
        {
            File.WriteAllBytes(path, bytes);
        }

        return path;
    }

    private string Write(string name, string text) => Write(name, Encoding.UTF8.GetBytes(text));

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Fvecs(float[] floats, int dimension)
    {
        var bytes = new List<byte>();
        for (var row = 0; row < floats.Length / dimension; row++)
        {
            bytes.AddRange(BitConverter.GetBytes(dimension));
            foreach (var f in floats.AsSpan(row * dimension, dimension))
            {
                bytes.AddRange(BitConverter.GetBytes(f));
            }
        }

        return [.. bytes];
    }

    /// <summary>The format's rules, written out here: rows of one dimension in 1..4096, whole, finite, at least one.</summary>
    private static string? FvecsProblem(byte[] bytes)
    {
        if (bytes.Length == 0)
        {
            return "empty";
        }

        int? first = null;
        for (var at = 0; at < bytes.Length;)
        {
            if (bytes.Length - at < 4)
            {
                return "cut short";
            }

            var d = BitConverter.ToInt32(bytes, at);
            if (d is < 1 or > 4096 || (first is { } f && d != f) || bytes.Length - at - 4 < (long)d * 4)
            {
                return "bad row";
            }

            first = d;
            for (var i = 0; i < d; i++)
            {
                if (!float.IsFinite(BitConverter.ToSingle(bytes, at + 4 + (4 * i))))
                {
                    return "not finite";
                }
            }

            at += 4 + (4 * d);
        }

        return null;
    }

    /// <summary>
    /// The rules of a points file, written out here: each non-blank line an object with an id (string or number, 1..256
    /// characters, unique) and a vector of finite numbers (1..4096, the same on every line) and at most a payload object.
    /// </summary>
    private static string? JsonlProblem(string path)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        int? dimension = null;
        foreach (var line in File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l)))
        {
            try
            {
                using var json = JsonDocument.Parse(line);
                var root = json.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("id", out var id) || !root.TryGetProperty("vector", out var vector)
                    || vector.ValueKind != JsonValueKind.Array)
                {
                    return "shape";
                }

                var key = id.ValueKind switch { JsonValueKind.String => id.GetString()!, JsonValueKind.Number => id.GetRawText(), _ => null };
                var floats = vector.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetSingle(out var f) && float.IsFinite(f) ? f : float.NaN).ToArray();
                if (key is not { Length: >= 1 and <= 256 } || !ids.Add(key) || floats.Length is < 1 or > 4096 || floats.Any(f => !float.IsFinite(f))
                    || (dimension is { } d && d != floats.Length))
                {
                    return "values";
                }

                dimension = floats.Length;
                if (root.TryGetProperty("payload", out var payload) && payload.ValueKind != JsonValueKind.Null)
                {
                    if (payload.ValueKind != JsonValueKind.Object)
                    {
                        return "payload";
                    }

                    PayloadFields.Parse(Encoding.UTF8.GetBytes(payload.GetRawText()));
                }
            }
            catch (Exception e) when (e is JsonException or ArgumentException)
            {
                return e.Message;
            }
        }

        return ids.Count == 0 ? "empty" : null;
    }

    private static string JsonMutate(string json, Random random, bool remove)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        var names = node.Select(p => p.Key).ToList();
        var victim = names[random.Next(names.Count)];
        if (remove)
        {
            node.Remove(victim);
        }
        else
        {
            node[victim] = random.Next(3) switch { 0 => null, 1 => "text", _ => -1 };
        }

        return node.ToJsonString();
    }

    private static string Flip(string text, Random random)
    {
        var chars = text.ToCharArray();
        for (var m = random.Next(1, 4); m > 0; m--)
        {
            chars[random.Next(chars.Length)] = "{}[]\":,0x-"[random.Next(10)];
        }

        return new string(chars);
    }

    private static string Show(IEnumerable<string> args) =>
        string.Join(' ', args.Select(a => a.Length == 0 || a.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"' or '|' or '>' or '<') ? $"'{a}'" : a.Length > 80 ? a[..80] + "…" : a));

    private static string Shorten(string text) => text.Length > 400 ? text[..400] + "…" : text.Trim();

    [GeneratedRegex(@"^\s+at [^\s(]+\(", RegexOptions.Multiline)]
    private static partial Regex StackFrame();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("[A-Za-z_]+")]
    private static partial Regex WordPattern();
}
