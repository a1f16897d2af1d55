using System.Text.Json;
using k8s.Models;

namespace ClusterDns.Kubernetes;

/// <summary>The readers of the five kinds: only the fields <see cref="ModelConverter"/> uses (the list and watch framing,
/// metadata and the token helpers are in ApiJson.cs).</summary>
internal static partial class ApiJson
{
    private static V1Namespace ReadNamespace(ref Utf8JsonReader r)
    {
        var ns = new V1Namespace();
        if (!Begin(ref r, "a Namespace"))
        {
            return ns;
        }
        while (Next(ref r))
        {
            if (r.ValueTextEquals("metadata"u8)) ns.Metadata = Meta(ref r);
            else Skip(ref r);
        }
        return ns;
    }

    private static V1Service ReadService(ref Utf8JsonReader r)
    {
        var svc = new V1Service();
        if (!Begin(ref r, "a Service"))
        {
            return svc;
        }
        while (Next(ref r))
        {
            if (r.ValueTextEquals("metadata"u8)) svc.Metadata = Meta(ref r);
            else if (r.ValueTextEquals("spec"u8)) svc.Spec = ServiceSpec(ref r);
            else if (r.ValueTextEquals("status"u8)) svc.Status = ServiceStatus(ref r);
            else Skip(ref r);
        }
        return svc;
    }

    private static V1ServiceSpec? ServiceSpec(ref Utf8JsonReader r)
    {
        r.Read();
        if (!Begin(ref r, "a Service spec"))
        {
            return null;
        }
        var spec = new V1ServiceSpec();
        while (Next(ref r))
        {
            if (r.ValueTextEquals("type"u8)) spec.Type = String(ref r);
            else if (r.ValueTextEquals("clusterIP"u8)) spec.ClusterIP = String(ref r);
            else if (r.ValueTextEquals("clusterIPs"u8)) spec.ClusterIPs = Strings(ref r);
            else if (r.ValueTextEquals("externalName"u8)) spec.ExternalName = String(ref r);
            else if (r.ValueTextEquals("externalIPs"u8)) spec.ExternalIPs = Strings(ref r);
            else if (r.ValueTextEquals("ports"u8)) spec.Ports = ServicePorts(ref r);
            else Skip(ref r);
        }
        return spec;
    }

    private static List<V1ServicePort>? ServicePorts(ref Utf8JsonReader r) =>
        ObjectList(ref r, "ports", "a port", static (ref Utf8JsonReader r, V1ServicePort p) =>
        {
            if (r.ValueTextEquals("name"u8)) p.Name = String(ref r);
            else if (r.ValueTextEquals("protocol"u8)) p.Protocol = String(ref r);
            else if (r.ValueTextEquals("port"u8)) p.Port = Int(ref r) ?? 0;
            else Skip(ref r);
        });

    private static V1ServiceStatus? ServiceStatus(ref Utf8JsonReader r)
    {
        r.Read();
        if (!Begin(ref r, "a Service status"))
        {
            return null;
        }
        var status = new V1ServiceStatus();
        while (Next(ref r))
        {
            if (!r.ValueTextEquals("loadBalancer"u8))
            {
                Skip(ref r);
                continue;
            }
            r.Read();
            if (!Begin(ref r, "loadBalancer"))
            {
                continue;
            }
            status.LoadBalancer = new V1LoadBalancerStatus();
            while (Next(ref r))
            {
                if (!r.ValueTextEquals("ingress"u8))
                {
                    Skip(ref r);
                    continue;
                }
                status.LoadBalancer.Ingress = ObjectList(ref r, "ingress", "an ingress point", static (ref Utf8JsonReader r, V1LoadBalancerIngress lb) =>
                {
                    if (r.ValueTextEquals("ip"u8)) lb.Ip = String(ref r);
                    else if (r.ValueTextEquals("hostname"u8)) lb.Hostname = String(ref r);
                    else Skip(ref r);
                });
            }
        }
        return status;
    }

    private static V1EndpointSlice ReadEndpointSlice(ref Utf8JsonReader r)
    {
        var slice = new V1EndpointSlice();
        if (!Begin(ref r, "an EndpointSlice"))
        {
            return slice;
        }
        while (Next(ref r))
        {
            if (r.ValueTextEquals("metadata"u8)) slice.Metadata = Meta(ref r);
            else if (r.ValueTextEquals("addressType"u8)) slice.AddressType = String(ref r);
            else if (r.ValueTextEquals("ports"u8)) slice.Ports = SlicePorts(ref r);
            else if (r.ValueTextEquals("endpoints"u8)) slice.Endpoints = Endpoints(ref r);
            else Skip(ref r);
        }
        return slice;
    }

