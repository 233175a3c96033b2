"""test_openapi.py: openapi/personaforge.json, the API description.

- It is a valid OpenAPI 3.1 document, as far as a structural check can tell
  (test_document_is_openapi_3_1): the official JSON Schema of OpenAPI 3.1
  cannot be downloaded here, so OPENAPI_3_1 below restates, from the
  specification's object tables, the fixed fields of each object this kind
  of document uses (OpenAPI, Info, Contact, License, Server, Server
  Variable, Components, Paths, Path Item, Operation, External
  Documentation, Parameter, Request Body, Media Type, Encoding, Responses,
  Response, Header, Example, Link, Tag, Reference, Security Scheme, OAuth
  Flows, Security Requirement), their types and required fields, the
  patterns of `openapi`, path keys, response status keys and component
  names, `x-` extensions, and what the specification says in prose (one of
  `schema`/`content` in a parameter, path parameters required, `example`
  and `examples` not together). Python then checks what a schema cannot:
  every Schema Object is a valid JSON Schema (Draft 2020-12 meta-schema,
  the dialect `jsonSchemaDialect` names), every local $ref resolves,
  operationIds are unique, each path template's parameters are declared
  and vice versa, and security requirements name declared schemes. Not
  checked: the exact text of the official schema, runtime expressions in
  Links and Callbacks (the document has none).
- It describes every route of the service's route table, and nothing else,
  with the role each requires (test_routes_match_the_route_table), and
  every request body schema is its route's field table
  (test_request_bodies_match_the_field_tables): both compare with what
  tests/unit/dump_api_tables prints from the real tables.
- nginx serves it at GET /api/v1/openapi.json without asking the app
  (test_served_by_nginx).
test_openapi_responses.py checks every response of the suite against it.
"""
import json, os, re, subprocess

import jsonschema

from harness import PUBLIC, request
from openapi_doc import METHODS, inline, load, pointer, template_regex

