using System.Text;

namespace RtUdp.Daemon.Api;

/// <summary>PascalCase enum names as the API's and the metrics' snake_case: "DroppedLate" → "dropped_late".</summary>
internal static class SnakeCase
{
    public static string FromPascal(string pascal)
    {
        var sb = new StringBuilder(pascal.Length + 8);
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (char.IsUpper(c) && i > 0)
            {
                sb.Append('_');
            }
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }
}
