namespace RtUdp.Core; internal static class AssemblyInfo { }
