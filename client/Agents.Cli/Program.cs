using System.CommandLine;
using Agents.Cli;
using Agents.Grains.Configuration;

return await Commands.Build().Parse(args).InvokeAsync();
