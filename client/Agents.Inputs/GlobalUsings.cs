global using Agents.Client;
global using Agents.Engine.Vectors;
global using Agents.GrainInterfaces;
