# The silo image: built with the SDK, run on the ASP.NET Core runtime (the dashboard and /metrics are on Kestrel)
# as the image's non-root user. Build from the repository root:
#   docker build -f deploy/docker/silo.Dockerfile -t agents-silo .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Project files first, so the restore layer is reused while only sources change.
COPY Directory.Build.props Directory.Packages.props ./
COPY grain-interfaces/Agents.GrainInterfaces.csproj grain-interfaces/
COPY grains/Agents.Engine/Agents.Engine.csproj grains/Agents.Engine/
COPY grains/Agents.Grains/Agents.Grains.csproj grains/Agents.Grains/
COPY client/Agents.Client/Agents.Client.csproj client/Agents.Client/
COPY silo/Agents.Hosting/Agents.Hosting.csproj silo/Agents.Hosting/
COPY silo/Agents.Silo/Agents.Silo.csproj silo/Agents.Silo/
RUN dotnet restore silo/Agents.Silo/Agents.Silo.csproj
COPY grain-interfaces/ grain-interfaces/
COPY grains/ grains/
COPY client/Agents.Client/ client/Agents.Client/
COPY silo/ silo/
COPY deploy/sql/ deploy/sql/
RUN dotnet publish silo/Agents.Silo/Agents.Silo.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app .
# Embedded-mode data and memory-mapped scratch files; a cluster keeps its state in PostgreSQL.
ENV P2P_DATA_DIR=/data DOTNET_gcServer=1
RUN mkdir -p /data && chown "$APP_UID" /data
USER $APP_UID
# silo-to-silo, client gateway, Prometheus /metrics, Orleans dashboard
EXPOSE 11111 30000 9464 8080
ENTRYPOINT ["dotnet", "Agents.Silo.dll"]
