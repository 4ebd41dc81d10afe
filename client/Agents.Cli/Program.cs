using System.CommandLine;
using Agents.Cli;
using Agents.Engine;
using Agents.Hosting;

return await Commands.Build().Parse(args).InvokeAsync();
