using System.Diagnostics;
using System.Globalization;
using Agents.Grains.Jobs;

namespace Agents.Cli;

/// <summary>
/// <c>benchmark --task-type messaging</c>: agents in pairs (on different silos when there are several) measured five
/// ways in one run: batched one-way sends (<c>message_batch_size</c> per delivery), unbatched request/reply, raw
/// Orleans grain calls between the same silos with the same body and concurrency (the baseline), request/reply
/// paced at 1,000 messages/s (the latency figure), and routed against direct: the client asking the receivers by
/// capability (<c>AskAnyAsync</c>) and by id (<c>AskAsync</c>), alternated. Each sending agent's bursts are driven by
/// an <see cref="IAgentBenchmarkGrain"/> on its silo.
/// </summary>
public static class MessagingBenchmark
{
    /// <summary>Bytes of body per message.</summary>
    public const int BodyBytes = 64;

    /// <summary>Requests in flight per sending agent in the request/reply and raw phases.</summary>
    public const int InFlightPerSender = 16;

    /// <summary>What one run measured.</summary>
    public sealed record Figures(
        double BatchedPerSecond, double BatchedSeconds, LatencyMs BatchedLatency, long Batches,
        double AskPerSecond, LatencyMs AskLatency,
        double RawPerSecond, LatencyMs RawLatency,
        double PacedRate, LatencyMs PacedLatency,
        int Pairs, int CrossSiloPairs, int BatchedMessages, int AskMessages, double AskSeconds,
        double DirectPerSecond = 0, LatencyMs? DirectLatency = null, double RoutedPerSecond = 0, LatencyMs? RoutedLatency = null);

    /// <summary>
    /// Runs the four phases with <paramref name="messages"/> messages each (the paced one for 3 seconds);
    /// <paramref name="batchedCpu"/> and <paramref name="askCpu"/>, when given, are read over the batched and request/reply phases.
    /// </summary>
    public static async Task<Figures> RunAsync(
        AgentsClient client, int messages, int pairs, Action<string> say, CancellationToken cancellationToken, CpuWindow? batchedCpu = null, CpuWindow? askCpu = null)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var (senders, receivers, crossSilo) = await PairAsync(client, run, pairs);
        var drivers = await Task.WhenAll(senders.Select(s => client.AgentBenchmarkAsync(s)));
        say($"{pairs} agent pairs, {crossSilo} of them across silos; {messages} messages per phase, {BodyBytes}-byte bodies");
        var perSender = Math.Max(1, messages / pairs);
        var total = perSender * pairs;

        // Warm-up: every path once, so the timed phases measure warm code.
        await Task.WhenAll(drivers.Select((d, i) => d.AskBurstAsync(receivers[i], 200, BodyBytes, InFlightPerSender, raw: false)));
        await Task.WhenAll(drivers.Select((d, i) => d.AskBurstAsync(receivers[i], 200, BodyBytes, InFlightPerSender, raw: true)));
        await Task.WhenAll(drivers.Select((d, i) => d.SendBurstAsync(receivers[i], 1000, BodyBytes)));

        batchedCpu?.Start();
        var clock = Stopwatch.StartNew();
        var deliveries = await Task.WhenAll(drivers.Select((d, i) => d.SendBurstAsync(receivers[i], perSender, BodyBytes)));
        var batchedSeconds = clock.Elapsed.TotalSeconds;
        batchedCpu?.Stop();
        var received = await Task.WhenAll(receivers.Select(r => client.Agent(r).GetStatsAsync()));
        var batches = deliveries.Sum();
        say($"batched one-way: {total / batchedSeconds:F0} messages/s ({batches} deliveries)");

        askCpu?.Start();
        var (askRate, askLatency, askSeconds) = await BurstAsync(drivers, receivers, perSender, raw: false);
        askCpu?.Stop();
        say($"request/reply: {askRate:F0}/s");
        var (rawRate, rawLatency, _) = await BurstAsync(drivers, receivers, perSender, raw: true);
        say($"raw grain calls: {rawRate:F0}/s");

        var (pacedRate, pacedLatency) = await PacedAsync(client, senders[0], receivers[0], 1000, TimeSpan.FromSeconds(3), cancellationToken);
        say($"paced request/reply at {pacedRate:F0}/s: p99 {pacedLatency.P99:F2} ms");

