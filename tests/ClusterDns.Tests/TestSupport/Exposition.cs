using System.Globalization;
using System.Text;

namespace ClusterDns.Tests.TestSupport;

/// <summary>A parsed text exposition (format 0.0.4): family types and every sample with its labels.</summary>
internal sealed class Exposition
{
    private Exposition(string text, Dictionary<string, string> types, List<Sample> samples)
    {
        Text = text;
        Types = types;
        Samples = samples;
    }

    public string Text { get; }

    public IReadOnlyDictionary<string, string> Types { get; }

    public IReadOnlyList<Sample> Samples { get; }

    public static async Task<Exposition> ScrapeAsync(int port)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await client.GetAsync($"http://127.0.0.1:{port}/metrics");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString());
        return Parse(await response.Content.ReadAsStringAsync());
    }

    public static Exposition Parse(string text)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new List<Sample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                types[parts[2]] = parts[3];
                continue;
            }
            if (line[0] == '#')
            {
                continue;
            }
            samples.Add(ParseSample(line));
        }
        return new Exposition(text, types, samples);
    }

    private static Sample ParseSample(string line)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var brace = line.IndexOf('{', StringComparison.Ordinal);
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        string name;
        int rest;
        if (brace >= 0 && brace < space)
        {
            name = line[..brace];
            var i = brace + 1;
            while (line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                var key = line[i..eq];
                i = eq + 2; // skip ="
                var value = new StringBuilder();
                while (line[i] != '"')
                {
                    if (line[i] == '\\')
                    {
                        i++;
                        value.Append(line[i] == 'n' ? '\n' : line[i]);
                    }
                    else
                    {
                        value.Append(line[i]);
                    }
                    i++;
                }
                labels[key] = value.ToString();
                i++; // closing quote
                if (line[i] == ',')
                {
                    i++;
                }
            }
            rest = i + 2;
        }
        else
        {
            name = line[..space];
            rest = space + 1;
        }
        var valueText = line[rest..].Split(' ')[0];
        var number = valueText switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            _ => double.Parse(valueText, CultureInfo.InvariantCulture),
        };
        return new Sample(name, labels, number);
    }

    public IEnumerable<Sample> Find(string name, params (string Key, string Value)[] match) =>
        Samples.Where(s => s.Name == name && match.All(m => s.Labels.TryGetValue(m.Key, out var v) && v == m.Value));

    /// <summary>The sum of the matching samples (0 when none: a series not yet created).</summary>
    public double Sum(string name, params (string Key, string Value)[] match) => Find(name, match).Sum(s => s.Value);
}

internal sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);
