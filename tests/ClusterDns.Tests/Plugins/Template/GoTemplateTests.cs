using System.Text;
using ClusterDns.Plugins.Template;
using ClusterDns.Protocol;

namespace ClusterDns.Tests.Plugins.Template;

/// <summary>The Go text/template subset: what each form prints for a fixed query, and Go's parse and execution errors.</summary>
public sealed class GoTemplateTests
{
    private static TemplateData Data() => new()
    {
        Zone = "example.",
        Name = "ip-10-1-2-3.example.",
        Regex = "^ip-(?P<a>[0-9]+)-([0-9]+)",
        Match = ["ip-10-1", "10", "1"],
        Group = new Dictionary<string, string> { ["0"] = "ip-10-1", ["1"] = "10", ["2"] = "1", ["a"] = "10" },
        Class = "IN",
        Type = "A",
        Message = DnsMessage.CreateQuery("ip-10-1-2-3.example.", DnsType.A, id: 4660),
        Question = new DnsQuestion(DnsName.Parse("IP-10-1-2-3.example."), DnsType.A),
        Remote = "192.0.2.9",
        Meta = key => key == "kubernetes/client-namespace" ? "default" : string.Empty,
    };

    public static TheoryData<string, string> Outputs() => new()
    {
        { "plain text", "plain text" },
        { "{{ .Name }} {{.Zone}} {{ .Class }} {{ .Type }} {{ .Remote }} {{ .Regex }}", "ip-10-1-2-3.example. example. IN A 192.0.2.9 ^ip-(?P<a>[0-9]+)-([0-9]+)" },
        { "{{ index .Match 1 }}-{{ index .Match 2 }}", "10-1" },
        { "{{ .Group.a }} {{ index .Group \"2\" }} {{ .Group.nope }} [{{ index .Group \"nope\" }}]", "10 1 <no value> []" },
        { "{{ .Match }}", "[ip-10-1 10 1]" },
        { "{{ parseInt (index .Match 1) 16 8 }} {{ parseInt \"0x1f\" 0 64 }}", "16 31" },
        { "{{ .Group.a | printf \"%s!\" }}", "10!" },
        { "{{ printf \"%d %x %05d %-4s| %q %v %t\" 42 255 7 \"ab\" \"q\" .Match true }}", "42 ff 00007 ab  | \"q\" [ip-10-1 10 1] true" },
        { "{{ printf \"%d\" }} {{ printf \"%d\" \"x\" }}", "%!d(MISSING) %!d(string=x)" },
        { "{{ print 1 2 \"a\" \"b\" 3 }}|{{ println \"x\" 1 }}", "1 2ab3|x 1\n" },
        { "{{ .Meta \"kubernetes/client-namespace\" }}/{{ .Meta \"other\" }}", "default/" },
        { "{{ if eq .Type \"A\" }}yes{{ else }}no{{ end }}", "yes" },
        { "{{ if eq .Type \"AAAA\" \"MX\" }}x{{ else if ne .Class \"IN\" }}y{{ else }}z{{ end }}", "z" },
        { "{{ if and .Name (not .Group.nope) }}ok{{ end }}{{ if or \"\" 0 }}bad{{ end }}", "ok" },
        { "{{ if lt (len .Match) 4 }}{{ len .Name }}{{ end }} {{ gt 3 2 }} {{ le \"a\" \"b\" }}", "20 true true" },
        { "{{ with .Group.a }}<{{ . }}>{{ end }}{{ with .Group.nope }}x{{ else }}none{{ end }}", "<10>none" },
        { "{{ range $i, $m := .Match }}{{ $i }}={{ $m }};{{ end }}", "0=ip-10-1;1=10;2=1;" },
        { "{{ range .Match }}[{{ . }}]{{ else }}empty{{ end }}", "[ip-10-1][10][1]" },
        { "{{ $n := index .Match 1 }}{{ $n }}{{ $n = \"x\" }}{{ $n }} {{ $.Zone }}", "10x example." },
        { "a {{- /* comment */ -}} b {{- \" c \" -}} d", "ab c d" },
        { "{{ .Question.Name }} {{ .Question.Qtype }} {{ .Question.Qclass }} {{ .Message.Id }} {{ len .Message.Question }}", "IP-10-1-2-3.example. 1 1 4660 1" },
        { "{{ `raw {{` }}", "raw {{" },
        { "{{ (index .Match 0) }} {{ -1 }} {{ 0x10 }}", "ip-10-1 -1 16" },
    };

    [Theory]
    [MemberData(nameof(Outputs))]
    public void Prints_what_Go_prints(string text, string expected)
    {
        var template = GoTemplate.Parse("answer", text);
        var output = new StringBuilder();
        Assert.True(template.TryExecute(Data(), output, out var error), error);
        Assert.Equal(expected, output.ToString());
    }

