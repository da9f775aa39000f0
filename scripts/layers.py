#!/usr/bin/env python3
"""layers.py [ROOT] -- the architecture's rules, checked over #include lines.

  lib/ (the ground floor) includes nothing of the other folders;
  can/, crypto/, upload/ and ledger/ never include agent/ (only agent/
      wires the others together);
  no product folder includes tests/;
  no two folders include each other, and the folders' include graph has
      no cycle at all;
  no two files include each other, directly or through others.

A folder is the first path component (can/sim/ belongs to can/). Only
"quoted" includes of files in the tree count. Prints each violation as
file:line: why and exits 1; prints "layers: clean" and exits 0."""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
PRODUCT = ["lib", "can", "crypto", "upload", "ledger", "agent"]
BELOW_AGENT = ["lib", "can", "crypto", "upload", "ledger"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')

files = {}          # path -> [(line, included path)]
for top in PRODUCT + ["tests"]:
    for dirpath, _, names in os.walk(os.path.join(ROOT, top)):
        for n in names:
            if not n.endswith((".c", ".h")):
                continue
            p = os.path.relpath(os.path.join(dirpath, n), ROOT)
            inc = []
            with open(os.path.join(ROOT, p), encoding="utf-8", errors="replace") as f:
                for i, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if m and os.path.exists(os.path.join(ROOT, m.group(1))):
                        inc.append((i, m.group(1)))
            files[p] = inc

def folder(p):
    return p.split("/", 1)[0]

errors = []
edges = {}          # folder -> {folder: (file, line)}
for p, inc in sorted(files.items()):
    fa = folder(p)
    for line, q in inc:
        fb = folder(q)
        if fa == fb:
            continue
        if fa in PRODUCT:
            edges.setdefault(fa, {}).setdefault(fb, (p, line))
        if fa == "lib":
            errors.append(f"{p}:{line}: lib/ is the ground floor: it includes nothing of {fb}/ ({q})")
        elif fa in BELOW_AGENT and fb == "agent":
            errors.append(f"{p}:{line}: {fa}/ must not include agent/ ({q}); only agent/ wires the folders together")
        elif fa in PRODUCT and fb == "tests":
            errors.append(f"{p}:{line}: product code includes a test file ({q})")

# Folder cycles, two-folder ones named as such.
reported = set()
for a, outs in sorted(edges.items()):
    for b, (p, line) in sorted(outs.items()):
        if b in edges and a in edges[b] and (b, a) not in reported:
            reported.add((a, b))
            q, qline = edges[b][a]
            errors.append(f"{p}:{line}: {a}/ and {b}/ include each other (and {q}:{qline})")

def find_cycle(graph):
    """A cycle of the graph as a list of nodes, or None (iterative DFS)."""
    state = {}
    for start in sorted(graph):
        if start in state:
            continue
        stack = [(start, iter(sorted(graph.get(start, ()))))]
        path = [start]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(graph.get(nxt, ())))))
                path.append(nxt)
    return None

if not reported:
    cyc = find_cycle({a: set(b) for a, b in edges.items()})
    if cyc:
        p, line = edges[cyc[0]][cyc[1]]
        errors.append(f"{p}:{line}: the folders include each other in a cycle: " + " -> ".join(c + "/" for c in cyc))

cyc = find_cycle({p: {q for _, q in inc} for p, inc in files.items()})
if cyc:
    line = next(l for l, q in files[cyc[0]] if q == cyc[1])
    errors.append(f"{cyc[0]}:{line}: an include cycle: " + " -> ".join(cyc))

for e in errors:
    print(e)
if errors:
    sys.exit(1)
print("layers: clean")