BUILD = os.environ.get("PF_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))

# --- OpenAPI 3.1's objects, restated as a JSON Schema ----------------------

EXT = {"^x-": True}


def obj(props, required=(), patterns=None, extensible=True):
    """A specification object: its fixed fields, `x-` extensions, nothing else."""
    pp = dict(EXT) if extensible else {}
    pp.update(patterns or {})
    s = {"type": "object", "properties": props, "patternProperties": pp,
         "additionalProperties": False}
    if required:
        s["required"] = list(required)
    return s


def d(name):
    return {"$ref": f"#/$defs/{name}"}


def map_of(schema, key_pattern=None):
    s = {"type": "object", "additionalProperties": schema}
    if key_pattern:
        s["propertyNames"] = {"pattern": key_pattern}
    return s


def or_ref(name):
    return {"if": {"type": "object", "required": ["$ref"]}, "then": d("reference"), "else": d(name)}


STRING, BOOL, URI = {"type": "string"}, {"type": "boolean"}, {"type": "string"}
COMPONENT_NAME = "^[a-zA-Z0-9._-]+$"

OPENAPI_3_1 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "allOf": [d("openapi")],
    "$defs": {
        "openapi": {**obj({
            "openapi": {"type": "string", "pattern": r"^3\.1\.\d+(-.+)?$"},
            "info": d("info"),
            "jsonSchemaDialect": URI,
            "servers": {"type": "array", "items": d("server")},
            "paths": d("paths"),
            "webhooks": map_of(or_ref("path-item")),
            "components": d("components"),
            "security": {"type": "array", "items": d("security-requirement")},
            "tags": {"type": "array", "items": d("tag")},
            "externalDocs": d("external-documentation"),
        }, required=("openapi", "info")),
            "anyOf": [{"required": ["paths"]}, {"required": ["components"]}, {"required": ["webhooks"]}]},
        "info": obj({"title": STRING, "summary": STRING, "description": STRING,
                     "termsOfService": URI, "contact": d("contact"), "license": d("license"),
                     "version": STRING}, required=("title", "version")),
        "contact": obj({"name": STRING, "url": URI, "email": STRING}),
        "license": {**obj({"name": STRING, "identifier": STRING, "url": URI}, required=("name",)),
                    "not": {"required": ["identifier", "url"]}},
        "server": obj({"url": STRING, "description": STRING,
                       "variables": map_of(d("server-variable"))}, required=("url",)),
        "server-variable": obj({"enum": {"type": "array", "items": STRING, "minItems": 1},
                                "default": STRING, "description": STRING}, required=("default",)),
        "components": obj({
            "schemas": map_of(d("schema"), COMPONENT_NAME),
            "responses": map_of(or_ref("response"), COMPONENT_NAME),
            "parameters": map_of(or_ref("parameter"), COMPONENT_NAME),
            "examples": map_of(or_ref("example"), COMPONENT_NAME),
            "requestBodies": map_of(or_ref("request-body"), COMPONENT_NAME),
            "headers": map_of(or_ref("header"), COMPONENT_NAME),
            "securitySchemes": map_of(or_ref("security-scheme"), COMPONENT_NAME),
            "links": map_of(or_ref("link"), COMPONENT_NAME),
            "callbacks": map_of(or_ref("callbacks"), COMPONENT_NAME),
            "pathItems": map_of(or_ref("path-item"), COMPONENT_NAME),
        }),
        "paths": obj({}, patterns={"^/": d("path-item")}),
        "path-item": obj({
            "$ref": URI, "summary": STRING, "description": STRING,
            "servers": {"type": "array", "items": d("server")},
            "parameters": {"type": "array", "items": or_ref("parameter")},
            **{m: d("operation") for m in METHODS},
        }),
        "operation": obj({
            "tags": {"type": "array", "items": STRING}, "summary": STRING, "description": STRING,
            "externalDocs": d("external-documentation"), "operationId": STRING,
            "parameters": {"type": "array", "items": or_ref("parameter")},
            "requestBody": or_ref("request-body"), "responses": d("responses"),
            "callbacks": map_of(or_ref("callbacks")), "deprecated": BOOL,
            "security": {"type": "array", "items": d("security-requirement")},
            "servers": {"type": "array", "items": d("server")},
        }),
        "external-documentation": obj({"description": STRING, "url": URI}, required=("url",)),
        "parameter": {**obj({
            "name": STRING, "in": {"enum": ["query", "header", "path", "cookie"]},
            "description": STRING, "required": BOOL, "deprecated": BOOL, "allowEmptyValue": BOOL,
            "style": STRING, "explode": BOOL, "allowReserved": BOOL, "schema": d("schema"),
            "example": True, "examples": map_of(or_ref("example")),
            "content": {**map_of(d("media-type")), "minProperties": 1, "maxProperties": 1},
        }, required=("name", "in")),
            "oneOf": [{"required": ["schema"]}, {"required": ["content"]}],
            "if": {"properties": {"in": {"const": "path"}}},
            "then": {"properties": {"required": {"const": True}}, "required": ["required"]},
            "not": {"required": ["example", "examples"]}},
        "request-body": obj({"description": STRING, "content": map_of(d("media-type")),
                             "required": BOOL}, required=("content",)),
        "media-type": {**obj({"schema": d("schema"), "example": True,
                              "examples": map_of(or_ref("example")),
                              "encoding": map_of(d("encoding"))}),
                       "not": {"required": ["example", "examples"]}},
        "encoding": obj({"contentType": STRING, "headers": map_of(or_ref("header")),
                         "style": STRING, "explode": BOOL, "allowReserved": BOOL}),
        "responses": {**obj({"default": or_ref("response")},
                            patterns={"^[1-5](?:[0-9]{2}|XX)$": or_ref("response")}),
                      "minProperties": 1},
        "response": obj({"description": STRING, "headers": map_of(or_ref("header")),
                         "content": map_of(d("media-type")), "links": map_of(or_ref("link"))},
                        required=("description",)),
        "header": {**obj({"description": STRING, "required": BOOL, "deprecated": BOOL,
                          "style": {"const": "simple"}, "explode": BOOL, "schema": d("schema"),
                          "example": True, "examples": map_of(or_ref("example")),
                          "content": {**map_of(d("media-type")), "minProperties": 1,
                                      "maxProperties": 1}}),
                   "oneOf": [{"required": ["schema"]}, {"required": ["content"]}],
                   "not": {"required": ["example", "examples"]}},
        "example": {**obj({"summary": STRING, "description": STRING, "value": True,
                           "externalValue": URI}),
                    "not": {"required": ["value", "externalValue"]}},
        "link": obj({"operationRef": URI, "operationId": STRING, "parameters": {"type": "object"},
                     "requestBody": True, "description": STRING, "server": d("server")}),
        "callbacks": obj({}, patterns={"^": d("path-item")}),
        "tag": obj({"name": STRING, "description": STRING,
                    "externalDocs": d("external-documentation")}, required=("name",)),
        "reference": obj({"$ref": URI, "summary": STRING, "description": STRING},
                         required=("$ref",), extensible=False),
        "schema": {"type": ["object", "boolean"]},  # checked against 2020-12 separately
        "security-scheme": {**obj({
            "type": {"enum": ["apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"]},
            "description": STRING, "name": STRING, "in": {"enum": ["query", "header", "cookie"]},
            "scheme": STRING, "bearerFormat": STRING, "flows": d("oauth-flows"),
            "openIdConnectUrl": URI}, required=("type",)),
            "allOf": [
                {"if": {"properties": {"type": {"const": "apiKey"}}},
                 "then": {"required": ["name", "in"]}},
                {"if": {"properties": {"type": {"const": "http"}}},
                 "then": {"required": ["scheme"]}},
                {"if": {"properties": {"type": {"const": "oauth2"}}},
                 "then": {"required": ["flows"]}},
                {"if": {"properties": {"type": {"const": "openIdConnect"}}},
                 "then": {"required": ["openIdConnectUrl"]}},
            ]},
        "oauth-flows": {"type": "object"},
        "security-requirement": map_of({"type": "array", "items": STRING}),
    },
}


