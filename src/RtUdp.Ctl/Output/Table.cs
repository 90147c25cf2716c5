using System.Text;

namespace RtUdp.Ctl.Output;

/// <summary>A plain text table: columns padded to their widest cell, two spaces apart, numbers right-aligned.</summary>
internal sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public int RowCount => _rows.Count;

    public void Add(params object?[] cells) => _rows.Add(cells.Select(c => Text.Cell(c)).ToArray());

    public override string ToString()
    {
        int[] widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        bool[] numeric = headers.Select((_, i) => _rows.Count > 0 && _rows.All(r => i < r.Length && Text.LooksNumeric(r[i])) && _rows.Any(r => r[i] != "-")).ToArray();
        var text = new StringBuilder();
        Line(text, headers, widths, numeric);
        foreach (string[] row in _rows)
        {
            Line(text, row, widths, numeric);
        }
        return text.ToString();
    }

    private static void Line(StringBuilder text, string[] cells, int[] widths, bool[] numeric)
    {
        var line = new StringBuilder();
        for (int i = 0; i < widths.Length; i++)
        {
            string cell = i < cells.Length ? cells[i] : "";
            line.Append(numeric[i] ? cell.PadLeft(widths[i]) : cell.PadRight(widths[i]));
            if (i < widths.Length - 1)
            {
                line.Append("  ");
            }
        }
        text.Append(line.ToString().TrimEnd()).Append('\n');
    }
}
