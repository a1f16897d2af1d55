namespace ClusterDns.Fuzz.Engine;

/// <summary>
/// One thing under test. <see cref="Run"/> feeds it an input; it must return normally for every input: the documented
/// parse failures are caught inside the target, so anything that escapes (an unexpected exception or a
/// <see cref="FuzzInvariantException"/>) is a crash.
/// </summary>
public interface IFuzzTarget
{
    string Name { get; }

    /// <summary>True when inputs are text (Corefile, YAML, JSON): the mutator then also uses token-level mutations.</summary>
    bool IsText { get; }

    /// <summary>A small number describing which path the last input took (parse result, record types, rcode...).
    /// Inputs that reach a new value join the live corpus: behavioural feedback, not code coverage.</summary>
    int LastSignature { get; }

    void Run(ReadOnlySpan<byte> input);
}

/// <summary>An input broke a property the target checks (round trip, size limit, TC bit...).</summary>
public sealed class FuzzInvariantException(string message) : Exception(message);
