#!/usr/bin/python3
"""Reads the JSON lines of benchmarks/compare.sh (files or stdin; other lines are skipped) and prints a markdown table:
median µs per engine and the ratios pytorch / generated and dynamic / generated (above 1: generated is faster)."""
import json
import sys

ENGINES = ("generated", "dynamic", "pytorch")


def read(streams):
    rows = {}
    order = []
    for stream in streams:
        for raw in stream:
            raw = raw.strip()
            if not raw.startswith("{"):
                continue
            try:
                r = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if "workload" not in r or "engine" not in r:
                continue
            key = (r["workload"], r["batch"], r["threads"], r["mode"])
            if key not in rows:
                rows[key] = {}
                order.append(key)
            rows[key][r["engine"]] = r
    return order, rows


def fmt_us(r):
    return "" if r is None else (f"{r['median_us']:,.2f}" if r['median_us'] < 100 else f"{r['median_us']:,.0f}")


def ratio(num, den):
    if num is None or den is None or not den["median_us"]:
        return ""
    return f"{num['median_us'] / den['median_us']:.2f}"


def main():
    paths = sys.argv[1:]
    streams = [open(p, encoding="utf-8") for p in paths] if paths else [sys.stdin]
    order, rows = read(streams)
    print("| workload | batch | threads | mode | generated µs | dynamic µs | pytorch µs | pytorch / generated "
          "| dynamic / generated | generated alloc B/step | dynamic alloc B/step |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for key in order:
        e = rows[key]
        g, d, p = (e.get(name) for name in ENGINES)
        alloc = lambda r: "" if r is None or r.get("alloc_bytes_per_step") is None else f"{r['alloc_bytes_per_step']:g}"
        w, b, t, m = key
        print(f"| {w} | {b} | {t} | {m} | {fmt_us(g)} | {fmt_us(d)} | {fmt_us(p)} | {ratio(p, g)} | {ratio(d, g)} "
              f"| {alloc(g)} | {alloc(d)} |")


if __name__ == "__main__":
    main()
