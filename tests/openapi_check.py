#!/usr/bin/env python3
"""openapi_check.py: check docs/openapi.yaml against a running sopd.

usage: openapi_check.py OPENAPI.yaml appliance/http.c http://HOST:PORT

Prints "ok - ..." / "not ok - ..." lines (the integration tests' format):
- every route of http.c's table is documented and every documented route
  is in the table;
- every documented operation, called in the document's order with the
  document's examples (path parameters, query parameters and bodies),
  answers its first documented 2xx status, with the documented content
  type, and a JSON answer has every required property of its schema (and
  the documented types and enums), recursively;
- a method a path does not document is a 405 and an unknown path a 404,
  both with the documented Error schema.
"""
import http.client
import json
import re
import sys
import urllib.parse

import yaml

METHODS = ("get", "post", "put", "delete", "patch", "head", "options")


def out(good, what):
    print(("ok - " if good else "not ok - ") + what)
    return good


class Spec:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)

    def resolve(self, o):
        while isinstance(o, dict) and "$ref" in o:
            node = self.doc
            for k in o["$ref"].lstrip("#/").split("/"):
                node = node[k]
            o = node
        return o

    def validate(self, v, schema, where, errs):
        schema = self.resolve(schema)
        for sub in schema.get("allOf", []):
            self.validate(v, sub, where, errs)
        if v is None:
            if not schema.get("nullable", False) and "type" in schema:
                errs.append("%s: null" % where)
            return
        t = schema.get("type")
        if t == "integer":
            good = isinstance(v, int) and not isinstance(v, bool)
        elif t == "number":
            good = isinstance(v, (int, float)) and not isinstance(v, bool)
        elif t is not None:
            good = isinstance(v, {"object": dict, "array": list,
                                  "string": str, "boolean": bool}[t])
        else:
            good = True
        if not good:
            errs.append("%s: %s is not of type %s" % (where, json.dumps(v)[:60], t))
            return
        if "enum" in schema and v not in schema["enum"]:
            errs.append("%s: %r not in %s" % (where, v, schema["enum"]))
        if isinstance(v, dict):
            for k in schema.get("required", []):
                if k not in v:
                    errs.append("%s: no %s" % (where, k))
            for k, sub in schema.get("properties", {}).items():
                if k in v:
                    self.validate(v[k], sub, "%s.%s" % (where, k), errs)
        if isinstance(v, list) and "items" in schema:
            for i, x in enumerate(v[:100]):
                self.validate(x, schema["items"], "%s[%d]" % (where, i), errs)

    def operations(self):
        for path, ops in self.doc["paths"].items():
            for method, op in ops.items():
                if method in METHODS:
                    yield path, method, op

    def example(self, p):
        p = self.resolve(p)
        if "example" in p:
            return p["example"]
        return self.resolve(p.get("schema", {})).get("example")


def request(base, method, path, body=None):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    headers = {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    c.request(method.upper(), path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    ctype = r.getheader("Content-Type", "")
    c.close()
    return r.status, ctype, data


def served_routes(src):
    """(method, path) of http.c's route table, "*" as "{}"."""
    table = re.findall(r'\{\s*([01]),\s*"(/[^"]*)",\s*http_\w+\s*\}', src)
    return {("post" if m == "1" else "get", p.replace("*", "{}"))
            for m, p in table}


def check_routes(spec, src):
    served = served_routes(src)
    documented = {(m, re.sub(r"\{[^}]+\}", "{}", p))
                  for p, m, _ in spec.operations()}
    for m, p in sorted(served - documented):
        print("# served, not documented: %s %s" % (m.upper(), p))
    for m, p in sorted(documented - served):
        print("# documented, not served: %s %s" % (m.upper(), p))
    out(len(served) > 10, "the route table of http.c is read (%d routes)" % len(served))
    out(served <= documented, "every route sopd serves is documented")
    out(documented <= served, "every documented route is served")


def build_path(spec, path, op):
    query = {}
    for p in op.get("parameters", []):
        p = spec.resolve(p)
        ex = spec.example(p)
        if p["in"] == "path":
            if ex is None:
                return None
            path = path.replace("{%s}" % p["name"], urllib.parse.quote(str(ex)))
        elif p["in"] == "query" and ex is not None:
            query[p["name"]] = ex
    if query:
        path += "?" + urllib.parse.urlencode(query)
    return path


def body_of(spec, op):
    rb = spec.resolve(op.get("requestBody", {}))
    media = rb.get("content", {}).get("application/json")
    if media is None:
        return "{}"
    ex = media.get("example")
    return json.dumps(ex if ex is not None else {})


def check_answer(spec, what, resp, status, ctype, data):
    resp = spec.resolve(resp)
    content = resp.get("content", {})
    if not content:
        return out(True, what)
    want = next(iter(content))
    if not out(ctype.split(";")[0].strip() == want,
               "%s: content type %s" % (what, want)):
        print("# got %s" % ctype)
        return False
    schema = content[want].get("schema")
    if want != "application/json" or schema is None:
        return True
    try:
        v = json.loads(data)
    except ValueError:
        return out(False, "%s: JSON answer" % what)
    errs = []
    spec.validate(v, schema, "body", errs)
    for e in errs[:10]:
        print("# " + e)
    return out(not errs, "%s: the documented properties" % what)


def check_operation(spec, base, path, method, op):
    codes = sorted(str(c) for c in op.get("responses", {}))
    ok2 = [c for c in codes if c.startswith("2")]
    what = "%s %s" % (method.upper(), path)
    if not out(bool(ok2), "%s documents a success" % what):
        return
    url = build_path(spec, path, op)
    if not out(url is not None, "%s has examples for its path" % what):
        return
    body = body_of(spec, op) if method == "post" else None
    status, ctype, data = request(base, method, url, body)
    if not out(str(status) == ok2[0], "%s answers %s" % (what, ok2[0])):
        print("# %s %s: %d %s" % (method.upper(), url, status, data[:200]))
        return
    check_answer(spec, what, op["responses"][ok2[0]], status, ctype, data)


def check_errors(spec, base):
    err = {"$ref": "#/components/schemas/Error"}
    for path, ops in spec.doc["paths"].items():
        if "get" in ops:
            url = build_path(spec, path, ops["get"])
        else:
            url = build_path(spec, path, ops["post"])
        if url is None:
            continue
        status, ctype, data = request(base, "put", url, "{}")
        errs = []
        try:
            spec.validate(json.loads(data), err, "body", errs)
        except ValueError:
            errs.append("not JSON: %r" % data[:80])
        for e in errs:
            print("# " + e)
        out(status == 405 and ctype.startswith("application/json") and not errs,
            "PUT %s is a 405 with the Error schema" % path)
    status, ctype, data = request(base, "get", "/api/v1/no-such-thing")
    errs = []
    try:
        spec.validate(json.loads(data), err, "body", errs)
    except ValueError:
        errs.append("not JSON")
    out(status == 404 and not errs, "an unknown path is a 404 with the Error schema")


def main():
    spec = Spec(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        src = f.read()
    base = sys.argv[3]
    out(str(spec.doc.get("openapi", "")).startswith("3."), "the document is OpenAPI 3")
    check_routes(spec, src)
    for path, method, op in spec.operations():
        check_operation(spec, base, path, method, op)
    check_errors(spec, base)


if __name__ == "__main__":
    main()
