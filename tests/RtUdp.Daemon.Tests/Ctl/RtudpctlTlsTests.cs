using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RtUdp.Daemon.Tests.Hosting;

namespace RtUdp.Daemon.Tests.Ctl;

/// <summary>
/// rtudpctl --address https://... against a real rtudpd whose TCP listener wants TLS and a client certificate
/// from a test CA: with --ca, --cert and --key it is served; without the client certificate or without the CA
/// it cannot connect (exit 3, "TLS").
/// </summary>
[Collection(HostingCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RtudpctlTlsTests(Xunit.Abstractions.ITestOutputHelper log)
{
    [Fact]
    public async Task Mutual_TLS_with_ca_cert_and_key()
    {
        string pki = Directory.CreateTempSubdirectory("rtudpctl-pki-").FullName;
        try
        {
            WritePki(pki);
            string config = $$"""
                {
                  "Listen": {
                    "UnixSocket": "",
                    "Tcp": "127.0.0.1:0",
                    "Tls": {
                      "CertificatePath": "{{pki}}/server.pem", "KeyPath": "{{pki}}/server.key",
                      "ClientCertificateAuthorityPath": "{{pki}}/ca.pem", "RequireClientCertificate": true
                    }
                  }
                }
                """;
            using HostedDaemon daemon = HostedDaemon.Start(config, watchdog: false);
            daemon.WaitForReady();
            string line = daemon.WaitForOutput(l => l.Contains("Listening on https://127.0.0.1:", StringComparison.Ordinal), HostedDaemon.StartTimeout, "the TLS listener");
            string url = System.Text.RegularExpressions.Regex.Match(line, @"https://127\.0\.0\.1:\d+").Value;

            string[] ca = ["--ca", Path.Combine(pki, "ca.pem")];
            string[] client = ["--cert", Path.Combine(pki, "client.pem"), "--key", Path.Combine(pki, "client.key")];
            CtlProcess.Result served = await Run(["health", "--address", url, .. ca, .. client]);
            Assert.True(served.Exit == 0, served + "\n" + daemon.Output);
            Assert.Equal($"{url}/: SERVING", served.Stdout.Trim());
            Assert.Equal(0, (await Run(["channels", "ls", "--json", "--address", url, .. ca, .. client])).Exit);

            CtlProcess.Result noClientCertificate = await Run(["health", "--address", url, .. ca]);
            Assert.Equal(3, noClientCertificate.Exit);
            Assert.Contains($"cannot reach rtudpd at {url}/", noClientCertificate.Stderr, StringComparison.Ordinal);

            CtlProcess.Result untrusted = await Run(["health", "--address", url, .. client]);
            Assert.Equal(3, untrusted.Exit);
            Assert.Contains("TLS", untrusted.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(pki, recursive: true);
        }
    }

    private async Task<CtlProcess.Result> Run(string[] args)
    {
        CtlProcess.Result result = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, args);
        log.WriteLine($"$ rtudpctl {string.Join(' ', args)}\n{result}");
        return result;
    }

    /// <summary>A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all PEM.</summary>
    private static void WritePki(string directory)
    {
        using RSA caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=rtudpctl test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using X509Certificate2 ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(directory, "ca.pem"), ca.ExportCertificatePem());

        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        Issue(directory, "server", ca, "CN=localhost", "1.3.6.1.5.5.7.3.1", names.Build(), 2);
        Issue(directory, "client", ca, "CN=rtudpctl test client", "1.3.6.1.5.5.7.3.2", null, 3);
    }

    private static void Issue(string directory, string name, X509Certificate2 ca, string subject, string usage, X509Extension? names, byte serial)
    {
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        if (names is not null)
        {
            request.CertificateExtensions.Add(names);
        }
        using X509Certificate2 certificate = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), [serial]);
        File.WriteAllText(Path.Combine(directory, name + ".pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, name + ".key"), key.ExportPkcs8PrivateKeyPem());
    }
}
