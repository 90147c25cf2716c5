using System.Runtime.InteropServices;

namespace RtUdp.Native.Handles;

/// <summary>
/// The opaque pointers C holds: a <see cref="GCHandle"/> to the object, as an address. Resolving one does not
/// allocate (the send path resolves one per call); a NULL pointer resolves to null. A pointer that was freed or
/// never came from the library is undefined behaviour, as for any C handle.
/// </summary>
internal static unsafe class HandleTable
{
    public static void* Allocate(object target) => (void*)GCHandle.ToIntPtr(GCHandle.Alloc(target));

    public static T? Resolve<T>(void* pointer)
        where T : class =>
        pointer is null ? null : GCHandle.FromIntPtr((nint)pointer).Target as T;

    public static void Free(void* pointer)
    {
        if (pointer is not null)
        {
            GCHandle.FromIntPtr((nint)pointer).Free();
        }
    }
}
