using RtUdp.Core.Contract.Channels;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using RtUdp.Core.Net;
using RtUdp.Core.Xdp;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// The xdp steering program (docs/xdp.md) on a veth pair in namespaces of its own: what passes while it is
/// attached, that it is gone after Dispose and after <see cref="XdpSteeringProgram.DetachLeftovers"/>, that other
/// XDP users and a second channel coexist through libxdp's dispatcher. xdp-loader and bpftool are the oracles.
/// One pair per test: they attach and detach on the same interface.
/// </summary>
[Collection(XdpCollection.Name)]
public sealed class XdpSteeringTests(ITestOutputHelper output)
{
    private const string Other = "other_pass";

    [Fact]
    public void Attached_program_passes_other_ports_and_a_steered_port_without_a_socket_and_is_gone_after_Dispose()
    {
        using var ns = new XdpSteeringNamespaces();
        if (Skip(ns))
        {
            return;
        }
        using Socket other = ns.ReceiverInA();
        using Socket steered = ns.ReceiverInA();
        ushort steeredPort = (ushort)((IPEndPoint)steered.LocalEndPoint!).Port;

        XdpSteeringProgram program = ns.InA(() => XdpSteeringProgram.Attach(ns.IfindexA));
        try
        {
            output.WriteLine($"attached: id {program.ProgramId}, mode {program.ModeInEffect}, dispatcher {program.UsesDispatcher}, bpffs {XdpBpffs.Path}");
            Assert.Equal(XdpAttachMode.Auto, program.RequestedMode);
            // veth has native XDP.
            Assert.Equal(XdpAttachMode.Native, program.ModeInEffect);
            Assert.Contains((XdpSteeringProgram.ProgramName, program.ProgramId), ns.Programs());
            Assert.Contains(XdpSteeringProgram.ProgramName, ns.Status());
            Assert.Contains(program.ProgramId.ToString(System.Globalization.CultureInfo.InvariantCulture), ns.Bpftool("prog", "show", "id", program.ProgramId.ToString(System.Globalization.CultureInfo.InvariantCulture)));

            // Steered on both of A's rx queues (veth picks one), no socket in the XSKMAP: passes.
            program.Steer(0, steeredPort, -1);
            program.Steer(1, steeredPort, -1);
            Assert.True(ns.Reaches(other), "a datagram to another port did not reach the kernel's socket while the program was attached");
            Assert.True(ns.Reaches(steered), "a datagram to the steered port, with no AF_XDP socket registered, did not pass to the kernel's socket");
            program.Unsteer(0, steeredPort);
            program.Unsteer(1, steeredPort);
            program.Unsteer(1, steeredPort); // not steered any more: no-op
        }
        finally
        {
            ns.InA(program.Dispose);
        }
        Assert.DoesNotContain(ns.Programs(), p => p.Name == XdpSteeringProgram.ProgramName);
        Assert.DoesNotContain(XdpSteeringProgram.ProgramName, ns.Status());
        Assert.True(ns.Reaches(steered), "traffic did not reach the kernel after Dispose");
        ns.InA(program.Dispose); // twice: no-op
        Assert.Throws<ObjectDisposedException>(() => program.Steer(0, 1, -1));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_steered_port_goes_to_the_AF_XDP_socket_and_back_to_the_kernel_once_the_socket_is_closed(bool ipv6)
    {
        using var ns = new XdpSteeringNamespaces();
        if (Skip(ns))
        {
            return;
        }
        using Socket steered = ns.ReceiverInA(ipv6: ipv6);
        using Socket other = ns.ReceiverInA(ipv6: ipv6);
        ushort port = (ushort)((IPEndPoint)steered.LocalEndPoint!).Port;
        using XdpSteeringProgram program = ns.InA(() => XdpSteeringProgram.Attach(ns.IfindexA));
        // One socket per rx queue of A's end (veth picks the queue): the product's socket, in copy mode.
        var options = new XskOptions { ZeroCopy = XdpZeroCopyPolicy.Copy, RxFrames = 64, RxRingSize = 64, TxFrames = 64, TxRingSize = 64 };
        var sockets = new List<XskSocket>();
        try
        {
            foreach (uint queue in new uint[] { 0, 1 })
            {
                sockets.Add(ns.InA(() => new XskSocket(ns.IfindexA, queue, options)));
                program.Steer((int)queue, port, sockets[^1].Fd);
            }
            Assert.True(ns.Reaches(other), "another port did not pass while a port was steered to a socket");
            var source = new IPEndPoint(ipv6 ? ns.Address6B : ns.AddressB, 0);
            using (Socket sender = ns.UdpInB(ipv6))
            {
                source.Port = ((IPEndPoint)sender.LocalEndPoint!).Port;
                for (int i = 0; i < 20; i++)
                {
                    sender.SendTo(BitConverter.GetBytes(i), steered.LocalEndPoint!);
                }
            }
            // Every datagram arrives whole on one of the sockets' rx rings (the parser checks every checksum), once.
            var arrived = new List<int>();
            int others = 0;
            Wait.Until(() =>
            {
                foreach (XskSocket socket in sockets)
                {
                    Receive(socket, port, source, arrived, ref others);
                }
                return arrived.Count >= 20;
            }, TimeSpan.FromSeconds(10), () => $"20 datagrams steered to the AF_XDP sockets (they have {arrived.Count}, and {others} other frames)");
            Assert.Equal(Enumerable.Range(0, 20), arrived.Order());
            Assert.Equal(0, others);
            Assert.Equal(0, steered.Available);
        }
        finally
        {
            foreach (XskSocket socket in sockets)
            {
                socket.Dispose();
            }
        }
        // The port is still steered, the program still attached: the kernel emptied the XSKMAP slots with the sockets.
        Assert.Contains((XdpSteeringProgram.ProgramName, program.ProgramId), ns.Programs());
        Assert.True(ns.Reaches(steered), "the steered port black-holed traffic after its socket was closed");
        ns.InA(program.Dispose);
    }

    [Fact]
    public void Generic_mode_is_the_mode_in_effect_and_ip_link_shows_xdpgeneric_until_Dispose()
    {
        using var ns = new XdpSteeringNamespaces();
        if (Skip(ns))
        {
            return;
        }
        using (XdpSteeringProgram program = ns.InA(() => XdpSteeringProgram.Attach(ns.IfindexA, XdpAttachMode.Generic)))
        {
            Assert.Equal(XdpAttachMode.Generic, program.ModeInEffect);
            string attached = Tool.Run(ns.IpPath!, "-n", ns.NamespaceA, "link", "show", ns.VethA);
            Assert.Contains("xdpgeneric", attached);
            Assert.Contains($"prog/xdp id {(program.UsesDispatcher ? "" : program.ProgramId.ToString(System.Globalization.CultureInfo.InvariantCulture))}", attached);
            ns.InA(program.Dispose);
        }
        // "xdpgeneric" and "prog/xdp id N" while attached (the interface's name holds "xdp" too).
        string link = Tool.Run(ns.IpPath!, "-n", ns.NamespaceA, "link", "show", ns.VethA);
        Assert.DoesNotContain("xdpgeneric", link);
        Assert.DoesNotContain("prog/xdp", link);
    }

    [Fact]
    public void Another_XDP_user_loaded_before_and_after_ours_coexists_and_stays_when_ours_is_detached()
    {
        using var ns = new XdpSteeringNamespaces();
        if (Skip(ns))
        {
            return;
        }
        if (!Dispatcher(ns, out string why))
        {
            LegacyOtherUserIsLeftAlone(ns, why);
            return;
        }
        using Socket receiver = ns.ReceiverInA();
        ushort port = (ushort)((IPEndPoint)receiver.LocalEndPoint!).Port;
        Assert.True(ns.LoadWithXdpLoader(ns.OtherObjectPath) is { ExitCode: 0 }, "xdp-loader could not load the other user's program");

        XdpSteeringProgram ours = ns.InA(() => XdpSteeringProgram.Attach(ns.IfindexA));
        try
        {
            // The dispatcher runs in skb mode since the other user's load: Auto fell back to it.
            Assert.Equal(XdpAttachMode.Generic, ours.ModeInEffect);
            ours.Steer(0, port, -1);
            ours.Steer(1, port, -1);
            ProcessResult after = ns.LoadWithXdpLoader(ns.OtherObjectPath);
            Assert.True(after.ExitCode == 0, $"xdp-loader could not add a program after ours: {after}");
            IReadOnlyList<(string Name, uint Id)> programs = ns.Programs();
            output.WriteLine(ns.Status());
            Assert.Equal(2, programs.Count(p => p.Name == Other));
            Assert.Single(programs, p => p.Name == XdpSteeringProgram.ProgramName);
            // Ours runs first (priority 40 before the default 50).
            Assert.Equal(XdpSteeringProgram.ProgramName, programs[0].Name);
            Assert.True(ns.Reaches(receiver), "traffic did not pass through ours and the other user's programs");
        }
        finally
        {
            ns.InA(ours.Dispose);
        }
        IReadOnlyList<(string Name, uint Id)> left = ns.Programs();
        Assert.Equal(2, left.Count(p => p.Name == Other));
        Assert.DoesNotContain(left, p => p.Name == XdpSteeringProgram.ProgramName);
        Assert.True(ns.Reaches(receiver), "traffic did not pass once ours was detached");
    }

    [Fact]
    public void Two_channels_on_two_queues_of_one_interface_coexist_and_detach_separately()
    {
        using var ns = new XdpSteeringNamespaces();
        if (Skip(ns))
        {
            return;
        }
        using Socket first = ns.ReceiverInA();
        using Socket second = ns.ReceiverInA();
        XdpSteeringProgram one = ns.InA(() => XdpSteeringProgram.Attach(ns.IfindexA));
        try
        {
            if (!one.UsesDispatcher)
            {
                // One program per interface without the dispatcher: the second channel is refused, clearly, and the first stays.
                XdpException refused = Assert.Throws<XdpException>(() => ns.InA(() => XdpSteeringProgram.Attach(ns.IfindexA)));
                output.WriteLine($"SKIPPED (coexistence): {NoDispatcher}; a second attach is refused: {refused.Message}");
                Assert.Contains(ns.VethA, refused.Message);
                Assert.Single(ns.Programs(), p => p.Id == one.ProgramId);
                return;
            }
            XdpSteeringProgram two = ns.InA(() => XdpSteeringProgram.Attach(ns.IfindexA));
            try
            {
                one.Steer(0, (ushort)((IPEndPoint)first.LocalEndPoint!).Port, -1);
                two.Steer(1, (ushort)((IPEndPoint)second.LocalEndPoint!).Port, -1);
                IReadOnlyList<(string Name, uint Id)> programs = ns.Programs();
                Assert.Contains((XdpSteeringProgram.ProgramName, one.ProgramId), programs);
                Assert.Contains((XdpSteeringProgram.ProgramName, two.ProgramId), programs);
                Assert.True(ns.Reaches(first) && ns.Reaches(second), "traffic did not pass through two of our programs");
            }
            finally
            {
                ns.InA(two.Dispose);
            }
            Assert.Equal([(XdpSteeringProgram.ProgramName, one.ProgramId)], ns.Programs());
            Assert.True(ns.Reaches(first), "traffic did not pass once the second channel's program was detached");
        }
        finally
        {
            ns.InA(one.Dispose);
        }
        Assert.Empty(ns.Programs());
    }

    [Fact]
    public void Program_of_a_killed_attacher_still_passes_its_steered_port_and_DetachLeftovers_removes_only_ours()
    {
        using var ns = new XdpSteeringNamespaces();
        if (Skip(ns))
        {
            return;
        }
        bool dispatcher = Dispatcher(ns, out string why);
        if (dispatcher)
        {
            Assert.True(ns.LoadWithXdpLoader(ns.OtherObjectPath) is { ExitCode: 0 }, "xdp-loader could not load the other user's program");
        }
        else
        {
            output.WriteLine($"(no other user beside the leftover: {why})");
        }
        using Socket steered = ns.ReceiverInA();
        using Socket other = ns.ReceiverInA();
        ushort port = (ushort)((IPEndPoint)steered.LocalEndPoint!).Port;

        // A process attaches our program and is killed with SIGKILL: nothing of it runs any more, its program stays.
        ProcessResult killed = ProcessRunner.Run("/bin/sh",
            ["-c", $"{ns.NsenterPath} --net=/run/netns/{ns.NamespaceA} {ns.XdpLoaderPath} load -m skb {ns.VethA} {ns.ObjectPath} && kill -KILL $$"],
            TimeSpan.FromSeconds(30));
        Assert.True(killed.ExitCode == 128 + 9, $"the attaching process was not killed by SIGKILL after attaching: {killed}");
        (string Name, uint Id) leftover = Assert.Single(ns.Programs(), p => p.Name == XdpSteeringProgram.ProgramName);

        // Its port map still lists the port (as a killed engine's would); its socket is gone, so the XSKMAP slot is empty.
        int portsMap = MapOf(ns, leftover.Id, "ports");
        foreach (int queue in new[] { 0, 1 })
        {
            ns.Bpftool("map", "update", "id", portsMap.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "key", $"{queue}", "0", "0", "0", $"{port >> 8}", $"{port & 0xff}", "0", "0", "value", "1", "0", "0", "0");
        }
        Assert.True(ns.Reaches(steered), "the killed attacher's program black-holed its steered port");
        Assert.True(ns.Reaches(other), "the killed attacher's program black-holed another port");

        Assert.Equal(1, ns.InA(() => XdpSteeringProgram.DetachLeftovers(ns.IfindexA)));
        IReadOnlyList<(string Name, uint Id)> left = ns.Programs();
        Assert.DoesNotContain(left, p => p.Name == XdpSteeringProgram.ProgramName);
        Assert.DoesNotContain(XdpSteeringProgram.ProgramName, ns.Status());
        if (dispatcher)
        {
            Assert.Single(left, p => p.Name == Other);
        }
        Assert.True(ns.Reaches(steered), "traffic did not pass after DetachLeftovers");
        Assert.Equal(0, ns.InA(() => XdpSteeringProgram.DetachLeftovers(ns.IfindexA)));
    }

    [Fact]
    public void DetachLeftovers_keeps_a_program_a_live_process_holds_unless_told_otherwise()
    {
        using var ns = new XdpSteeringNamespaces();
        if (Skip(ns))
        {
            return;
        }
        XdpSteeringProgram live = ns.InA(() => XdpSteeringProgram.Attach(ns.IfindexA));
        try
        {
            // This process holds it, as a running engine holds its channels' programs.
            Assert.Equal(0, ns.InA(() => XdpSteeringProgram.DetachLeftovers(ns.IfindexA)));
            Assert.Contains((XdpSteeringProgram.ProgramName, live.ProgramId), ns.Programs());
            Assert.Equal(1, ns.InA(() => XdpSteeringProgram.DetachLeftovers(ns.IfindexA, evenIfHeld: true)));
            Assert.Empty(ns.Programs());
        }
        finally
        {
            // Already detached by someone else: Dispose only frees the handles.
            ns.InA(live.Dispose);
        }
    }

    [Fact]
    public void Attach_list_and_Dispose_leave_no_program_descriptor_behind()
    {
        using var ns = new XdpSteeringNamespaces();
        if (Skip(ns))
        {
            return;
        }
        // libxdp 1.3 leaks the main program's descriptor on every lookup of an interface (XdpFdLeakGuard).
        int before = ProgramFds();
        for (int i = 0; i < 3; i++)
        {
            XdpSteeringProgram program = ns.InA(() => XdpSteeringProgram.Attach(ns.IfindexA));
            Assert.Equal(before + 2, ProgramFds()); // libxdp's and the bpf_object's
            Assert.NotEmpty(ns.Programs());
            Assert.Equal(0, ns.InA(() => XdpSteeringProgram.DetachLeftovers(ns.IfindexA)));
            ns.InA(program.Dispose);
        }
        Assert.Equal(0, ns.InA(() => XdpSteeringProgram.DetachLeftovers(ns.IfindexA)));
        Assert.Equal(before, ProgramFds());
    }

    /// <summary>Takes what <paramref name="socket"/>'s rx ring holds: datagrams from <paramref name="source"/> to <paramref name="port"/> (their 4-byte number) into <paramref name="arrived"/>, anything else counted.</summary>
    private static unsafe void Receive(XskSocket socket, ushort port, IPEndPoint source, List<int> arrived, ref int others)
    {
        int n = socket.PeekRx(64);
        for (int slot = 0; slot < n; slot++)
        {
            if (UdpFrameParser.Parse(socket.RxData(slot), (int)socket.RxDescriptor(slot).len, port, out UdpFrame frame) == UdpFrameVerdict.Accepted
                && frame.PayloadLength == 4)
            {
                EndpointBlock from = default;
                frame.ReadSource(ref from);
                Assert.Equal(source, from.ToIPEndPoint());
                arrived.Add(BitConverter.ToInt32(new ReadOnlySpan<byte>(frame.Payload, 4)));
            }
            else
            {
                others++;
            }
        }
        socket.ReleaseRx();
        _ = socket.RefillRx();
        Assert.NotEqual(XdpKickResult.Failed, socket.KickRx());
    }

    private static int ProgramFds() =>
        Directory.EnumerateFileSystemEntries("/proc/self/fd").Count(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget == "anon_inode:bpf-prog";
            }
            catch (IOException)
            {
                return false;
            }
        });

    [Fact]
    public void DetachLeftovers_leaves_another_users_program_alone_and_finds_nothing_on_a_bare_interface()
    {
        using var ns = new XdpSteeringNamespaces();
        if (Skip(ns))
        {
            return;
        }
        Assert.Equal(0, ns.InA(() => XdpSteeringProgram.DetachLeftovers(ns.IfindexA)));
        Assert.True(ns.LoadWithXdpLoader(ns.OtherObjectPath) is { ExitCode: 0 }, "xdp-loader could not load the other user's program");
        Assert.Equal(0, ns.InA(() => XdpSteeringProgram.DetachLeftovers(ns.IfindexA)));
        Assert.Single(ns.Programs(), p => p.Name == Other);
    }

    [Fact]
    public void An_interface_index_that_does_not_exist_is_a_clear_error()
    {
        using var ns = new XdpSteeringNamespaces();
        if (Skip(ns))
        {
            return;
        }
        const int Missing = 999_999;
        XdpException attach = Assert.Throws<XdpException>(() => ns.InA(() => XdpSteeringProgram.Attach(Missing)));
        output.WriteLine(attach.Message);
        Assert.Contains($"ifindex {Missing}", attach.Message);
        Assert.Equal(RtUdp.Core.Native.Errno.ENXIO, attach.Errno);
        XdpException leftovers = Assert.Throws<XdpException>(() => ns.InA(() => XdpSteeringProgram.DetachLeftovers(Missing)));
        Assert.Contains($"ifindex {Missing}", leftovers.Message);
        XdpException noObject = Assert.Throws<XdpException>(() => ns.InA(() => XdpSteeringProgram.Attach(ns.IfindexA, objectPath: "/nonexistent/rtudp_xdp.bpf.o")));
        Assert.Contains("/nonexistent/rtudp_xdp.bpf.o", noObject.Message);
        Assert.Empty(ns.Programs());
    }

    [Fact]
    public void A_bpffs_is_in_place_after_Ensure_and_a_configured_path_that_is_none_is_a_clear_error()
    {
        using var ns = new XdpSteeringNamespaces();
        if (Skip(ns))
        {
            return;
        }
        string path = XdpBpffs.Ensure();
        Assert.True(XdpBpffs.IsBpffs(path), $"{path} is not a bpffs after Ensure");
        Assert.Equal(path, XdpBpffs.Path);
        Assert.False(XdpBpffs.IsBpffs("/tmp"));
        XdpException e = Assert.Throws<XdpException>(() => XdpBpffs.Resolve("/tmp"));
        output.WriteLine(e.Message);
        Assert.Contains("LIBXDP_BPFFS=/tmp is not a mounted bpf filesystem", e.Message);
    }

    private const string NoDispatcher =
        "this kernel does not load BPF_PROG_TYPE_EXT (freplace) programs, which libxdp's dispatcher is made of " +
        "(bpftool feature probe: 'program_type ext is NOT available'); libxdp falls back to one program per interface";

    /// <summary>Without the dispatcher: another user's program makes our attach fail, clearly, and is left in place and passing.</summary>
    private void LegacyOtherUserIsLeftAlone(XdpSteeringNamespaces ns, string why)
    {
        output.WriteLine($"SKIPPED (coexistence): {why}; checking that ours leaves the other user's program alone instead");
        using Socket receiver = ns.ReceiverInA();
        Assert.True(ns.LoadWithXdpLoader(ns.OtherObjectPath) is { ExitCode: 0 }, "xdp-loader could not load the other user's program");
        XdpException refused = Assert.Throws<XdpException>(() => ns.InA(() => XdpSteeringProgram.Attach(ns.IfindexA)));
        output.WriteLine(refused.Message);
        Assert.Contains("xdp_program__attach", refused.Message);
        Assert.Single(ns.Programs(), p => p.Name == Other);
        Assert.True(ns.Reaches(receiver), "traffic did not pass the other user's program");
    }

    /// <summary>Whether libxdp's dispatcher works here: attaches ours alone once and looks.</summary>
    private static bool Dispatcher(XdpSteeringNamespaces ns, out string why)
    {
        bool uses = ns.InA(() =>
        {
            using XdpSteeringProgram probe = XdpSteeringProgram.Attach(ns.IfindexA, XdpAttachMode.Generic);
            return probe.UsesDispatcher;
        });
        why = uses ? "" : NoDispatcher;
        return uses;
    }

    private static int MapOf(XdpSteeringNamespaces ns, uint programId, string name)
    {
        using JsonDocument prog = JsonDocument.Parse(ns.Bpftool("prog", "show", "id", programId.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json"));
        foreach (JsonElement id in prog.RootElement.GetProperty("map_ids").EnumerateArray())
        {
            using JsonDocument map = JsonDocument.Parse(ns.Bpftool("map", "show", "id", id.GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture), "--json"));
            if (map.RootElement.GetProperty("name").GetString() == name)
            {
                return id.GetInt32();
            }
        }
        Assert.Fail($"program {programId} has no map named {name}");
        return 0;
    }

    private bool Skip(XdpSteeringNamespaces ns) => ns.Skips(output);
}

/// <summary>The xdp tests run one at a time: libxdp serialises per process, xdp-loader takes a machine-wide lock.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class XdpCollection
{
    public const string Name = "xdp";
}
