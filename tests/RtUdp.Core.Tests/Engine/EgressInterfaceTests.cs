using System.Net;
using RtUdp.Core.Engine;

namespace RtUdp.Core.Tests.Engine;

public sealed class EgressInterfaceTests
{
    [Theory]
    [InlineData("127.0.0.1", null)]
    [InlineData("127.0.0.5", null)]
    [InlineData("::1", null)]
    [InlineData("0.0.0.0", "127.0.0.1")]
    public void Loopback_addresses_and_routes_leave_by_lo(string local, string? remote)
    {
        (string Name, int Index)? egress = EgressInterface.Find(new IPEndPoint(IPAddress.Parse(local), 0), remote is null ? null : new IPEndPoint(IPAddress.Parse(remote), 9));
        Assert.NotNull(egress);
        Assert.Equal("lo", egress.Value.Name);
        Assert.Equal(int.Parse(File.ReadAllText("/sys/class/net/lo/ifindex").Trim(), System.Globalization.CultureInfo.InvariantCulture), egress.Value.Index);
    }

    [Fact]
    public void An_address_no_interface_owns_has_no_egress() =>
        Assert.Null(EgressInterface.Find(new IPEndPoint(IPAddress.Parse("192.0.2.77"), 0), null));
}
