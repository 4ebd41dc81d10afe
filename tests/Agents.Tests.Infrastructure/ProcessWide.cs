namespace Agents.Tests;

/// <summary>Tests that change process-wide state (the thread pool, the console) run alone.</summary>
[CollectionDefinition(nameof(ProcessWide), DisableParallelization = true)]
public sealed class ProcessWide;
