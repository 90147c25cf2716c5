using System.CommandLine;
using System.CommandLine.Parsing;
using RtUdp.V1;

namespace RtUdp.Ctl.Cli;

/// <summary>Typed options with parsers that say what a bad value should look like.</summary>
internal static class Options
{
    public static Option<TimeSpan> Duration(string name, string description, TimeSpan? defaultValue = null)
    {
        var option = new Option<TimeSpan>(name)
        {
            Description = description,
            HelpName = "DURATION",
            CustomParser = ParseDuration,
        };
        if (defaultValue is { } value)
        {
            option.DefaultValueFactory = _ => value;
        }
        return option;
    }

    public static TimeSpan ParseDuration(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (ValueParsers.TryDuration(text, out TimeSpan value))
        {
            return value;
        }
        result.AddError($"'{text}' is not a duration such as 500us, 1ms, 2.5s or 1m");
        return default;
    }

    /// <summary>A rate in packets per second, above 0 and finite.</summary>
    public static Option<double?> Rate(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "RATE",
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double rate) && rate > 0 && double.IsFinite(rate))
            {
                return rate;
            }
            result.AddError($"'{text}' is not a rate in packets per second above 0");
            return null;
        },
    };

    public static Option<Endpoint?> Endpoint(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "ADDR:PORT",
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (ValueParsers.TryEndpoint(text, out Endpoint endpoint))
            {
                return endpoint;
            }
            result.AddError($"'{text}' is not ADDR:PORT with a numeric address, such as 127.0.0.1:9000 or [::1]:9000");
            return null;
        },
    };

    /// <summary>An option whose value is one of <paramref name="values"/> (kebab-case names).</summary>
    public static Option<T> Choice<T>(string name, string description, IReadOnlyDictionary<string, T> values, T defaultValue)
    {
        var option = new Option<T>(name)
        {
            Description = description + " (" + string.Join("|", values.Keys) + ")",
            HelpName = string.Join("|", values.Keys),
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (values.TryGetValue(text, out T? value))
                {
                    return value;
                }
                result.AddError($"'{text}' is not one of {string.Join(", ", values.Keys)}");
                return defaultValue;
            },
        };
        return option;
    }

    public static Option<int?> Int(string name, string description, int min, int max, string helpName = "N") => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int value) && value >= min && value <= max)
            {
                return value;
            }
            result.AddError($"'{text}' is not a whole number from {min} to {max}");
            return null;
        },
    };

    public static Option<long?> Long(string name, string description, long min, long max, string helpName = "N") => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long value) && value >= min && value <= max)
            {
                return value;
            }
            result.AddError($"'{text}' is not a whole number from {min} to {max}");
            return null;
        },
    };

    /// <summary>The channel NAME argument: "tx" or "channels/tx".</summary>
    public static Argument<string> ChannelArgument() => new("NAME") { Description = "The channel: its id (tx) or resource name (channels/tx)" };
}
