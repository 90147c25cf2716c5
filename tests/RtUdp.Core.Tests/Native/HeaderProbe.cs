using System.Globalization;
using System.Text;

namespace RtUdp.Core.Tests.Native;

/// <summary>
/// Compiles and runs a C program against the system headers and returns what it printed as
/// key/value pairs. The C compiler is the oracle for every layout and constant in the native layer.
/// </summary>
internal static class HeaderProbe
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static IReadOnlyDictionary<string, string> Run(string source)
    {
        DirectoryInfo dir = Directory.CreateTempSubdirectory("rtudp-probe-");
        try
        {
            string c = Path.Combine(dir.FullName, "probe.c");
            string exe = Path.Combine(dir.FullName, "probe");
            File.WriteAllText(c, source);

            ProcessResult gcc = ProcessRunner.Run(Tool.Require("gcc", "gcc libc6-dev linux-libc-dev"), ["-std=gnu11", "-Wall", "-o", exe, c], Timeout);
            if (gcc.ExitCode != 0)
            {
                throw new InvalidOperationException($"gcc failed ({gcc.ExitCode}); a C# name may not exist in the headers:\n{gcc.Stderr}\n--- probe.c ---\n{source}");
            }

            ProcessResult probe = ProcessRunner.Run(exe, [], Timeout);
            if (probe.ExitCode != 0)
            {
                throw new InvalidOperationException($"probe exited with {probe.ExitCode}:\n{probe.Stderr}");
            }

            return Parse(probe.Stdout);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static Dictionary<string, string> Parse(string stdout)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            values.Add(line[..space], line[(space + 1)..]);
        }

        return values;
    }

    /// <summary>Builds the probe's main(): one printf per checked value.</summary>
    public sealed class SourceBuilder
    {
        private readonly StringBuilder _body = new();
        private readonly IEnumerable<string> _headers;
        private readonly IEnumerable<string> _optionalHeaders;

        /// <param name="headers">Included unconditionally.</param>
        /// <param name="optionalHeaders">Included when the compiler has them (<c>__has_include</c>).</param>
        public SourceBuilder(IEnumerable<string> headers, IEnumerable<string>? optionalHeaders = null)
        {
            _headers = headers;
            _optionalHeaders = optionalHeaders ?? [];
        }

        public void Value(string key, string cExpression) =>
            _body.Append(CultureInfo.InvariantCulture, $"    P(\"{key}\", {cExpression});\n");

        /// <summary>Emits the value only when the headers are at least the given kernel version.</summary>
        public void ValueSince(string key, string cExpression, Version kernel)
        {
            _body.Append(CultureInfo.InvariantCulture,
                $"#if LINUX_VERSION_CODE >= KERNEL_VERSION({kernel.Major}, {kernel.Minor}, 0)\n");
            Value(key, cExpression);
            _body.Append("#else\n");
            _body.Append(CultureInfo.InvariantCulture, $"    puts(\"absent:{key} {kernel}\");\n");
            _body.Append("#endif\n");
        }

        public override string ToString()
        {
            var source = new StringBuilder("#define _GNU_SOURCE\n#include <stdio.h>\n#include <stddef.h>\n#include <linux/version.h>\n");
            foreach (string header in _headers)
            {
                source.Append(CultureInfo.InvariantCulture, $"#include <{header}>\n");
            }

            foreach (string header in _optionalHeaders)
            {
                source.Append(CultureInfo.InvariantCulture, $"#if __has_include(<{header}>)\n#include <{header}>\n#endif\n");
            }

            source.Append("#define P(key, expr) printf(\"%s %lld\\n\", key, (long long)(expr))\n");
            source.Append("int main(void)\n{\n").Append(_body).Append("    return 0;\n}\n");
            return source.ToString();
        }
    }
}