    private static List<Discoveryv1EndpointPort>? SlicePorts(ref Utf8JsonReader r) =>
        ObjectList(ref r, "ports", "a port", static (ref Utf8JsonReader r, Discoveryv1EndpointPort p) =>
        {
            if (r.ValueTextEquals("name"u8)) p.Name = String(ref r);
            else if (r.ValueTextEquals("protocol"u8)) p.Protocol = String(ref r);
            else if (r.ValueTextEquals("port"u8)) p.Port = Int(ref r);
            else Skip(ref r);
        });

    private static List<V1Endpoint>? Endpoints(ref Utf8JsonReader r) =>
        ObjectList(ref r, "endpoints", "an endpoint", static (ref Utf8JsonReader r, V1Endpoint e) =>
        {
            if (r.ValueTextEquals("addresses"u8)) e.Addresses = Strings(ref r);
            else if (r.ValueTextEquals("hostname"u8)) e.Hostname = String(ref r);
            else if (r.ValueTextEquals("nodeName"u8)) e.NodeName = String(ref r);
            else if (r.ValueTextEquals("zone"u8)) e.Zone = String(ref r);
            else if (r.ValueTextEquals("targetRef"u8)) e.TargetRef = TargetRef(ref r);
            else if (r.ValueTextEquals("conditions"u8)) e.Conditions = Conditions(ref r);
            else Skip(ref r);
        });

    private static V1ObjectReference? TargetRef(ref Utf8JsonReader r)
    {
        r.Read();
        if (!Begin(ref r, "targetRef"))
        {
            return null;
        }
        var target = new V1ObjectReference();
        while (Next(ref r))
        {
            if (r.ValueTextEquals("name"u8)) target.Name = String(ref r);
            else if (r.ValueTextEquals("namespace"u8)) target.NamespaceProperty = String(ref r);
            else if (r.ValueTextEquals("kind"u8)) target.Kind = String(ref r);
            else Skip(ref r);
        }
        return target;
    }

    private static V1EndpointConditions? Conditions(ref Utf8JsonReader r)
    {
        r.Read();
        if (!Begin(ref r, "conditions"))
        {
            return null;
        }
        var conditions = new V1EndpointConditions();
        while (Next(ref r))
        {
            if (r.ValueTextEquals("ready"u8)) conditions.Ready = Bool(ref r);
            else if (r.ValueTextEquals("serving"u8)) conditions.Serving = Bool(ref r);
            else if (r.ValueTextEquals("terminating"u8)) conditions.Terminating = Bool(ref r);
            else Skip(ref r);
        }
        return conditions;
    }

    private static V1Pod ReadPod(ref Utf8JsonReader r)
    {
        var pod = new V1Pod();
        if (!Begin(ref r, "a Pod"))
        {
            return pod;
        }
        while (Next(ref r))
        {
            if (r.ValueTextEquals("metadata"u8))
            {
                pod.Metadata = Meta(ref r);
                continue;
            }
            if (!r.ValueTextEquals("status"u8))
            {
                Skip(ref r);
                continue;
            }
            r.Read();
            if (!Begin(ref r, "a Pod status"))
            {
                continue;
            }
            pod.Status = new V1PodStatus();
            while (Next(ref r))
            {
                if (r.ValueTextEquals("podIP"u8)) pod.Status.PodIP = String(ref r);
                else if (r.ValueTextEquals("phase"u8)) pod.Status.Phase = String(ref r);
                else Skip(ref r);
            }
        }
        return pod;
    }

    private static V1Alpha1ServiceImport ReadServiceImport(ref Utf8JsonReader r)
    {
        var import = new V1Alpha1ServiceImport();
        if (!Begin(ref r, "a ServiceImport"))
        {
            return import;
        }
        while (Next(ref r))
        {
            if (r.ValueTextEquals("metadata"u8))
            {
                import.Metadata = Meta(ref r) ?? new V1ObjectMeta();
                continue;
            }
            if (!r.ValueTextEquals("spec"u8))
            {
                Skip(ref r);
                continue;
            }
            r.Read();
            if (!Begin(ref r, "a ServiceImport spec"))
            {
                continue;
            }
            var spec = import.Spec = new V1Alpha1ServiceImportSpec();
            while (Next(ref r))
            {
                if (r.ValueTextEquals("type"u8)) spec.Type = String(ref r);
                else if (r.ValueTextEquals("ips"u8)) spec.Ips = Strings(ref r);
                else if (r.ValueTextEquals("ports"u8)) spec.Ports = ImportPorts(ref r);
                else Skip(ref r);
            }
        }
        return import;
    }

    private static List<V1Alpha1ServiceImportPort>? ImportPorts(ref Utf8JsonReader r) =>
        ObjectList(ref r, "ports", "a port", static (ref Utf8JsonReader r, V1Alpha1ServiceImportPort p) =>
        {
            if (r.ValueTextEquals("name"u8)) p.Name = String(ref r);
            else if (r.ValueTextEquals("protocol"u8)) p.Protocol = String(ref r);
            else if (r.ValueTextEquals("port"u8)) p.Port = Int(ref r) ?? 0;
            else Skip(ref r);
        });
}
