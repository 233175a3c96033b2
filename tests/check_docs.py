#!/usr/bin/env python3
"""check_docs.py: keeps the README short and every document's links true.

Checks, in README.md and docs/*.md:
  - every relative link ([text](target), ![alt](target), [ref]: target)
    points at a file or directory that exists in the repository (an
    #anchor after it is ignored; a link to #anchor alone stays in its file);
  - no link leaves the repository: no absolute path, no ../ above the
    repository's root, no URL (scheme:...);
and that README.md is at most 150 lines. Links inside code (fenced blocks
and `spans`) are text, not links, and are not checked.
Prints one line per failure, then "docs: N passed, M failed".
Usage: tests/check_docs.py [ROOT]
"""
import glob, os, re, sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
README_MAX_LINES = 150

INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFDEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

passed = 0
failed = 0


def result(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL " + what)


def without_code(text):
    """text with fenced code blocks and inline code spans blanked out
    (newlines kept, so line numbers stay right)."""
    out, fence = [], None
    for line in text.split("\n"):
        m = re.match(r"^ {0,3}(`{3,}|~{3,})", line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            out.append("")
            continue
        if m:
            fence = m.group(1)
            out.append("")
            continue
        out.append(re.sub(r"(`+)(.+?)\1", lambda c: " " * len(c.group(0)), line))
    return "\n".join(out)


def check_link(path, line, target):
    where = "%s:%d: %s" % (os.path.relpath(path, ROOT), line, target)
    if target == "" or target.startswith("#"):
        return
    if SCHEME.match(target):
        result(False, where + ": a URL, outside the repository")
        return
    if target.startswith("/"):
        result(False, where + ": an absolute path, outside the repository")
        return
    file_part = target.split("#", 1)[0].split("?", 1)[0]
    resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part))
    if os.path.commonpath([ROOT, resolved]) != ROOT:
        result(False, where + ": leaves the repository")
        return
    result(os.path.exists(resolved), where + ": no such file in the repository")


files = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
for path in files:
    if not os.path.exists(path):
        result(False, os.path.relpath(path, ROOT) + ": missing")
        continue
    text = without_code(open(path, encoding="utf-8").read())
    for regex in (INLINE, REFDEF):
        for m in regex.finditer(text):
            check_link(path, text.count("\n", 0, m.start()) + 1, m.group(1))

readme = os.path.join(ROOT, "README.md")
if os.path.exists(readme):
    n = len(open(readme, encoding="utf-8").read().splitlines())
    result(n <= README_MAX_LINES,
           "README.md: %d lines, more than %d (move the detail to docs/)" % (n, README_MAX_LINES))

print("docs: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
