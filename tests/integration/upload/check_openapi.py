#!/usr/bin/env python3
"""check_openapi.py OPENAPI.yaml SCHEMA FILE... — validate the OpenAPI
document itself (openapi-spec-validator) and each JSON document in FILE...
(one per line) against components/schemas/SCHEMA (jsonschema), so the
ledger's real answers are held to the published contract. Exit 77 when the
validator modules are missing."""
import json
import sys

try:
    import jsonschema
    import yaml
    from openapi_spec_validator import validate
except ImportError as e:
    print("check_openapi: %s" % e)
    sys.exit(77)


def inline(node, comps):
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            return inline(comps[name], comps)
        return {k: inline(v, comps) for k, v in node.items()}
    if isinstance(node, list):
        return [inline(v, comps) for v in node]
    return node


def main():
    doc = yaml.safe_load(open(sys.argv[1]))
    validate(doc)
    comps = doc["components"]["schemas"]
    schema = inline(comps[sys.argv[2]], comps)
    n = 0
    for path in sys.argv[3:]:
        for line in open(path):
            line = line.strip()
            if not line:
                continue
            jsonschema.validate(json.loads(line), schema)
            n += 1
    print("check_openapi: document valid; %d %s answers conform" % (n, sys.argv[2]))


main()
