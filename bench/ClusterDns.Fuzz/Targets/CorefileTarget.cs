using System.Text;
using ClusterDns.Corefile;
using ClusterDns.Fuzz.Engine;

namespace ClusterDns.Fuzz.Targets;

/// <summary>
/// The Corefile parser (lexer, dispenser, imports, snippets, environment substitution) over mutated Corefiles: the only
/// exception allowed out is <see cref="CorefileException"/>, whose message CoreDNS users see. Imports resolve inside an
/// empty scratch directory so a mutated <c>import *</c> cannot wander through the checkout.
/// </summary>
public sealed class CorefileTarget : IFuzzTarget
{
    private static readonly Dictionary<string, string> Environment = new(StringComparer.Ordinal)
    {
        ["HOME"] = "/root",
        ["ZONE"] = "example.org",
        ["PORT"] = "1053",
        ["EMPTY"] = "",
        ["BRACE"] = "{",
    };

    private readonly CorefileParserOptions _options = new()
    {
        IsDirective = PluginOrder.Default.Contains,
        GetEnvironmentVariable = name => Environment.GetValueOrDefault(name),
    };

    private readonly string _fileName;

    public CorefileTarget()
    {
        var directory = Path.Combine(Path.GetTempPath(), "clusterdns-fuzz-corefile");
        Directory.CreateDirectory(directory);
        _fileName = Path.Combine(directory, "Corefile");
    }

    public string Name => "corefile";

    public bool IsText => true;

    public int LastSignature { get; private set; }

    public void Run(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        try
        {
            var document = CorefileParser.Parse(text, _fileName, _options);
            var signature = document.Blocks.Count;
            foreach (var block in document.Blocks)
            {
                signature = signature * 31 + block.Keys.Count * 7 + block.Directives.Count;
                foreach (var directive in block.Directives)
                {
                    signature = signature * 31 + directive.Name.Length + directive.Tokens.Count;
                }
            }
            LastSignature = signature;
        }
        catch (CorefileException exception)
        {
            // The message family (text up to the first quote or digit) is the signature: different errors, different paths.
            var message = exception.Message;
            var end = message.IndexOfAny(['"', '\'', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
            LastSignature = -(end < 0 ? message : message[..end]).GetHashCode(StringComparison.Ordinal);
        }
    }
}
