"""openapi_doc.py: openapi/personaforge.json for the tests that check it
(test_openapi.py, test_openapi_responses.py): loading it, resolving its
local $refs, and finding the operation and response a request got."""
import copy, json, os, re

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PATH = os.path.join(ROOT, "openapi", "personaforge.json")


def load():
    with open(PATH, encoding="utf-8") as f:
        return json.load(f)


def pointer(doc, ref):
    """The value a local reference ("#/a/b") names; KeyError if none."""
    if not ref.startswith("#/"):
        raise KeyError(f"not a local reference: {ref}")
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def inline(doc, node, seen=()):
    """node with every local $ref replaced by what it names (a $ref with
    sibling keywords becomes an allOf of the target, keeping them), so a
    schema validates on its own with any jsonschema version. The document's
    schemas are not recursive; a cycle raises ValueError."""
    if isinstance(node, list):
        return [inline(doc, x, seen) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"recursive reference {ref}")
        target = inline(doc, pointer(doc, ref), seen + (ref,))
        rest = {k: inline(doc, v, seen) for k, v in node.items() if k != "$ref"}
        if not rest:
            return copy.deepcopy(target)
        return {"allOf": [target], **rest}
    return {k: inline(doc, v, seen) for k, v in node.items()}


def template_regex(template):
    """The regular expression of a path template: {name} is one segment."""
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p)
                                    for p in parts) + "$")


def find_path(doc, path):
    """The template of doc's paths that path (no query) matches, or None."""
    for template in doc["paths"]:
        if template_regex(template).match(path):
            return template
    return None


METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
