using System.Text;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Native;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Engine;

/// <summary>
/// The per-NIC hardware timestamping setting (SIOCGHWTSTAMP / SIOCSHWTSTAMP), shared by every
/// channel on the NIC and with ptp4l. A configuration that already stamps everything is kept; the
/// engine changes it only for a channel that allows it, reads back what the driver applied, and puts
/// the original back when the last channel using the NIC goes. Conductor thread only.
/// </summary>
public sealed unsafe class NicTimestamping : IDisposable
{
    private sealed class Lease
    {
        public required Libc.hwtstamp_config Original { get; init; }
        public bool Changed { get; init; }
        public int Users { get; set; }
    }

    private readonly Dictionary<string, Lease> _leases = [];
    private readonly Action<string> _log;

    public NicTimestamping(Action<string> log) => _log = log;

    /// <summary>Reads the NIC's current setting; the errno (e.g. EOPNOTSUPP) when it has none.</summary>
    public static (Libc.hwtstamp_config Config, int Errno) Read(string interfaceName)
    {
        Libc.hwtstamp_config config = default;
        int error = Ioctl(interfaceName, Libc.SIOCGHWTSTAMP, &config);
        return (config, error);
    }

    /// <summary>tx on and every RX packet stamped: what a channel needs.</summary>
    public static bool StampsEverything(in Libc.hwtstamp_config config) =>
        config.tx_type == Libc.HWTSTAMP_TX_ON && config.rx_filter == Libc.HWTSTAMP_FILTER_ALL;

    /// <summary>
    /// Makes the NIC stamp every packet for one more channel, configuring it if needed.
    /// </summary>
    /// <exception cref="EngineCommandException">FailedPrecondition with the driver's reason.</exception>
    public void Acquire(string interfaceName)
    {
        if (_leases.TryGetValue(interfaceName, out Lease? lease))
        {
            lease.Users++;
            return;
        }

        (Libc.hwtstamp_config current, int readError) = Read(interfaceName);
        if (readError == 0 && StampsEverything(current))
        {
            _leases[interfaceName] = new Lease { Original = current, Changed = false, Users = 1 };
            return;
        }

        Libc.hwtstamp_config wanted = new() { flags = 0, tx_type = Libc.HWTSTAMP_TX_ON, rx_filter = Libc.HWTSTAMP_FILTER_ALL };
        Libc.hwtstamp_config applied = wanted;
        int error = Ioctl(interfaceName, Libc.SIOCSHWTSTAMP, &applied);
        if (error != 0)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, $"timestamps: SIOCSHWTSTAMP on {interfaceName} failed: {Explain(error)}", "timestamps");
        }
        // The driver may widen the filter (never narrow it without failing): read back what it applied.
        if (applied.tx_type != Libc.HWTSTAMP_TX_ON || applied.rx_filter == Libc.HWTSTAMP_FILTER_NONE)
        {
            Libc.hwtstamp_config restore = current;
            _ = Ioctl(interfaceName, Libc.SIOCSHWTSTAMP, &restore);
            throw new EngineCommandException(EngineStatus.FailedPrecondition, $"timestamps: {interfaceName} applied tx_type {applied.tx_type}, rx_filter {applied.rx_filter} instead of stamping every packet", "timestamps");
        }
        _leases[interfaceName] = new Lease { Original = current, Changed = true, Users = 1 };
        _log($"{interfaceName}: hardware timestamping switched on (tx_type {applied.tx_type}, rx_filter {applied.rx_filter}; was tx_type {current.tx_type}, rx_filter {current.rx_filter}); restored when its last channel goes");
    }

    /// <summary>One channel fewer on the NIC: the last one puts back what was changed.</summary>
    public void Release(string interfaceName)
    {
        if (!_leases.TryGetValue(interfaceName, out Lease? lease) || --lease.Users > 0)
        {
            return;
        }
        _leases.Remove(interfaceName);
        if (lease.Changed)
        {
            Libc.hwtstamp_config original = lease.Original;
            int error = Ioctl(interfaceName, Libc.SIOCSHWTSTAMP, &original);
            _log(error == 0
                ? $"{interfaceName}: hardware timestamping setting restored (tx_type {original.tx_type}, rx_filter {original.rx_filter})"
                : $"{interfaceName}: could not restore the hardware timestamping setting: {Explain(error)}");
        }
    }

    public static string Explain(int errno) => errno switch
    {
        Errno.ERANGE => "ERANGE: the NIC cannot stamp every RX packet (filter unsupported)",
        Errno.EINVAL or Errno.EOPNOTSUPP => $"{Errno.Name(errno)}: the NIC or its driver has no hardware timestamping",
        Errno.EPERM => "EPERM: changing it needs CAP_NET_ADMIN",
        _ => Errno.Describe(errno),
    };

    private static int Ioctl(string interfaceName, int request, Libc.hwtstamp_config* config)
    {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            return errno;
        }
        try
        {
            Libc.ifreq request_ = default;
            byte[] name = Encoding.ASCII.GetBytes(interfaceName);
            if (name.Length >= Libc.IFNAMSIZ)
            {
                return Errno.EINVAL;
            }
            for (int i = 0; i < name.Length; i++)
            {
                request_.ifr_name[i] = name[i];
            }
            request_.ifr_data = config;
            return ioctl(fd, request, &request_) == 0 ? 0 : errno;
        }
        finally
        {
            _ = close(fd);
        }
    }

    /// <summary>Puts back every setting still changed (engine shutdown).</summary>
    public void Dispose()
    {
        foreach (string name in _leases.Keys.ToList())
        {
            _leases[name].Users = 1;
            Release(name);
        }
    }
}
