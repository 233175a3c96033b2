"""test_openapi_responses.py: the suite's last test (run.py runs modules
in sorted order). Every response the end-to-end tests received through
harness.request() was appended to $PF_STACK_DIR/e2e-responses.jsonl; each
must be what openapi/personaforge.json documents for its path, method and
status: its status listed for the operation, its content type the
documented one, its body valid against the documented schema (JSON Schema
Draft 2020-12; `format` is not asserted, the time pattern is), and the
headers the response documents as always sent (Allow, Retry-After,
WWW-Authenticate) present.

A response for a path or method the document has no operation for (an
unknown path, a wrong method, or nginx refusing a request before routing
it) must be one of the responses of components/responses that nginx and
the app give on any path: 400, 404, 405, 413, 502, 503 problem+json. GET
/api/v1/openapi.json must be the document itself."""

ORDER = 2  # looks over the whole suite: after every other test (run.py)
import json, os

import jsonschema

from harness import RESPONSE_LOG
from openapi_doc import find_path, inline, load

# statuses any request can get whatever its path: nginx's own refusals, and
# the app's before routing (component response names)
ANY_PATH = {400: "InvalidRequest", 404: "NotFound", 405: "MethodNotAllowed",
            413: "PayloadTooLarge", 502: "BadGateway", 503: "Unavailable"}
STATIC_PAGES = ("/account/", "/support/", "/shared/")
CHECKED_HEADERS = ("allow", "retry-after", "www-authenticate", "x-request-id")


def documented_response(doc, method, path, status):
    """(where, response object or None) documented for this exchange, and
    where its schema comes from."""
    if path == "/api/v1/openapi.json" and method in ("GET", "HEAD") and status == 200:
        return "openapi.json", "document", None
    template = find_path(doc, path)
    op = doc["paths"][template].get(method.lower()) if template else None
    if op is not None:
        where = f"{method} {template} {status}"
        r = op["responses"].get(str(status))
        return where, (inline(doc, r) if r is not None else None), where
    name = ANY_PATH.get(status)
    where = f"{method} {path} {status} (no operation: components/responses/{name})"
    response = inline(doc, doc["components"]["responses"][name]) if name else None
    return where, response, f"components/responses/{name}"


def test_every_response_of_the_suite_is_documented():
    assert RESPONSE_LOG is not None, "PF_STACK_DIR is not set: nothing was recorded"
    assert os.path.exists(RESPONSE_LOG), f"{RESPONSE_LOG}: no responses recorded"
    doc = load()
    validators = {}
    valid = set()  # (schema, media type, body) already found valid: many answers repeat
    failures = {}
    count = 0
    with open(RESPONSE_LOG, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    for rec in records:
        method, path = rec["method"], rec["path"].split("?", 1)[0]
        if path.startswith(STATIC_PAGES) and rec["status"] in (200, 304):
            continue        # the reference pages (web/): files, not the API
        count += 1
        status, body = rec["status"], rec["body"]
        where, response, source = documented_response(doc, method, path, status)

        def fail(message):
            failures.setdefault(f"{where}: {message}", rec)

        if response is None:
            fail("status not documented")
            continue
        if response == "document":
            if method == "GET" and json.loads(body) != doc:
                fail("the served document differs from openapi/personaforge.json")
            continue
        for h, spec in (response.get("headers") or {}).items():
            if h.lower() in CHECKED_HEADERS and h.lower() not in rec.get("headers", {}):
                fail(f"header {h} missing")
        content = response.get("content") or {}
        if method == "HEAD" or not content:
            if body and not content:
                fail("a body where none is documented")
            continue
        media = (rec.get("content_type") or "").split(";")[0].strip().lower()
        if media not in content:
            fail(f"content type {media!r}, documented {sorted(content)}")
            continue
        key = (source, media)
        if (key, body) in valid:
            continue
        if media == "text/plain":
            value = body       # the metrics: documented as a string
        else:
            try:
                value = json.loads(body)
            except ValueError:
                fail("body is not JSON")
                continue
        validator = validators.get(key)
        if validator is None:
            validator = validators[key] = jsonschema.Draft202012Validator(content[media]["schema"])
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            fail(f"{'/'.join(str(p) for p in e.absolute_path) or 'body'}: {e.message[:300]}")
        else:
            valid.add((key, body))
    print(f"openapi: {count} responses of the suite checked against openapi/personaforge.json, "
          f"{len(validators)} distinct response schemas, {len(failures)} kinds of failure")
    lines = [f"{k}\n    e.g. {json.dumps(v)[:400]}" for k, v in list(failures.items())[:30]]
    assert not failures, f"{len(failures)} undocumented kinds of response:\n" + "\n".join(lines)
