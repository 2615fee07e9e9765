#!/usr/bin/env python3
"""Worst-case stack of the core's entry points from GCC's -fcallgraph-info=su output.

Reads the .ci call graphs (VCG) of all objects, takes each function's static frame
(GCC -fstack-usage), and finds the deepest call chain from the entry points. The one
recursion in the core (run_seq -> nested -> run_seq, try-each/run-sequence) is
bounded by BOOTREF_MAX_SEQ_NESTING, so its cycle is counted that many extra times.
Indirect calls are the port's functions: reported separately, not included.
Library leaf functions (memcpy/memset/memcmp) get a fixed allowance.

usage: stack_report.py NESTING LIBC_ALLOWANCE ENTRY[,ENTRY...] FILE.ci...
prints: <worst bytes> <entry> <chain>
"""
import re
import sys


def main() -> int:
    nesting = int(sys.argv[1])
    libc = int(sys.argv[2])
    entries = sys.argv[3].split(",")
    frames: dict[str, int] = {}
    dynamic: list[str] = []
    edges: dict[str, set[str]] = {}
    node_re = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
    edge_re = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
    for path in sys.argv[4:]:
        text = open(path, encoding="utf-8").read()
        for title, label in node_re.findall(text):
            m = re.search(r"(\d+) bytes \((static|dynamic[^)]*)\)", label)
            if m:
                frames[short(title)] = int(m.group(1))
                if m.group(2) != "static":
                    dynamic.append(short(title))
        for src, dst in edge_re.findall(text):
            edges.setdefault(short(src), set()).add(short(dst))

    cycle_cost = [0]  # reset per entry point

    def deepest(fn: str, path: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
        if fn in path:  # recursion: remember the cycle's cost, do not loop
            cyc = path[path.index(fn):]
            cycle_cost[0] = max(cycle_cost[0], sum(frames.get(f, 0) for f in cyc))
            return 0, ()
        if fn == "__indirect_call":
            return 0, ("<port>",)
        own = frames.get(fn)
        if own is None:  # library function (memcpy, ...) or libgcc helper
            return libc, (fn + "*",)
        best, chain = 0, ()
        for callee in sorted(edges.get(fn, ())):
            d, c = deepest(callee, path + (fn,))
            if d > best:
                best, chain = d, c
        return own + best, (fn,) + chain

    worst = (0, "", (), 0)
    for e in entries:
        cycle_cost[0] = 0
        d, chain = deepest(e, ())
        # conservative: the deepest chain plus every allowed extra round of the recursion
        d += nesting * cycle_cost[0]
        if d > worst[0]:
            worst = (d, e, chain, cycle_cost[0])
    note = " DYNAMIC FRAMES: " + ",".join(dynamic) if dynamic else ""
    print(f"{worst[0]} {' > '.join(worst[2])} (+{nesting} x {worst[3]} B recursion){note}")
    return 0


def short(title: str) -> str:
    return title.rsplit(":", 1)[-1]


if __name__ == "__main__":
    sys.exit(main())
