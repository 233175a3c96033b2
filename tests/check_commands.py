#!/usr/bin/env python3
"""check_commands.py: every external command the project's scripts, tests,
benchmark, fuzzers and CI call comes from a package the project installs
(scripts/packages) or from Debian's Essential set, so that the suite passes
on a fresh Debian 12 and not only on a machine that happens to have more.

It finds the commands (the first word of each simple command in the shell
scripts and Makefile.am's recipes, and the programs the Python files start
with subprocess), looks each up in tests/commands (command, package, need),
and checks with dpkg that
  - every command found has an entry there, and every command a run-time
    file calls (scripts/build, quickstart, stack, mint-token, packages,
    sql/migrate.sh) has need "run" or "base": scripts/quickstart installs
    only the run list;
  - each entry's package ships a program of that name;
  - need "run": the package is in scripts/packages' run list or among their
    Depends (followed through, first alternative: what apt-get install
    --no-install-recommends brings); "test": the same for the run and test
    lists; "base": the package is Essential or of Priority required (a
    minimal Debian has it).
It needs the listed packages installed (scripts/test installs them first).
Prints one line per failure, then "commands: N passed, M failed".
Usage: tests/check_commands.py [ROOT]
"""
import os, re, subprocess, sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

# files whose commands running the service needs (scripts/quickstart's path)
RUN_FILES = ["scripts/build", "scripts/quickstart", "scripts/stack", "scripts/mint-token",
             "scripts/packages", "sql/migrate.sh"]
# and those of testing, benchmarking, fuzzing and CI
TEST_FILES = ["scripts/test", "tests/run-all.sh", "bench/run.sh", "fuzz/run.sh",
              ".ci/run", "Makefile.am"]
TEST_GLOBS = [("tests/e2e", ".py"), ("tests", ".py"), ("fuzz", ".py"), ("bench", ".sh"),
              ("scripts", "")]

SHELL_WORDS = set("""
. : [ [[ ]] alias bg break builtin cd command continue declare echo eval exec exit export
false fc fg getopts hash jobs kill let local printf pwd read readonly return set shift
source test times trap true type typeset ulimit umask unalias unset wait shopt pushd popd
disown
case esac for in do done if then else elif fi while until function select time ! { }
""".split())
# words after which the next word is again a command
REOPEN = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"}
# commands whose argument is a command
WRAPPERS = {"exec", "nohup", "command", "env", "timeout", "nice", "runuser"}
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.+-]*$")


class Word:
    def __init__(self):
        self.text = ""      # the value with quotes removed (expansions kept as text)
        self.plain = None   # True if it starts with a literal character


def scan_shell(src, found, sourced=()):
    """Adds to found the names of the commands src runs; the functions of
    the files it sources (sourced: their texts) are its own too."""
    global _sourced_functions
    _sourced_functions = {}
    for text in sourced:
        _sourced_functions.update(functions(text))
    try:
        tokens = tokenize(src, 0, found, False)[0]
        analyze(tokens, found, functions(src))
    finally:
        _sourced_functions = {}


# the functions of the files the script being scanned sources (scan_shell),
# known in its command substitutions too
_sourced_functions = {}


SOURCE_LINE = re.compile(r'^\s*(?:\.|source)\s+"?\$\{?\w+\}?/([\w./-]+)"?', re.M)


def sourced_texts(src, rel):
    """The texts of the files src sources as "$dir/path": path is taken from
    the repository's root, or from src's own directory."""
    texts = []
    for m in SOURCE_LINE.finditer(src):
        for base in (ROOT, os.path.join(ROOT, os.path.dirname(rel))):
            path = os.path.join(base, m.group(1))
            if os.path.isfile(path):
                texts.append(open(path, encoding="utf-8").read())
                break
    return texts