def schema_objects(doc):
    """(where, schema) of every Schema Object in doc."""
    found = []
    for name, s in doc.get("components", {}).get("schemas", {}).items():
        found.append((f"components/schemas/{name}", s))

    def media(where, content):
        for mt, m in (content or {}).items():
            if "schema" in m:
                found.append((f"{where} {mt}", m["schema"]))

    def param_list(where, params):
        for p in params or []:
            if "schema" in p:
                found.append((f"{where} parameter {p.get('name')}", p["schema"]))
            media(where, p.get("content"))

    def response_map(where, responses):
        for status, r in (responses or {}).items():
            if "$ref" in r:
                continue
            media(f"{where} {status}", r.get("content"))
            for h, header in (r.get("headers") or {}).items():
                if "schema" in header:
                    found.append((f"{where} {status} header {h}", header["schema"]))

    comp = doc.get("components", {})
    param_list("components/parameters", comp.get("parameters", {}).values())
    response_map("components/responses", comp.get("responses"))
    for path, item in doc.get("paths", {}).items():
        param_list(path, item.get("parameters"))
        for m in METHODS:
            if m in item:
                op = item[m]
                param_list(f"{m.upper()} {path}", op.get("parameters"))
                if "requestBody" in op:
                    media(f"{m.upper()} {path} requestBody", op["requestBody"].get("content"))
                response_map(f"{m.upper()} {path}", op.get("responses"))
    return found


def local_refs(node, out):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            out.append(node["$ref"])
        for v in node.values():
            local_refs(v, out)
    elif isinstance(node, list):
        for v in node:
            local_refs(v, out)
    return out


