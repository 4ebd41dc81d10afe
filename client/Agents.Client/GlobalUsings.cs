global using Agents.GrainInterfaces;
global using Orleans;