def functions(src):
    """{name: None, or for a function that runs its arguments ("$@") as a
    command, how many leading arguments it shifts off first}."""
    funcs = dict(_sourced_functions)
    for m in re.finditer(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\s*\)\s*\{(.*)$", src, re.M):
        body = m.group(2)
        if not body.rstrip().endswith("}"):  # not a one-liner: up to a "}" alone on a line
            end = re.compile(r"^\s*\}\s*$", re.M).search(src, m.end())
            body = src[m.end():end.start() if end else len(src)]
        runs = re.search(r'(^|[;&|{]|\b(then|else|do|if|--))\s*"\$@"', body, re.M)
        funcs[m.group(1)] = len(re.findall(r"\bshift\s*($|;)", body, re.M)) if runs else None
    for m in re.finditer(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\s*\)", src, re.M):
        funcs.setdefault(m.group(1), None)
    return funcs


def tokenize(s, i, found, in_subst):
    """Returns (tokens, index): a token is a Word or an operator string.
    Command substitutions are analyzed on the spot (their commands go to
    found); heredoc bodies are skipped. in_subst: stop at an unmatched ')'."""
    tokens = []
    word = None
    heredocs = []
    n = len(s)

    def add_char(c, plain):
        nonlocal word
        if word is None:
            word = Word()
            word.plain = plain
        word.text += c

    def end_word():
        nonlocal word
        if word is not None:
            tokens.append(word)
            word = None

    def subst(j):  # j: index after "$(" or "<(": analyze up to the matching ')'
        inner, k = tokenize(s, j, found, True)
        analyze(inner, found, functions(s))
        return k + 1

    while i < n:
        c = s[i]
        if c == "\\":
            if i + 1 < n and s[i + 1] == "\n":
                i += 2
                continue
            add_char(s[i + 1] if i + 1 < n else "", True)
            i += 2
            continue
        if c == "'":
            j = s.index("'", i + 1)
            add_char(s[i + 1:j], True)
            if word.text == "":
                word.plain = True
            i = j + 1
            continue
        if c == '"':
            i += 1
            started = word is None
            while i < n and s[i] != '"':
                if s[i] == "\\":
                    add_char(s[i + 1], True)
                    i += 2
                elif s.startswith("$((", i):
                    i = skip_parens(s, i + 1)
                    add_char("$", False)
                elif s.startswith("$(", i):
                    i = subst(i + 2)
                    add_char("$", False)
                elif s[i] == "`":
                    j = s.index("`", i + 1)
                    scan_shell(s[i + 1:j], found)
                    add_char("$", False)
                    i = j + 1
                elif s[i] == "$":
                    add_char("$", False)
                    i += 1
                else:
                    add_char(s[i], True)
                    i += 1
            if word is None:
                word = Word()
                word.plain = True
            i += 1
            continue
        if c == "$":
            if s.startswith("$((", i):
                i = skip_parens(s, i + 1)
            elif s.startswith("$(", i):
                i = subst(i + 2)
            elif s.startswith("${", i):
                i = s.index("}", i) + 1
            else:
                i += 1
                while i < n and (s[i].isalnum() or s[i] in "_#?@*!$-") :
                    i += 1
                    if not s[i - 1].isalnum() and s[i - 1] != "_":
                        break
            add_char("$", False)
            continue
        if c == "`":
            j = s.index("`", i + 1)
            scan_shell(s[i + 1:j], found)
            add_char("$", False)
            i = j + 1
            continue
        if c in "<>" and i + 1 < n and s[i + 1] == "(":
            end_word()
            i = subst(i + 2)
            tokens.append(Word())
            tokens[-1].plain = False
            continue
        if c == "#" and word is None:
            while i < n and s[i] != "\n":
                i += 1
            continue
        if c in " \t":
            end_word()
            i += 1
            continue
        if c == "\n":
            end_word()
            tokens.append("\n")
            i += 1
            for delim, strip in heredocs:  # skip the bodies
                while i < n:
                    j = s.find("\n", i)
                    j = n if j < 0 else j
                    line = s[i:j]
                    i = j + 1
                    if (line.lstrip("\t") if strip else line) == delim:
                        break
            heredocs = []
            continue
        # redirections: [n]> >> < <& >& &> <<< and heredocs << <<-
        if c in "<>" or (c == "&" and s.startswith("&>", i)) or \
                (c.isdigit() and word is None and re.match(r"\d+[<>]", s[i:])):
            end_word()
            m = re.match(r"\d*(<<-|<<<|<<|>>|<&|>&|&>>|&>|<>|>\||<|>)", s[i:])
            op = m.group(1)
            i += m.end()
            if op in ("<&", ">&") and i < n and (s[i].isdigit() or s[i] == "-"):
                while i < n and (s[i].isdigit() or s[i] == "-"):
                    i += 1
                continue
            while i < n and s[i] in " \t":
                i += 1
            # the target: one word (read and dropped)
            target, i = read_word(s, i, found)
            if op in ("<<", "<<-"):
                heredocs.append((target, op == "<<-"))
            continue
        if c in ";&|()":
            end_word()
            if c == ")" and in_subst:
                return tokens, i
            for op in (";;", "&&", "||", "|&", ";", "&", "|", "(", ")"):
                if s.startswith(op, i):
                    tokens.append(op)
                    i += len(op)
                    break
            continue
        add_char(c, True)
        i += 1
    end_word()
    return tokens, i


def skip_parens(s, i):
    """i at '(' : returns the index after the matching ')'."""
    depth = 0
    while i < len(s):
        if s[i] == "(":
            depth += 1
        elif s[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def read_word(s, i, found):
    """Reads one shell word at i (a redirection's target); returns (text, index)."""
    toks, _ = tokenize_one(s, i, found)
    return toks


def tokenize_one(s, i, found):
    j = i
    text = ""
    while j < len(s) and s[j] not in " \t\n;&|()<>":
        if s[j] == "'":
            k = s.index("'", j + 1)
            text += s[j + 1:k]
            j = k + 1
        elif s[j] == '"':
            k = j + 1
            while s[k] != '"':
                k += 2 if s[k] == "\\" else 1
            text += s[j + 1:k]
            j = k + 1
        elif s.startswith("$(", j):
            inner, k = tokenize(s, j + 2, found, True)
            analyze(inner, found, functions(s))
            text += "$"
            j = k + 1
        else:
            text += s[j]
            j += 1
    return (text, j), j


def analyze(tokens, found, funcs):
    """Adds the command words of a token list to found."""
    cmd_pos = True
    case_depth = 0
    in_patterns = False
    skip_to_sep = False
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if isinstance(t, str):  # an operator
            if t == ")" and in_patterns:
                in_patterns = False
                cmd_pos = True
            elif t == ";;":
                in_patterns = True
                cmd_pos = False
            elif t == "|" and in_patterns:
                pass
            else:
                cmd_pos = t != ")"
                skip_to_sep = False
            i += 1
            continue
        w = t.text
        if in_patterns:
            if w == "esac":
                in_patterns = False
                case_depth -= 1
                cmd_pos = False
            i += 1
            continue
        if skip_to_sep or not cmd_pos:
            i += 1
            continue
        if t.plain and re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=", w):
            i += 1  # an assignment before the command
            continue
        if w in REOPEN and t.plain:
            i += 1
            continue
        if w in ("for", "select") and t.plain:
            skip_to_sep = True
            i += 1
            continue
        if w == "case" and t.plain:
            # "case WORD in" then patterns
            while i < len(tokens) and not (isinstance(tokens[i], Word) and tokens[i].text == "in"):
                i += 1
            i += 1
            case_depth += 1
            in_patterns = True
            continue
        if w in ("fi", "done", "esac", "}") and t.plain:
            if w == "esac":
                case_depth -= 1
            cmd_pos = False
            i += 1
            continue
        # a function definition: name ( )
        if i + 2 < len(tokens) and tokens[i + 1] == "(" and tokens[i + 2] == ")":
            i += 3
            cmd_pos = True
            continue
        cmd_pos = False
        if not t.plain or "/" in w or not NAME.match(w):
            i += 1
            continue
        args = [a for a in tokens[i + 1:] ]
        rest = []
        for a in args:
            if isinstance(a, str):
                break
            rest.append(a)
        if w not in SHELL_WORDS and w not in funcs:
            found.add(w)
        if w in ("sh", "bash", "dash"):
            for k, a in enumerate(rest[:-1]):
                if a.text == "-c":
                    scan_shell(rest[k + 1].text, found)
                    break
        if w == "command" and rest and rest[0].text in ("-v", "-V"):
            skip_to_sep = True
        elif w in WRAPPERS or funcs.get(w) is not None:
            # the wrapped command follows the wrapper's options (and, for
            # runuser, its "--"; for timeout, its duration; for env,
            # assignments; for a function running "$@", the arguments it
            # shifts off)
            k = 0
            if w in funcs:
                k = funcs[w]
            elif w == "runuser":
                while k < len(rest) and rest[k].text != "--":
                    k += 1
                k += 1
            else:
                while k < len(rest) and (rest[k].text.startswith("-") or
                                         (w == "env" and "=" in rest[k].text) or
                                         (w == "timeout" and re.match(r"^[0-9.]+[smhd]?$", rest[k].text))):
                    k += 1
            i += 1 + k
            cmd_pos = True
            continue
        i += 1


def scan_python(src, found):
    for m in re.finditer(r"subprocess\.\w+\(\s*\[\s*(['\"])([^'\"]+)\1", src):
        found.add(m.group(2))
    # an argv list built first and then run: a list literal whose first
    # item is a bare name and whose second one is an option
    for m in re.finditer(r"=\s*\[\s*(['\"])([A-Za-z_][\w.+-]*)\1\s*,\s*(['\"])-", src):
        found.add(m.group(2))
    for m in re.finditer(r"os\.(?:system|popen|exec\w*)\(\s*(['\"])([^'\" ]+)", src):
        found.add(m.group(2))
    for m in re.finditer(r"shutil\.which\(\s*(['\"])([^'\"]+)\1", src):
        found.add(m.group(2))


def scan_file(rel, found):
    path = os.path.join(ROOT, rel)
    src = open(path, encoding="utf-8").read()
    first = src.split("\n", 1)[0]
    if rel.endswith("Makefile.am"):
        recipes = "\n".join(l[1:] for l in src.split("\n") if l.startswith("\t"))
        scan_shell(re.sub(r"\$\((\w+)\)", r"${\1}", recipes), found)
    elif rel.endswith(".py") or "python" in first:
        scan_python(src, found)
    elif first.startswith("#!") and re.search(r"\b(sh|bash|dash)\b", first) or rel.endswith(".sh"):
        scan_shell(src, found, sourced_texts(src, rel))


def files():
    run = [f for f in RUN_FILES if os.path.exists(os.path.join(ROOT, f))]
    test = [f for f in TEST_FILES if os.path.exists(os.path.join(ROOT, f))]
    for d, ext in TEST_GLOBS:
        for name in sorted(os.listdir(os.path.join(ROOT, d))):
            rel = os.path.join(d, name)
            if os.path.isfile(os.path.join(ROOT, rel)) and name.endswith(ext) and \
                    rel not in run and rel not in test:
                test.append(rel)
    return run, test


def inventory():
    entries = {}
    with open(os.path.join(ROOT, "tests", "commands")) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            if len(line) != 3 or line[2] not in ("run", "test", "base"):
                raise SystemExit(f"tests/commands:{n}: want: command package run|test|base")
            entries[line[0]] = (line[1], line[2])
    return entries


def packages(*lists):
    out = subprocess.run([os.path.join(ROOT, "scripts", "packages"), "list", *lists],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def installed():
    """{package: (essential, priority, [first alternative of each Depends and Pre-Depends])},
    and {virtual package: [installed packages providing it]}."""
    out = subprocess.run(["dpkg-query", "-W", "-f",
                          "${Package}\t${db:Status-Abbrev}\t${Essential}\t${Priority}\t"
                          "${Provides}\t${Depends}, ${Pre-Depends}\n"],
                         capture_output=True, text=True, check=True).stdout
    pkgs, provides = {}, {}
    for line in out.splitlines():
        name, status, essential, priority, prov, deps = line.split("\t")
        if not status.startswith("ii"):
            continue
        firsts = []
        for d in deps.split(","):
            d = d.split("|")[0].strip()
            if d:
                firsts.append(re.split(r"[\s(:]", d)[0])
        pkgs[name] = (essential == "yes", priority, firsts)
        for p in prov.split(","):
            p = re.split(r"[\s(]", p.strip())[0]
            if p:
                provides.setdefault(p, []).append(name)
    return pkgs, provides


def closure(roots, pkgs, provides):
    seen = set()
    todo = list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        if p in pkgs:
            todo.extend(pkgs[p][2])
        else:
            todo.extend(provides.get(p, []))
    return seen


def ships(package, command):
    """Whether package ships a program named command (directly, or as the
    target of the command's alternatives link, as mawk is awk's)."""
    files = subprocess.run(["dpkg-query", "-L", package], capture_output=True, text=True).stdout.split("\n")
    if any(re.search(r"/s?bin/" + re.escape(command) + "$", f) for f in files):
        return True
    alternative = os.path.join("/etc/alternatives", command)
    return os.path.islink(alternative) and os.path.realpath(alternative) in files


def main():
    entries = inventory()
    run_files, test_files = files()
    passed = failed = 0

    def result(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL " + what)

    run_found, all_found = set(), set()
    for f in run_files:
        found = set()
        scan_file(f, found)
        run_found |= found
        all_found |= found
    for f in test_files:
        scan_file(f, all_found)
    for c in sorted(all_found):
        if c not in entries:
            result(False, f"{c}: called in the scripts or tests, not in tests/commands")
        elif c in run_found and entries[c][1] == "test":
            result(False, f"{c}: a run-time file calls it, but tests/commands says need test")
        else:
            result(True, c)

    pkgs, provides = installed()
    run_list, test_list = packages("run"), packages("test")
    for p in run_list + test_list:
        if p not in pkgs:
            result(False, f"{p}: in scripts/packages but not installed (scripts/packages install run test)")
    run_closure = closure(run_list, pkgs, provides)
    test_closure = closure(run_list + test_list, pkgs, provides)
    for c, (p, need) in sorted(entries.items()):
        if p not in pkgs:
            result(False, f"{c}: package {p} is not installed")
            continue
        if not ships(p, c):
            result(False, f"{c}: package {p} ships no program of that name")
            continue
        essential, priority, _ = pkgs[p]
        if need == "base":
            # debootstrap's minbase, Docker's debian:bookworm: the Essential
            # and Priority required packages, and apt
            result(essential or priority == "required" or p == "apt",
                   f"{c}: {p} is neither Essential nor of Priority required ({priority})")
        elif need == "run":
            result(p in run_closure, f"{c}: {p} is not brought by scripts/packages' run list")
        else:
            result(p in test_closure, f"{c}: {p} is not brought by scripts/packages' run and test lists")
    print(f"commands: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