def test_document_is_openapi_3_1():
    doc = load()
    problems = [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
                for e in jsonschema.Draft202012Validator(OPENAPI_3_1).iter_errors(doc)]
    assert doc.get("jsonSchemaDialect") in (None, "https://spec.openapis.org/oas/3.1/dialect/base")
    for where, schema in schema_objects(doc):
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            problems.append(f"{where}: not a JSON Schema 2020-12: {e.message}")
    for ref in local_refs(doc, []):
        try:
            pointer(doc, ref)
        except (KeyError, IndexError, ValueError):
            problems.append(f"$ref {ref} names nothing")
    op_ids = [item[m]["operationId"] for item in doc["paths"].values() for m in METHODS
              if m in item and "operationId" in item[m]]
    problems += [f"operationId {i} twice" for i in set(op_ids) if op_ids.count(i) > 1]
    schemes = doc.get("components", {}).get("securitySchemes", {})
    for path, item in doc["paths"].items():
        in_template = set(re.findall(r"\{([^}/]+)\}", path))
        for m in METHODS:
            if m not in item:
                continue
            params = [inline(doc, p) for p in item.get("parameters", []) + item[m].get("parameters", [])]
            declared = {p["name"] for p in params if p["in"] == "path"}
            if declared != in_template:
                problems.append(f"{m.upper()} {path}: path parameters {sorted(declared)}, "
                                f"template has {sorted(in_template)}")
            for req in item[m].get("security", doc.get("security", [])):
                problems += [f"{m.upper()} {path}: unknown security scheme {n}"
                             for n in req if n not in schemes]
    assert not problems, "\n".join(problems)


def test_the_structural_check_refuses_what_it_should():
    """The check above is not vacuous: a few broken documents fail it."""
    validator = jsonschema.Draft202012Validator(OPENAPI_3_1)
    doc = load()
    assert validator.is_valid(doc)
    broken = [
        {k: v for k, v in doc.items() if k != "info"},
        {**doc, "openapi": "3.0.3"},
        {**doc, "paths": {"api/v1/account": {}}},
        {**doc, "paths": {"/x": {"get": {"responses": {"200": {}}}}}},
        {**doc, "paths": {"/x": {"get": {"responses": {"299x": {"description": "d"}}}}}},
        {**doc, "paths": {"/x/{id}": {"get": {"parameters": [{"name": "id", "in": "path",
                                                              "schema": {}}],
                                              "responses": {"200": {"description": "d"}}}}}},
        {**doc, "paths": {"/x": {"get": {"responses": {"200": {"description": "d"}},
                                         "summery": "typo"}}}},
        {**doc, "components": {"securitySchemes": {"b": {"type": "http"}}}},
    ]
    for i, bad in enumerate(broken):
        assert not validator.is_valid(bad), f"broken document {i} passed"


