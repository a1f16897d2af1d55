#!/usr/bin/env python3
"""table.py RESULTS -> one markdown table from bench/load/run.sh results.

RESULTS/<variant>/<server>-<N>/{blast,rate}/result.json (bench.py output). QPS per busy core = udp-blast QPS /
the server process's CPU (user+system from /proc/PID/stat, in cores: the issue's metric); "QPS ÷ CPU 0 busy" divides
by everything CPU 0 did instead (softirq and other processes included), a stricter cross-check. Ratios compare that number with the reference
server of the same variant and size (miekg for one core, miekg-rp2 for two, the upstream peer alone for cache).
"""
import json, os, sys

REF = {"one": "miekg", "two": "miekg-rp2", "tcp-pipelined": "knot", "tcp-single": "knot"}
VARIANT_TITLE = {"one": "1 server core (CPU 0), udp-blast on CPU 1",
                 "two": "2 server cores (CPUs 0-1), udp-blast unpinned",
                 "cache": "cache hit path: ClusterDns `cache 30` + `forward` to the peer, vs the peer alone",
                 "tcp-pipelined": "DNS over TCP, 16 persistent connections x 20 pipelined queries (udp-blast -T on CPU 1), "
                                  "server on CPU 0, servers interleaved round by round",
                 "tcp-single": "DNS over TCP, 64 persistent connections x 1 query at a time (CoreDNS forward force_tcp)"}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        return None


