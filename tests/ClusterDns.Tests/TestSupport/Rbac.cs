using k8s;
using k8s.Models;

namespace ClusterDns.Tests.TestSupport;

/// <summary>
/// A ClusterRole's rules as the API server's RBAC authorizer reads them: a request (verb, API group, resource) is
/// allowed when some rule lists the group, the resource and the verb (or <c>*</c> for any).
/// </summary>
public sealed class Rbac(IReadOnlyList<V1PolicyRule> rules)
{
    public static Rbac FromManifest(string path) =>
        new(KubernetesYaml.LoadAllFromString(File.ReadAllText(path)).OfType<V1ClusterRole>().Single().Rules.ToList());

    public bool Allows(string verb, string group, string resource) => rules.Any(rule =>
        Lists(rule.ApiGroups, group) && Lists(rule.Resources, resource) && Lists(rule.Verbs, verb));

    private static bool Lists(IList<string>? values, string value) => values is not null && (values.Contains("*") || values.Contains(value));
}
