global using Agents.GrainInterfaces;
global using Xunit;
