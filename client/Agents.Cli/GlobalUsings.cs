global using Agents.Client;
global using Agents.Engine;
global using Agents.GrainInterfaces;
global using Agents.Hosting;
global using Agents.Inputs;
