using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Runtime.CompilerServices;

namespace Agents.Cli;

/// <summary>The <c>p2p-ai-agents</c> command tree.</summary>
public static class Commands
{
    /// <summary>The root command.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("p2p-ai-agents: run AI-agent workloads on an Orleans cluster.");
        root.Subcommands.Add(BenchmarkCommand.Create());
        root.Subcommands.Add(SubmitCommand.Create());
        root.Subcommands.Add(IngestCommand.Create());
        root.Subcommands.Add(StatsCommand.Create());
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(JobsCommand.Create());
        root.Subcommands.Add(SoakCommand.Create());
        root.Subcommands.Add(CollectionCommand.Create());
        root.Subcommands.Add(VectorsCommand.Create());
        root.Subcommands.Add(AgentsCommand.Create());
        root.WithExamples(
            "p2p-ai-agents benchmark --tasks 1000 --task-type text-processing",
            "p2p-ai-agents ingest docs --input ./notes && p2p-ai-agents vectors search docs --text \"how do silos join\"",
            "P2P_CLUSTER=\"Host=db;Username=agents;Password=...\" p2p-ai-agents stats --watch");

        // Help ends with the command's examples; a command of commands given none shows its help, as gh does.
        var help = root.Options.OfType<HelpOption>().Single();
        var withExamples = new HelpWithExamples((HelpAction)help.Action!);
        help.Action = withExamples;
        foreach (var command in root.Subcommands.Prepend(root).Where(c => c.Action is null))
        {
            command.Action = withExamples;
        }

        return root;
    }

    /// <summary>Adds examples printed at the end of <paramref name="command"/>'s help.</summary>
    internal static T WithExamples<T>(this T command, params string[] examples)
        where T : Command
    {
        Examples.AddOrUpdate(command, examples);
        return command;
    }

    private static readonly ConditionalWeakTable<Command, string[]> Examples = [];

    /// <summary>The standard help, then the command's examples.</summary>
    private sealed class HelpWithExamples(HelpAction help) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            help.Invoke(parseResult);
            if (Examples.TryGetValue(parseResult.CommandResult.Command, out var examples))
            {
                var output = parseResult.InvocationConfiguration.Output;
                output.WriteLine("Examples:");
                foreach (var example in examples)
                {
                    output.WriteLine($"  {example}");
                }

                output.WriteLine();
            }

            return 0;
        }
    }
}
