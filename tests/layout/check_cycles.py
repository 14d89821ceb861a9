#!/usr/bin/env python3
"""check_cycles.py OBJDIR: no two source files of the engine call each other, directly or
round a loop. Reads the symbols of every object file under OBJDIR with nm: an undefined
symbol of file A defined by file B is a call from A to B. Prints the loops and exits 1 if
there are any; prints the largest fan-in/out otherwise."""
import glob
import os
import subprocess
import sys

objdir = sys.argv[1]
objs = glob.glob(os.path.join(objdir, "**", "*.o"), recursive=True)
if not objs:
    sys.exit(f"check_cycles: no object files under {objdir}")
defs, uses = {}, {}
for o in objs:
    name = os.path.relpath(o, objdir).replace(".c.o", ".c")
    out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "TDBR":
            defs[p[2]] = name
        elif len(p) == 2 and p[0] == "U":
            uses.setdefault(name, set()).add(p[1])
edges = {}
for a, syms in uses.items():
    for s in syms:
        b = defs.get(s)
        if b and b != a:
            edges.setdefault(a, set()).add(b)

# Tarjan's strongly connected components: any component of more than one file is a loop.
index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges.get(v, ()):
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
        comps.append(comp)


for v in sorted(set(defs.values()) | set(uses)):
    if v not in index:
        visit(v)
loops = [sorted(c) for c in comps if len(c) > 1]
for c in loops:
    print("calls go round between:", " ".join(c))
    for a in c:
        for b in sorted(edges.get(a, ())):
            if b in c:
                print(f"   {a} -> {b}")
if loops:
    sys.exit(1)
print(f"check_cycles: {len(set(defs.values()))} files, {sum(len(v) for v in edges.values())} "
      "calls between files, no loop")
