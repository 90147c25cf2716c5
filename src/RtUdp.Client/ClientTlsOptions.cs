using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace RtUdp.Client;

/// <summary>TLS for an https:// address: a CA to trust (else the system's) and a client certificate for mutual TLS.</summary>
public sealed record ClientTlsOptions
{
    /// <summary>PEM file of the CA(s) the daemon's certificate must chain to; empty: the system trust store.</summary>
    public string CertificateAuthorityPath { get; init; } = "";

    /// <summary>PEM client certificate, for a daemon with Listen:Tls:ClientCertificateAuthorityPath.</summary>
    public string CertificatePath { get; init; } = "";

    /// <summary>PEM private key of the client certificate (empty: in <see cref="CertificatePath"/>).</summary>
    public string KeyPath { get; init; } = "";

    internal SslClientAuthenticationOptions Build()
    {
        var options = new SslClientAuthenticationOptions();
        if (CertificateAuthorityPath.Length > 0)
        {
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(CertificateAuthorityPath);
            if (authorities.Count == 0)
            {
                throw new ArgumentException($"'{CertificateAuthorityPath}' holds no PEM certificate");
            }
            options.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            options.CertificateChainPolicy.CustomTrustStore.AddRange(authorities);
        }
        if (CertificatePath.Length > 0)
        {
            X509Certificate2 certificate = X509Certificate2.CreateFromPemFile(CertificatePath, KeyPath.Length > 0 ? KeyPath : null);
            // SslStream wants a certificate whose key it can use from the platform store format.
            options.ClientCertificates = [X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null)];
            certificate.Dispose();
        }
        else if (KeyPath.Length > 0)
        {
            throw new ArgumentException("a client key needs its certificate (CertificatePath)");
        }
        return options;
    }
}
