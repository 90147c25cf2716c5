using System.Text;
using System.Text.Json;
using Google.Protobuf;

namespace RtUdp.Ctl.Output;

/// <summary>--json output: protobuf messages in the proto3 JSON mapping (camelCase, enums by name, defaults included); other results via Utf8JsonWriter.</summary>
internal static class JsonOut
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithFormatEnumsAsIntegers(false));

    private static readonly JsonFormatter Indented = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithIndentation());

    /// <summary>One message on one line (streams: one line per object).</summary>
    public static string Line(IMessage message) => Formatter.Format(message);

    public static string Pretty(IMessage message) => Indented.Format(message);

    /// <summary>An object written with <paramref name="write"/>, indented.</summary>
    public static string Object(Action<Utf8JsonWriter> write, bool indented = true)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Embeds a message's proto3 JSON as a property value.</summary>
    public static void WriteMessage(Utf8JsonWriter writer, string name, IMessage message)
    {
        writer.WritePropertyName(name);
        writer.WriteRawValue(Formatter.Format(message));
    }
}
