#!/usr/bin/env python3
"""Fails when the library's object files call each other in a cycle.

The layers point one way (doc/DESIGN.md, rule 16): counters and the page at the
bottom, the timekeeper above them, readers on top.  A symbol defined in one
object and used by another is an edge; a strongly connected set of more
than one object is a cycle, printed with the symbols that close it.
Usage: layers.py OBJECT_DIR   (the chronon_obj objects of a build)
"""
import os
import subprocess
import sys


def symbols(path):
    out = subprocess.run(["nm", "--defined-only", "-g", path], capture_output=True,
                         text=True, check=True).stdout
    defined = {l.split()[-1] for l in out.splitlines() if len(l.split()) == 3}
    out = subprocess.run(["nm", "-u", path], capture_output=True, text=True,
                         check=True).stdout
    used = {l.split()[-1] for l in out.splitlines() if l.strip()}
    return defined, used


def main():
    root = sys.argv[1]
    objs = {}
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".o"):
                name = os.path.relpath(os.path.join(d, f), root)
                objs[name.replace(".c.o", ".c")] = symbols(os.path.join(d, f))
    owner = {}
    for name, (defined, _) in objs.items():
        for s in defined:
            owner[s] = name
    edges = {n: {} for n in objs}
    for name, (_, used) in objs.items():
        for s in used:
            o = owner.get(s)
            if o and o != name:
                edges[name].setdefault(o, []).append(s)
    # Tarjan's strongly connected components.
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(objs):
        if v not in index:
            visit(v)
    cycles = [sorted(c) for c in sccs if len(c) > 1]
    if not objs:
        print("layers: no object files under", root)
        return 2
    if not cycles:
        print(f"layers: {len(objs)} objects, no cycle")
        return 0
    for c in cycles:
        print("layers: a cycle between", ", ".join(c))
        for a in c:
            for b, syms in sorted(edges[a].items()):
                if b in c:
                    print(f"  {a} -> {b}: {', '.join(sorted(syms)[:4])}")
    return 1


sys.exit(main())