def api_tables():
    out = subprocess.run([os.path.join(BUILD, "tests", "unit", "dump_api_tables")],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["routes"]


def operations(doc):
    return {(m.upper(), path): item[m] for path, item in doc["paths"].items()
            for m in METHODS if m in item}


def test_routes_match_the_route_table():
    doc = load()
    ops = operations(doc)
    routes = {(r["method"], r["path"]): r for r in api_tables()}
    assert len(routes) == len(api_tables()), "a route twice in the table"
    missing = sorted(set(routes) - set(ops))
    extra = sorted(set(ops) - set(routes))
    assert not missing, f"routes the document does not describe: {missing}"
    assert not extra, f"operations that are not routes: {extra}"
    for key, r in routes.items():
        security = ops[key].get("security", doc.get("security"))
        want = [] if r["role"] == "public" else [{"bearerAuth": [r["role"]]}]
        assert security == want, f"{key}: security {security}, the table's role is {r['role']}"
        if r["role"] != "public":
            assert "401" in ops[key]["responses"] and "403" in ops[key]["responses"], key


LINE = "^[^\\u0000-\\u001f\\u007f]*$"
TEXT = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"


def field_schema(f):
    """The JSON Schema a field of the table stands for."""
    if f["type"] == "string":
        return {"type": "string", "minLength": f["min"], "maxLength": f["max"], "pattern": LINE}
    if f["type"] == "text":
        return {"type": "string", "minLength": f["min"], "maxLength": f["max"], "pattern": TEXT}
    if f["type"] == "integer":
        return {"type": "integer", "minimum": f["min"], "maximum": f["max"]}
    if f["type"] == "enum":
        return {"type": "string", "enum": f["values"]}
    if f["type"] == "time":
        return {"type": "string", "format": "date-time"}
    raise AssertionError(f"unknown field type {f['type']}")


def test_request_bodies_match_the_field_tables():
    doc = load()
    ops = operations(doc)
    problems = []
    for r in api_tables():
        key = (r["method"], r["path"])
        op = ops.get(key)
        if op is None:
            continue  # test_routes_match_the_route_table says so
        body = op.get("requestBody")
        if r["body"] == "none":
            if body is not None:
                problems.append(f"{key}: the app reads no body, the document describes one")
            continue
        if body is None:
            problems.append(f"{key}: no requestBody")
            continue
        body = inline(doc, body)
        if list(body["content"]) != ["application/json"]:
            problems.append(f"{key}: request content {list(body['content'])}")
            continue
        schema = body["content"]["application/json"]["schema"]
        required = [f["name"] for f in r["fields"] if f["required"]]
        if schema.get("type") != "object" or schema.get("additionalProperties") is not False:
            problems.append(f"{key}: the body schema must be a closed object (unknown fields are 400)")
        names = [f["name"] for f in r["fields"]]
        props = schema.get("properties", {})
        if sorted(props) != sorted(names):
            problems.append(f"{key}: properties {sorted(props)}, field table {sorted(names)}")
        if sorted(schema.get("required", [])) != sorted(required):
            problems.append(f"{key}: required {sorted(schema.get('required', []))}, "
                            f"field table {sorted(required)}")
        if body.get("required", False) != bool(required):
            problems.append(f"{key}: requestBody.required {body.get('required', False)}, "
                            f"but required fields are {required}")
        for f in r["fields"]:
            if f["name"] not in props:
                continue
            got = {k: v for k, v in props[f["name"]].items() if k not in ("description", "examples")}
            want = field_schema(f)
            if got != want:
                problems.append(f"{key} field {f['name']}: document {got}, table {want}")
        if key[0] == "POST":
            params = [inline(doc, p) for p in op.get("parameters", [])]
            if not any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in params):
                problems.append(f"{key}: no Idempotency-Key header parameter")
    assert not problems, "\n".join(problems)


def test_examples_follow_their_schemas():
    doc = load()
    problems = []
    for name, schema in doc["components"]["schemas"].items():
        for example in schema.get("examples", []):
            for e in jsonschema.Draft202012Validator(inline(doc, schema)).iter_errors(example):
                problems.append(f"components/schemas/{name} example: {e.message}")
    for key, op in operations(doc).items():
        for mt, m in inline(doc, op.get("requestBody", {})).get("content", {}).items():
            if "example" in m:
                for e in jsonschema.Draft202012Validator(m["schema"]).iter_errors(m["example"]):
                    problems.append(f"{key} request example: {e.message}")
        for status, r in op["responses"].items():
            for mt, m in inline(doc, r).get("content", {}).items():
                if "example" in m:
                    for e in jsonschema.Draft202012Validator(m["schema"]).iter_errors(m["example"]):
                        problems.append(f"{key} {status} example: {e.message}")
    assert not problems, "\n".join(problems)


def test_served_by_nginx():
    r = request("GET", "/api/v1/openapi.json", base=PUBLIC)
    assert r.status == 200, r
    assert r.headers.get("content-type", "").split(";")[0].strip() == "application/json", r.headers
    assert r.json == load(), "the served document differs from openapi/personaforge.json"
    # the app has no such route (its answer would be 404 not_found), so a 200
    # is nginx's own; and only GET and HEAD are served
    assert not any(p == "/api/v1/openapi.json" for _, p in operations(load()))
    r = request("POST", "/api/v1/openapi.json", body={}, base=PUBLIC)
    assert r.status == 405 and r.code == "method_not_allowed", r
    assert r.headers.get("allow") == "GET, HEAD", r.headers
