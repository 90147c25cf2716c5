using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace RtUdp.Core.Agents;

/// <summary>
/// Compiles a type's methods ahead of their first call, so a real-time thread's first packet does
/// not wait for the JIT (the engine runs with tiered compilation off: this is the final code).
/// </summary>
public static class JitWarmUp
{
    private const DynamicallyAccessedMemberTypes Methods =
        DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods;

    public static void Prepare([DynamicallyAccessedMembers(Methods)] Type type)
    {
        const BindingFlags all = BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        foreach (MethodInfo method in type.GetMethods(all))
        {
            if (!method.IsAbstract && !method.ContainsGenericParameters)
            {
                RuntimeHelpers.PrepareMethod(method.MethodHandle);
            }
        }
    }
}
