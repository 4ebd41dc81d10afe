using Agents.Client;
using Agents.Engine;
using Agents.Hosting;
using Microsoft.Extensions.Hosting;

try
{
    var (host, settings) = SiloHost.Parse(args, AgentsConfiguration.ReadEnvironment());
    using var silo = await SiloHost.BuildAsync(host, settings);
    await silo.RunAsync();
    return 0;
}
catch (ConfigurationException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
