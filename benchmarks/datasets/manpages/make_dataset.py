#!/usr/bin/env python3
"""Builds the manual-page relevance set (BEIR layout) from this machine's man pages.

  python3 make_dataset.py            # corpus.jsonl, queries.jsonl, qrels/test.tsv, sources.tsv
  python3 make_dataset.py --check    # only the rare-word check of queries.src.tsv against corpus.jsonl

Standard library only. The pages are those of the packages in PACKAGES (freely licensed, see README.md); each is
rendered with `man -l FILE | col -bx` at a wide MANWIDTH (so a paragraph is one line), then cut into passages:
one per option paragraph (a line starting with '-' and the lines indented under it) and,
for other text, consecutive paragraphs of a section joined up to about MAX_CHARS; at most MAX_PASSAGES_PER_PAGE
from a page (its first), none repeating a passage already taken. Titles are the page name, e.g. "ls(1)".

The queries are hand-written in queries.src.tsv (id, answering passage, other passages that answer, text). The
check computes each word's document frequency over the corpus and fails when a query uses any of the three rarest
content words of the passage it paraphrases (that passage is the first id of its row).
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Packages whose manual pages are taken, with the licence their Debian copyright file gives (checked by hand).
PACKAGES = {
    "coreutils": "GPL-3+",
    "grep": "GPL-3+",
    "sed": "GPL-3+",
    "tar": "GPL-3+",
    "gzip": "GPL-3+",
    "diffutils": "GPL-3+",
    "make": "GPL-3+",
    "util-linux": "GPL-2+ (some files BSD, LGPL, public domain)",
    "procps": "GPL-2+ / LGPL-2.1+",
    "psmisc": "GPL-2+",
    "man-db": "GPL-2+",
    "dpkg": "GPL-2+",
    "apt": "GPL-2+",
    "e2fsprogs": "GPL-2",
    "bzip2": "BSD-variant",
    "openssh-client": "OpenSSH (BSD-style)",
    "passwd": "BSD-3-clause / GPL-2+",
    "curl": "curl (MIT-style)",
    "jq": "MIT",
    "tmux": "ISC",
    "file": "BSD-2-Clause-alike",
}

SECTIONS = ("1", "5", "7", "8")
# Sections that hold no answer a user asks for, or only names and addresses.
SKIPPED_SECTIONS = {"NAME", "SYNOPSIS", "SEE ALSO", "AUTHOR", "AUTHORS", "REPORTING BUGS", "COPYRIGHT", "COLOPHON",
                    "AVAILABILITY", "HISTORY", "BUGS", "STANDARDS", "CONFORMING TO", "LICENSE", "COPYING"}
# Pages that repeat another page (dir and vdir are ls under other names).
SKIPPED_PAGES = {"dir.1", "vdir.1"}
MAX_CHARS = 1200
MIN_CHARS = 40
MAX_PASSAGES_PER_PAGE = 45

STOPWORDS = set("""
a about above after again against all also am an and any are aren't as at be because been before being below between
both but by can can't cannot could did do does doing don't down during each either else etc even ever every few for
from further get gets given gives had has have having he her here hers him his how i if in into is isn't it its itself
just least less let like made make makes many may me might more most much must my no nor not now of off on once one
only or other otherwise our out over own per rather same see she should since so some such than that the their them
then there these they this those through thus to too two under until up upon us use used uses using very via was way
we were what when where whether which while who whom why will with within without would yes yet you your
""".split())


def package_pages(package):
    lists = [os.path.join("/var/lib/dpkg/info", f"{package}.list"), os.path.join("/var/lib/dpkg/info", f"{package}:amd64.list")]
    for path in lists:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                return sorted(line.strip() for line in f
                              if re.match(r"^/usr/share/man/man[%s]/[^/]+\.[%s][a-z]*(\.gz)?$" % ("".join(SECTIONS), "".join(SECTIONS)), line.strip())
                              and os.path.isfile(line.strip()) and not os.path.islink(line.strip()))
    sys.exit(f"package {package} is not installed (no {lists[0]})")


def package_version(package):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    return out.stdout.strip()


def render(path):
    env = dict(os.environ, MANWIDTH="2000", MAN_KEEP_FORMATTING="", LC_ALL="C.UTF-8")
    man = subprocess.run(["man", "-l", path], capture_output=True, env=env)
    col = subprocess.run(["col", "-bx"], input=man.stdout, capture_output=True, env=env)
    return col.stdout.decode("utf-8", "replace")


def clean(text):
    text = text.replace("\u2010", "-").replace("\u2212", "-").replace("\u2018", "'").replace("\u2019", "'")
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip()


def cut(page_text):
    """Yields (section, passage text) for one rendered page."""
    lines = page_text.splitlines()[1:]  # the first line is the page header
    section = None
    body = []

    def flush():
        if section is None or section in SKIPPED_SECTIONS:
            return
        # Blocks of lines separated by blank lines, each with its indent.
        blocks, current = [], []
        for line in body:
            if line.strip():
                current.append(line)
            elif current:
                blocks.append(current)
                current = []
        if current:
            blocks.append(current)
        if not blocks:
            return
        items, prose = [], []

        def emit_prose():
            text = ""
            for b in prose:
                part = clean(" ".join(b))
                if text and len(text) + len(part) > MAX_CHARS:
                    yield text
                    text = ""
                text = (text + " " + part).strip()
            if text:
                yield text
            prose.clear()

        option, option_indent = None, 0
        for b in blocks:
            indent = len(b[0]) - len(b[0].lstrip())
            head = b[0].strip()
            if head.startswith("-") and (option is None or indent <= option_indent):
                if option is not None:
                    items.append(clean(" ".join(option)))
                items.extend(emit_prose())
                option, option_indent = list(b), indent
            elif option is not None and indent > option_indent:
                option.extend(b)
            else:
                if option is not None:
                    items.append(clean(" ".join(option)))
                    option = None
                prose.append(b)
        if option is not None:
            items.append(clean(" ".join(option)))
        items.extend(emit_prose())
        for item in items:
            if len(item) >= MIN_CHARS:
                yield section, item[:2 * MAX_CHARS]

    out = []
    for line in lines:
        if re.match(r"^[A-Z][A-Z0-9 ,/&()'-]*$", line) and line.strip() == line:
            out.extend(flush())
            section, body = line.strip(), []
        elif re.match(r"^\S.*\(\d\w*\)\s*$", line) and section is not None and line.strip() == line:
            continue  # the page footer
        else:
            body.append(line)
    out.extend(flush())
    return out


def tokens(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def content_words(text):
    return {t for t in tokens(text) if len(t) >= 3 and t not in STOPWORDS and not t.isdigit()}


def normal(word):
    # A plural and its singular count as one word.
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def build():
    corpus, sources, seen = [], [], set()
    for package in sorted(PACKAGES):
        version = package_version(package)
        for path in package_pages(package):
            name = os.path.basename(path)
            if name.endswith(".gz"):
                name = name[:-3]
            if name in SKIPPED_PAGES:
                continue
            page, section = name.rsplit(".", 1)
            title = f"{page}({section})"
            # A passage already taken from another page (dir(1) and vdir(1) repeat ls(1)) is not taken again.
            passages = [p for p in cut(render(path)) if p[1] not in seen][:MAX_PASSAGES_PER_PAGE]
            seen.update(text for _, text in passages)
            for n, (_, text) in enumerate(passages, 1):
                corpus.append({"_id": f"{page}.{section}-{n:02d}", "title": title, "text": text})
            sources.append((package, version, PACKAGES[package], path, len(passages)))
            print(f"{path}: {len(passages)} passages", file=sys.stderr)
    ids = [d["_id"] for d in corpus]
    assert len(ids) == len(set(ids)), "duplicate passage ids"
    with open(os.path.join(HERE, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for d in corpus:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    with open(os.path.join(HERE, "sources.tsv"), "w", encoding="utf-8") as f:
        f.write("package\tversion\tlicence\tpage\tpassages\n")
        for row in sources:
            f.write("\t".join(str(x) for x in row) + "\n")
    print(f"{len(corpus)} passages from {len(sources)} pages", file=sys.stderr)


def read_corpus():
    with open(os.path.join(HERE, "corpus.jsonl"), encoding="utf-8") as f:
        return {d["_id"]: d for d in map(json.loads, f)}


def read_queries():
    rows = []
    with open(os.path.join(HERE, "queries.src.tsv"), encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                sys.exit(f"queries.src.tsv:{number}: expected 4 tab-separated fields (id, passage, other passages, text)")
            qid, primary, others, text = parts
            relevant = [primary] + [o for o in others.split(",") if o.strip()]
            rows.append((qid, relevant, text))
    return rows


def check(corpus, rows):
    """The rare-word check: a query may not use any of the 3 rarest content words of the passage it paraphrases."""
    df = collections.Counter()
    for d in corpus.values():
        df.update({normal(w) for w in content_words(d["title"] + " " + d["text"])})
    failures = 0
    for qid, relevant, text in rows:
        for pid in relevant:
            if pid not in corpus:
                print(f"{qid}: passage {pid} is not in the corpus", file=sys.stderr)
                failures += 1
        if relevant[0] not in corpus:
            continue
        passage = corpus[relevant[0]]
        words = sorted({normal(w) for w in content_words(passage["text"])}, key=lambda w: (df[w], w))
        rarest = words[:3]
        used = {normal(w) for w in content_words(text)} & set(rarest)
        if used:
            print(f"{qid}: uses {sorted(used)}, among the rarest words {rarest} of {relevant[0]}", file=sys.stderr)
            failures += 1
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check queries.src.tsv against corpus.jsonl")
    args = parser.parse_args()
    if not args.check:
        build()
    corpus = read_corpus()
    if not os.path.exists(os.path.join(HERE, "queries.src.tsv")):
        return 0
    rows = read_queries()
    failures = check(corpus, rows)
    if failures:
        print(f"{failures} problem(s) in queries.src.tsv", file=sys.stderr)
        return 1
    with open(os.path.join(HERE, "queries.jsonl"), "w", encoding="utf-8") as f:
        for qid, _, text in rows:
            f.write(json.dumps({"_id": qid, "text": text}, ensure_ascii=False) + "\n")
    os.makedirs(os.path.join(HERE, "qrels"), exist_ok=True)
    with open(os.path.join(HERE, "qrels", "test.tsv"), "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for qid, relevant, _ in rows:
            for pid in relevant:
                f.write(f"{qid}\t{pid}\t1\n")
    print(f"{len(rows)} queries, {sum(len(r) for _, r, _ in rows)} judgements; the rare-word check passed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