    public static TheoryData<string, string> ExecutionErrors() => new()
    {
        { "{{ .Name }} 60 IN TXT \"{{ index .Match 2 }}\"{{ index .Match 3 }}",
            "template: answer:1:47: executing \"answer\" at <index .Match 3>: error calling index: index out of range: 3" },
        { "{{ .Grup.d }}", "template: answer:1:3: executing \"answer\" at <.Grup.d>: can't evaluate field Grup in type *template.templateData" },
        { "{{ parseInt .Group.a 10 3 }}", "template: answer:1:3: executing \"answer\" at <parseInt .Group.a 10 3>: error calling parseInt: strconv.ParseUint: parsing \"10\": value out of range" },
        { "{{ parseInt .Name 10 8 }}", "template: answer:1:3: executing \"answer\" at <parseInt .Name 10 8>: error calling parseInt: strconv.ParseUint: parsing \"ip-10-1-2-3.example.\": invalid syntax" },
        { "{{ .Meta }}", "template: answer:1:3: executing \"answer\" at <.Meta>: wrong number of args for Meta: want 1 got 0" },
        { "{{ lt .Name 1 }}", "template: answer:1:3: executing \"answer\" at <lt .Name 1>: error calling lt: incompatible types for comparison" },
    };

    [Theory]
    [MemberData(nameof(ExecutionErrors))]
    public void Execution_errors_read_like_Go(string text, string expected)
    {
        var template = GoTemplate.Parse("answer", text);
        Assert.False(template.TryExecute(Data(), new StringBuilder(), out var error));
        Assert.Equal(expected, error);
    }

    public static TheoryData<string, string> ParseErrors() => new()
    {
        { "{{", "template: answer:1: unclosed action" },
        { "{{ .Name", "template: answer:1: unclosed action" },
        { "{{ }}", "template: answer:1: missing value for command" },
        { "{{ html .Name }}", "template: answer:1: function \"html\" not defined" },
        { "{{ end }}", "template: answer:1: unexpected {{end}}" },
        { "{{ else }}", "template: answer:1: unexpected {{else}}" },
        { "a\n{{ if .Name }}", "template: answer:2: unexpected EOF" },
        { "{{ .Name | }}", "template: answer:1: missing command after |" },
        { "{{ .Name | \"x\" }}", "template: answer:1: non executable command in pipeline stage 2" },
        { "{{ \"unterminated }}", "template: answer:1: unterminated quoted string" },
        { "{{ template \"x\" }}", "template: answer:1: {{template}} is not supported in a template RR" },
        { "{{/* open", "template: answer:1: unclosed comment" },
    };

    [Theory]
    [MemberData(nameof(ParseErrors))]
    public void Parse_errors_read_like_Go(string text, string expected)
    {
        var exception = Assert.Throws<GoTemplateException>(() => GoTemplate.Parse("answer", text));
        Assert.Equal(expected, exception.Message);
    }

    [Theory]
    [InlineData("{{ .Name }} 60 IN A {{ .Group.a }}", "{{.Name}} 60 IN A {{.Group.a}}")]
    [InlineData("{{ index .Match 1 | printf \"%s\" }}", "{{index .Match 1 | printf \"%s\"}}")]
    [InlineData("{{ parseInt (index .Match 1) 16 8 }}", "{{parseInt (index .Match 1) 16 8}}")]
    [InlineData("{{ if .Name }}a{{ else }}b{{ end }}", "{{if .Name}}a{{else}}b{{end}}")]
    public void Source_is_Go_tree_text_for_metric_labels(string text, string expected) =>
        Assert.Equal(expected, GoTemplate.Parse("answer", text).Source);

    [Theory]
    [InlineData("(^|[.])ip-(?P<b>[0-9]*)-(?<c>[0-9]*)", "ip-1-2.", new[] { "", "", "b", "c" }, new[] { "ip-1-2", "", "1", "2" })]
    [InlineData("^(a)(?:b)(?P<x>c)([[:digit:]]+)$", "abc42", new[] { "", "", "x", "" }, new[] { "abc42", "a", "c", "42" })]
    public void Regex_groups_are_numbered_left_to_right_as_in_RE2(string pattern, string input, string[] names, string[] groups)
    {
        Assert.True(GoRegex.TryCompile(pattern, out var regex, out var error), error);
        Assert.Equal(names, regex!.GroupNames);
        var match = regex.Regex.Match(input);
        Assert.True(match.Success);
        Assert.Equal(groups, Enumerable.Range(0, names.Length).Select(i => match.Groups[i].Value).ToArray());
    }
}
