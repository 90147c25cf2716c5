namespace RtUdp.Daemon.Generators;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood; the generator of Java's SplittableRandom): 64-bit outputs from a
/// seed, the same on every platform and runtime, so a seeded schedule can be recomputed anywhere.
/// </summary>
internal struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1): the top 53 bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
}
