namespace RtUdp.Core.Contract.Rings;

/// <summary>
/// Called for each record a consumer reads. A struct implementation is specialised by the JIT, so
/// reading allocates nothing and makes no interface call.
/// </summary>
public unsafe interface IRecordHandler
{
    /// <param name="type">The record's type, as given to the producer.</param>
    /// <param name="body">The record body, valid only during the call.</param>
    /// <param name="length">Body length in bytes.</param>
    /// <returns>false to stop reading after this record.</returns>
    bool OnRecord(int type, byte* body, int length);
}
