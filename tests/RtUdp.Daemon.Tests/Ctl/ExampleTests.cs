namespace RtUdp.Daemon.Tests.Ctl;

/// <summary>
/// examples/python (the rtudp package, clients/python, installed into a temporary directory first) and examples/csharp
/// (RtUdp.Client) run the seed's flow against the real daemon and print OK.
/// Needs: apt-get install -y python3-grpcio python3-protobuf python3-setuptools python3-wheel python3-pip protobuf-compiler protobuf-compiler-grpc libprotobuf-dev.
/// </summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ExampleTests(DaemonFixture daemon, Xunit.Abstractions.ITestOutputHelper log)
{
    [Fact]
    public async Task Python_example_runs_the_seed_flow()
    {
        Dictionary<string, string> environment = await PythonPackage.EnvironmentAsync();
        string script = Path.Combine(CtlProcess.Repository(), "examples", "python", "seed_flow.py");
        CtlProcess.Result result = await CtlProcess.RunAsync(PythonPackage.Python, [script, daemon.SocketPath], environment: environment);
        log.WriteLine(result.ToString());
        Assert.True(result.Exit == 0, $"{result}\n--- daemon ---\n{daemon.Log}");
        Assert.Contains("received b'hello from the seed flow' from 127.0.0.1:", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("sender stats: sent 1", result.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("OK", result.Stdout.Trim(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("unix")]
    [InlineData("tcp")]
    public async Task Csharp_example_runs_the_seed_flow(string transport)
    {
        string program = CtlProcess.Built(Path.Combine("examples", "csharp"), "seed-flow");
        string target = transport == "tcp" ? daemon.TcpAddress.ToString() : daemon.SocketPath;
        CtlProcess.Result result = await CtlProcess.RunAsync(program, [target]);
        log.WriteLine(result.ToString());
        Assert.True(result.Exit == 0, $"{result}\n--- daemon ---\n{daemon.Log}");
        Assert.Contains("received 'hello from C#' from 127.0.0.1:", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("sender stats: sent 1, ", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("send on the receiver: FailedPrecondition", result.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("OK", result.Stdout.Trim(), StringComparison.Ordinal);
    }
}