def rounds(path):
    """The interleaved rounds of the tcp variant (round-<i>/result.json, one run each) as one result: medians of
    QPS and of QPS per busy core, and the spread of the latter."""
    rs = [r for r in (load(os.path.join(path, d, "result.json")) for d in sorted(os.listdir(path)) if d.startswith("round-"))
          if r and r.get("server_cpu_pct")]
    if not rs:
        return None
    med = lambda xs: sorted(xs)[len(xs) // 2] if len(xs) % 2 else sum(sorted(xs)[len(xs) // 2 - 1:len(xs) // 2 + 1]) / 2
    per = [r["qps_median"] / (r["server_cpu_pct"] / 100.0) for r in rs]
    cpu = med([r["server_cpu_pct"] for r in rs])
    return {"qps_median": med([r["qps_median"] for r in rs]), "server_cpu_pct": cpu, "per_core_median": med(per),
            "spread": f"{min(per):,.0f}–{max(per):,.0f}", "cpu0_busy": med([r["cpu0_busy"] for r in rs]),
            "lost_median": med([r["lost_median"] or 0 for r in rs]), "mem_end": rs[-1].get("mem_end"),
            "n_runs": len(rs), "n_noisy": sum(r["n_noisy"] for r in rs)}


def fmt(x, nd=0):
    return "–" if x is None else f"{x:,.{nd}f}"


def main():
    out = sys.argv[1]
    machine = os.path.join(out, "machine.txt")
    rows = {}
    tcp_variants = sorted(d for d in os.listdir(out) if d.startswith("tcp-") and os.path.isdir(os.path.join(out, d)))
    for variant in ["one", "two", "cache"] + tcp_variants:
        vdir = os.path.join(out, variant)
        if not os.path.isdir(vdir):
            continue
        for entry in sorted(os.listdir(vdir)):
            server, _, n = entry.rpartition("-")
            blast = load(os.path.join(vdir, entry, "blast", "result.json")) or rounds(os.path.join(vdir, entry))
            rate = load(os.path.join(vdir, entry, "rate", "result.json"))
            if not blast:
                continue
            cpu = blast.get("server_cpu_pct")
            per_core = blast.get("per_core_median") or (blast["qps_median"] / (cpu / 100.0) if cpu else None)
            mem = blast.get("mem_end") or {}
            rows.setdefault(variant, []).append({
                "server": server, "n": int(n), "qps": blast["qps_median"], "cpu": cpu, "per_core": per_core,
                "p50": rate.get("rate_p50_ms") if rate else None, "p99": rate.get("rate_p99_ms") if rate else None,
                "rate_lost": rate.get("rate_lost") if rate else None,
                "rss": mem.get("tree_rss_kb", 0) / 1024.0 if mem else None, "rss_kb": mem.get("tree_rss_kb"),
                "cpu0": blast.get("cpu0_busy") if variant != "two" else None,
                "lost": blast.get("lost_median"), "runs": f"{blast['n_runs']}+{blast['n_noisy']}",
                "spread": blast.get("spread"),
            })
    print("| variant | server | N | QPS | server CPU (cores) | QPS per busy core | ratio vs ref | CPU 0 busy % | QPS ÷ CPU 0 busy | "
          "p50 / p99 at 20k QPS (ms) | lost at 20k | RSS (MiB) | runs+noisy |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    slopes = []
    for variant, rs in rows.items():
        order = {"clusterdns": 0}
        rs.sort(key=lambda r: (r["n"], order.get(r["server"].split("+")[0], 1), r["server"]))
        for r in rs:
            if variant == "cache":
                ref = r["server"].split("+", 1)[1] if "+" in r["server"] else r["server"]
            else:
                ref = REF.get(variant, "knot")
            base = next((x for x in rs if x["server"] == ref and x["n"] == r["n"]), None)
            ratio = r["per_core"] / base["per_core"] if base and base["per_core"] and r["per_core"] else None
            ratio_s = "1.00 (ref)" if base is r else (f"**{ratio:.2f}×**" if ratio and r["server"].startswith("clusterdns")
                                                      else (f"{ratio:.2f}×" if ratio else "–"))
            lat = f"{fmt(r['p50'], 3)} / {fmt(r['p99'], 3)}" if r["p99"] is not None else "–"
            print(f"| {variant} | {r['server']} | {r['n']:,} | {fmt(r['qps'])} | "
                  f"{fmt(r['cpu'] / 100.0 if r['cpu'] else None, 2)} | {fmt(r['per_core'])}"
                  f"{' (' + r['spread'] + ')' if r.get('spread') else ''} | {ratio_s} | "
                  f"{fmt(r['cpu0'])} | {fmt(r['qps'] / (r['cpu0'] / 100.0) if r['cpu0'] else None)} | {lat} | "
                  f"{fmt(r['rate_lost'])} | {fmt(r['rss'], 1)} | {r['runs']} |")
        if variant == "one":
            servers = sorted({r["server"] for r in rs})
            for s in servers:
                by_n = sorted((r for r in rs if r["server"] == s and r["rss_kb"]), key=lambda r: r["n"])
                if len(by_n) >= 2 and by_n[-1]["n"] > by_n[0]["n"]:
                    slope = (by_n[-1]["rss_kb"] - by_n[0]["rss_kb"]) / (by_n[-1]["n"] - by_n[0]["n"])
                    slopes.append(f"{s}: {slope:.2f} KiB per extra service ({by_n[0]['n']:,}→{by_n[-1]['n']:,})")
    if "two" in rows:
        one = {(r["server"], r["n"]): r for r in rows.get("one", [])}
        for r in rows["two"]:
            base = one.get((r["server"].replace("-rp2", ""), r["n"]))
            if base and base["qps"]:
                slopes.append(f"{r['server']} on 2 cores: {r['qps'] / base['qps']:.2f}× the QPS of "
                              f"{base['server']} on 1 core")
    if slopes:
        print()
        for s in slopes:
            print(f"- {s}")
    pending = os.path.join(out, "cache-pending.txt")
    if os.path.exists(pending):
        print(f"- cache variant: {open(pending).read().strip()}")
    if os.path.exists(machine):
        print()
        for line in open(machine):
            print(f"- {line.strip()}")
    tcp_load = os.path.join(out, "tcp-load.txt")
    if os.path.exists(tcp_load):
        print(f"- tcp variants, load average (1/5/15 min) before each run: {'; '.join(line.strip() for line in open(tcp_load))}")


if __name__ == "__main__":
    main()
