# The p2p-ai-agents command line, for running jobs and benchmarks against a cluster:
#   docker build -f deploy/docker/cli.Dockerfile -t agents-cli .
#   docker run --rm --network agents_default agents-cli --gateway silo1:30000 benchmark --mode cluster --tasks 10000
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY grain-interfaces/Agents.GrainInterfaces.csproj grain-interfaces/
COPY grains/Agents.Engine/Agents.Engine.csproj grains/Agents.Engine/
COPY grains/Agents.Grains/Agents.Grains.csproj grains/Agents.Grains/
COPY silo/Agents.Hosting/Agents.Hosting.csproj silo/Agents.Hosting/
COPY silo/Agents.Silo/Agents.Silo.csproj silo/Agents.Silo/
COPY client/Agents.Client/Agents.Client.csproj client/Agents.Client/
COPY client/Agents.Inputs/Agents.Inputs.csproj client/Agents.Inputs/
COPY client/Agents.Cli/Agents.Cli.csproj client/Agents.Cli/
RUN dotnet restore client/Agents.Cli/Agents.Cli.csproj
COPY grain-interfaces/ grain-interfaces/
COPY grains/ grains/
COPY silo/ silo/
COPY client/ client/
COPY deploy/sql/ deploy/sql/
RUN dotnet publish client/Agents.Cli/Agents.Cli.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app .
ENV P2P_DATA_DIR=/tmp/p2p-ai-agents
USER $APP_UID
ENTRYPOINT ["dotnet", "p2p-ai-agents.dll"]
