global using Agents.Client;
global using Agents.GrainInterfaces;
