using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Tests.Clients;

/// <summary>The region over a real sealed memfd: the daemon's view and a second mapping, as the engine's.</summary>
public sealed unsafe class ClientRegionTests
{
    internal static ClientRegionSpec Spec(int tx = 4096, int rx = 4096, uint maxPayload = 1400, long horizonNs = 0) => new()
    {
        ChannelId = 7,
        ClientId = 42,
        Flags = (tx != 0 ? ClientRegionFlags.Send : 0) | (rx != 0 ? ClientRegionFlags.Receive : 0),
        MaxPayload = maxPayload,
        TxCapacity = tx,
        RxCapacity = rx,
        HorizonNs = horizonNs,
    };

    [Fact]
    public void A_mapped_memfd_shows_the_header_the_daemon_wrote()
    {
        (SafeFileHandle memfd, ClientRegion daemon) = ClientRegion.CreateMemfd("test-client", Spec(8192, 4096, 1000, 5_000_000_000));
        using (memfd)
        using (daemon)
        using (ClientRegion engine = ClientRegion.Map((int)memfd.DangerousGetHandle()))
        {
            Assert.Equal(ClientRegionLayout.TotalLength(8192, 4096), engine.Length);
            Assert.Equal(4096 + 8192 + 4096, engine.Length);
            Assert.Equal(7u, engine.ChannelId);
            Assert.Equal(42u, engine.ClientId);
            Assert.True(engine.Sends);
            Assert.True(engine.Receives);
            Assert.Equal(1000, engine.MaxPayload);
            Assert.Equal(8192, engine.TxCapacity);
            Assert.Equal(4096, engine.RxCapacity);
            Assert.Equal(5_000_000_000, engine.HorizonNs);
            Assert.Equal(ClientState.Attached, engine.State);
            Assert.Equal(ShmStatus.Ok, engine.Status);

            daemon.SetState(ClientState.Faulted, ShmStatus.Faulted, "TX tail behind the engine's head");
            engine.AddCounter(ClientCounter.Faults);
            Assert.Equal(ClientState.Faulted, engine.State);
            Assert.Equal(ShmStatus.Faulted, engine.Status);
            Assert.Equal("TX tail behind the engine's head", engine.Message);
            Assert.Equal(1ul, daemon.Counter(ClientCounter.Faults));
        }
    }

    [Fact]
    public void A_message_too_long_is_cut_at_a_whole_character_and_stays_terminated()
    {
        (SafeFileHandle memfd, ClientRegion region) = ClientRegion.CreateMemfd("test-client", Spec());
        using (memfd)
        using (region)
        {
            string longText = new string('é', 200);
            region.SetState(ClientState.Detached, ShmStatus.Detached, longText);
            Assert.Equal(new string('é', 55), region.Message);
            Assert.Equal(0, region.Pointer[ClientRegionLayout.MessageOffset + ClientRegionLayout.MessageLength - 1]);
        }
    }

    [Fact]
    public void The_seals_refuse_to_resize_the_memfd_from_a_second_descriptor()
    {
        (SafeFileHandle memfd, ClientRegion region) = ClientRegion.CreateMemfd("test-client", Spec());
        using (memfd)
        using (region)
        {
            int fd = (int)memfd.DangerousGetHandle();
            int seals = fcntl(fd, F_GET_SEALS);
            Assert.Equal(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, seals);

            // A second descriptor, as the client gets it: the seals belong to the file, not the descriptor.
            byte[] path = System.Text.Encoding.ASCII.GetBytes($"/proc/self/fd/{fd}\0");
            int second;
            fixed (byte* p = path)
            {
                second = Errno.Check(open(p, O_RDWR | O_CLOEXEC), "open");
            }
            try
            {
                Assert.Equal(-1, ftruncate(second, 4096));
                Assert.Equal(Errno.EPERM, Marshal.GetLastPInvokeError());
                Assert.Equal(-1, ftruncate(second, region.Length * 2));
                Assert.Equal(Errno.EPERM, Marshal.GetLastPInvokeError());
                Assert.Equal(-1, fcntl(second, F_ADD_SEALS, 0));
                Assert.Equal(Errno.EPERM, Marshal.GetLastPInvokeError());
            }
            finally
            {
                _ = close(second);
            }
        }
    }

    [Fact]
    public void Map_refuses_a_region_of_another_layout_version_naming_both()
    {
        (SafeFileHandle memfd, ClientRegion daemon) = ClientRegion.CreateMemfd("test-client", Spec());
        using (memfd)
        using (daemon)
        {
            *(uint*)(daemon.Pointer + ClientRegionLayout.VersionOffset) = 99;

            var error = Assert.Throws<ClientRegionException>(() => ClientRegion.Map((int)memfd.DangerousGetHandle()));
            Assert.Equal(ShmStatus.Version, error.Status);
            Assert.Contains("99", error.Message, StringComparison.Ordinal);
            Assert.Contains(ClientRegionLayout.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(ClientRegionLayout.MagicOffset, 0x12345678, "magic")]
    [InlineData(ClientRegionLayout.TxCapacityOffset, 6000, "power of two")]
    [InlineData(ClientRegionLayout.RxCapacityOffset, 8192, "memfd is")]
    [InlineData(ClientRegionLayout.TotalLengthOffset, 1 << 20, "memfd is")]
    [InlineData(ClientRegionLayout.RxRingOffsetOffset, 4096, "ring offsets")]
    [InlineData(ClientRegionLayout.FlagsOffset, 8, "unknown bits")]
    public void Map_refuses_an_inconsistent_header(int offset, int value, string expected)
    {
        (SafeFileHandle memfd, ClientRegion daemon) = ClientRegion.CreateMemfd("test-client", Spec());
        using (memfd)
        using (daemon)
        {
            *(int*)(daemon.Pointer + offset) = value;

            var error = Assert.Throws<ClientRegionException>(() => ClientRegion.Map((int)memfd.DangerousGetHandle()));
            Assert.Equal(ShmStatus.Invalid, error.Status);
            Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Map_refuses_a_memfd_shorter_than_the_header()
    {
        byte* name = stackalloc byte[] { (byte)'x', 0 };
        int fd = Errno.Check(memfd_create(name, MFD_CLOEXEC), "memfd_create");
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        Errno.Check(ftruncate(fd, 100), "ftruncate");

        var error = Assert.Throws<ClientRegionException>(() => ClientRegion.Map(fd));
        Assert.Contains("shorter than its 4096-byte header", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 0, 1400u, "needs a TX ring")]
    [InlineData(5000, 0, 1400u, "TX ring capacity")]
    [InlineData(4096, 0, 8000u, "cannot hold one packet")]
    [InlineData(4096, 0, 0u, "max payload")]
    public void CreateMemfd_refuses_an_impossible_spec(int tx, int rx, uint maxPayload, string expected)
    {
        ClientRegionSpec spec = Spec(tx, rx, maxPayload) with { Flags = ClientRegionFlags.Send };
        var error = Assert.Throws<ArgumentException>(() => ClientRegion.CreateMemfd("bad", spec));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
