namespace ClusterDns.Kubernetes;

/// <summary>Connection settings as given in the Corefile (docs/kubernetes-dns.md §6, §8.1).</summary>
public sealed record KubernetesConnectionOptions
{
    public string? Endpoint { get; init; }
    public string? TlsCert { get; init; }
    public string? TlsKey { get; init; }
    public string? TlsCa { get; init; }
    public string? Kubeconfig { get; init; }
    public string? KubeconfigContext { get; init; }
    public string ServiceAccountDirectory { get; init; } = "/var/run/secrets/kubernetes.io/serviceaccount";
}

/// <summary>What to watch and how patiently (docs/kubernetes-dns.md §8.2).</summary>
public sealed record WatchOptions
{
    public const string PodFieldSelector = "status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown";

    /// <summary>Server-side label selector for Services, EndpointSlices and Pods (`labels`).</summary>
    public string? LabelSelector { get; init; }

    /// <summary>Server-side label selector for Namespaces (`namespace_labels`).</summary>
    public string? NamespaceLabelSelector { get; init; }

    /// <summary>`pods verified`: adds a cluster-wide Pod watch.</summary>
    public bool WatchPods { get; init; }

    /// <summary>False with `noendpoints`.</summary>
    public bool WatchEndpointSlices { get; init; } = true;

    /// <summary>A `multicluster` zone is configured: watch ServiceImports and multicluster EndpointSlices.</summary>
    public bool WatchMulticluster { get; init; }

    public int PageSize { get; init; } = 500;

    /// <summary>Sent as timeoutSeconds; the server ends the watch after it and we re-watch.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Extra silence tolerated beyond WatchTimeout before the watchdog cancels a (possibly half-open) watch.</summary>
    public TimeSpan WatchdogSlack { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed for one LIST page (the API server's own limit for a non-watch request is 60 s).</summary>
    public TimeSpan ListTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A watch that stayed up this long (or delivered an event) was healthy: the backoff starts over after it.
    /// client-go's reflector likewise calls a watch that lasted under a second with no items a "very short watch".</summary>
    public TimeSpan HealthyWatchUptime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the per-resource loop watchdog looks for a stalled list/watch loop.</summary>
    public TimeSpan LoopCheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeProvider Time { get; init; } = TimeProvider.System;
}
