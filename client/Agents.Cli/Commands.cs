using System.CommandLine;

namespace Agents.Cli;

/// <summary>The <c>p2p-ai-agents</c> command tree.</summary>
public static class Commands
{
    /// <summary>The root command.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("p2p-ai-agents: run AI-agent workloads on an Orleans cluster.");
        GlobalOptions.AddTo(root);
        root.Subcommands.Add(BenchmarkCommand.Create());
        root.Subcommands.Add(SubmitCommand.Create());
        root.Subcommands.Add(IngestCommand.Create());
        root.Subcommands.Add(StatsCommand.Create());
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(JobsCommand.Create());
        root.Subcommands.Add(SoakCommand.Create());
        root.Subcommands.Add(CollectionCommand.Create());
        root.Subcommands.Add(VectorsCommand.Create());
        return root;
    }
}