        var (direct, routed) = await RoutedAsync(client, run, receivers, total, say, cancellationToken);

        // Receivers' histograms hold the batched phase plus warm-up; added up, their percentiles describe one-way delivery latency.
        var delivery = new LatencyHistogram();
        foreach (var histogram in received.Select(r => r.LatencyHistogram).OfType<byte[]>())
        {
            delivery.Add(LatencyHistogram.Decode(histogram));
        }

        var batchedLatency = Percentiles.Of(delivery);

        return new Figures(total / batchedSeconds, batchedSeconds, batchedLatency, batches, askRate, askLatency, rawRate, rawLatency, pacedRate, pacedLatency, pairs, crossSilo, total, total, askSeconds,
            direct.Rate, direct.Latency, routed.Rate, routed.Latency);
    }

    /// <summary>
    /// Routed against direct request/reply from the client, alternated (direct, routed, direct, routed) with the same
    /// receivers, body and concurrency: direct asks name the receivers in turn, routed ones ask any holder of a
    /// capability the receivers took. Returns the faster round of each (less noise from a shared machine).
    /// </summary>
    private static async Task<((double Rate, LatencyMs Latency) Direct, (double Rate, LatencyMs Latency) Routed)> RoutedAsync(
        AgentsClient client, string run, string[] receivers, int messages, Action<string> say, CancellationToken cancellationToken)
    {
        var capability = $"bench-{run}";
        foreach (var receiver in receivers)
        {
            await client.Agent(receiver).SetCapabilitiesAsync([capability]);
        }

        var inFlight = InFlightPerSender * receivers.Length;
        var body = new byte[BodyBytes];
        var holders = (await client.FindAgentsAsync(capability, cancellationToken)).Count;
        (double Rate, LatencyMs Latency) bestDirect = (0, default!), bestRouted = (0, default!);
        await PhaseAsync(routed: false, 500);
        await PhaseAsync(routed: true, 500);
        for (var round = 0; round < 2; round++)
        {
            var d = await PhaseAsync(routed: false, messages);
            bestDirect = d.Rate > bestDirect.Rate ? d : bestDirect;
            var r = await PhaseAsync(routed: true, messages);
            bestRouted = r.Rate > bestRouted.Rate ? r : bestRouted;
            say($"request/reply from the client, round {round + 1}: direct {d.Rate:F0}/s, routed {r.Rate:F0}/s ({r.Rate / d.Rate:F2})");
        }

        say($"routed ÷ direct: {bestRouted.Rate / bestDirect.Rate:F2} over {holders} holders");
        return (bestDirect, bestRouted);

        async Task<(double Rate, LatencyMs Latency)> PhaseAsync(bool routed, int count)
        {
            var latencies = new double[count];
            var next = -1;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, inFlight).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    var started = Stopwatch.GetTimestamp();
                    if (routed)
                    {
                        await client.AskAnyAsync(capability, "echo", body, cancellationToken: cancellationToken);
                    }
                    else
                    {
                        await client.AskAsync(receivers[i % receivers.Length], "echo", body, cancellationToken: cancellationToken);
                    }

                    latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                }
            }));
            var seconds = clock.Elapsed.TotalSeconds;
            return (count / seconds, Percentiles.Exact(latencies));
        }
    }

    private static async Task<(double Rate, LatencyMs Latency, double Seconds)> BurstAsync(IAgentBenchmarkGrain[] drivers, string[] receivers, int perSender, bool raw)
    {
        var clock = Stopwatch.StartNew();
        var latencies = await Task.WhenAll(drivers.Select((d, i) => d.AskBurstAsync(receivers[i], perSender, BodyBytes, InFlightPerSender, raw)));
        var seconds = clock.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Select(l => (double)l).ToArray();
        return (all.Length / seconds, Percentiles.Exact(all), seconds);
    }

    private static async Task<(double Rate, LatencyMs Latency)> PacedAsync(AgentsClient client, string sender, string receiver, int perSecond, TimeSpan duration, CancellationToken cancellationToken)
    {
        var agent = client.Agent(sender);
        var body = new byte[BodyBytes];
        var calls = new List<Task<double>>();
        var clock = Stopwatch.StartNew();
        var interval = TimeSpan.FromSeconds(1.0 / perSecond);
        for (var i = 0; clock.Elapsed < duration; i++)
        {
            var due = interval * i;
            if (due > clock.Elapsed)
            {
                // Sleep in whole milliseconds, then fire the calls that are due: the rate holds without a spinning core.
                await Task.Delay(due - clock.Elapsed, cancellationToken);
            }

            calls.Add(TimeOne());
        }

        var latencies = await Task.WhenAll(calls);
        return (latencies.Length / clock.Elapsed.TotalSeconds, Percentiles.Exact(latencies));

        async Task<double> TimeOne()
        {
            var started = Stopwatch.GetTimestamp();
            await agent.AskAsync(receiver, "echo", body);
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
    }

    private static async Task<(string[] Senders, string[] Receivers, int CrossSilo)> PairAsync(AgentsClient client, string run, int pairs)
    {
        var senders = new string[pairs];
        var receivers = new string[pairs];
        var crossSilo = 0;
        for (var p = 0; p < pairs; p++)
        {
            senders[p] = $"bench-{run}-s{p}";
            var silo = (await client.Agent(senders[p]).GetProfileAsync()).Silo;

            // Placement is the cluster's: try a few receivers for one on another silo (a single silo has none).
            for (var attempt = 0; attempt < 20; attempt++)
            {
                receivers[p] = $"bench-{run}-r{p}-{attempt}";
                if ((await client.Agent(receivers[p]).GetProfileAsync()).Silo != silo)
                {
                    crossSilo++;
                    break;
                }
            }
        }

        return (senders, receivers, crossSilo);
    }

    /// <summary>The figures as the benchmark JSON's config entries.</summary>
    public static Dictionary<string, string> Describe(Figures f) => new()
    {
        ["pairs"] = f.Pairs.ToString(CultureInfo.InvariantCulture),
        ["crossSiloPairs"] = f.CrossSiloPairs.ToString(CultureInfo.InvariantCulture),
        ["batchedMessagesPerSecond"] = f.BatchedPerSecond.ToString("F0", CultureInfo.InvariantCulture),
        ["deliveries"] = f.Batches.ToString(CultureInfo.InvariantCulture),
        ["requestReplyPerSecond"] = f.AskPerSecond.ToString("F0", CultureInfo.InvariantCulture),
        ["requestReplySeconds"] = f.AskSeconds.ToString("F3", CultureInfo.InvariantCulture),
        ["rawGrainCallsPerSecond"] = f.RawPerSecond.ToString("F0", CultureInfo.InvariantCulture),
        ["requestReplyVsRaw"] = (f.AskPerSecond / f.RawPerSecond).ToString("F2", CultureInfo.InvariantCulture),
        ["requestReplyP99Ms"] = f.AskLatency.P99.ToString("F2", CultureInfo.InvariantCulture),
        ["rawP99Ms"] = f.RawLatency.P99.ToString("F2", CultureInfo.InvariantCulture),
        ["pacedRatePerSecond"] = f.PacedRate.ToString("F0", CultureInfo.InvariantCulture),
        ["pacedP50Ms"] = f.PacedLatency.P50.ToString("F2", CultureInfo.InvariantCulture),
        ["pacedP99Ms"] = f.PacedLatency.P99.ToString("F2", CultureInfo.InvariantCulture),
        ["directClientPerSecond"] = f.DirectPerSecond.ToString("F0", CultureInfo.InvariantCulture),
        ["routedPerSecond"] = f.RoutedPerSecond.ToString("F0", CultureInfo.InvariantCulture),
        ["routedVsDirect"] = (f.DirectPerSecond > 0 ? f.RoutedPerSecond / f.DirectPerSecond : 0).ToString("F2", CultureInfo.InvariantCulture),
        ["routedP99Ms"] = (f.RoutedLatency?.P99 ?? 0).ToString("F2", CultureInfo.InvariantCulture),
        ["directClientP99Ms"] = (f.DirectLatency?.P99 ?? 0).ToString("F2", CultureInfo.InvariantCulture),
    };
}
