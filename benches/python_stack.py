#!/usr/bin/env python3
"""The Python stack people would otherwise script, for the side-by-side bench (benches/scale.rs,
`SCALE_VERSUS=1`): feedparser for the feeds, a JSON file as the store, a keyword loop over the
shipped topics' keywords.

    python3 benches/python_stack.py CONFIG.toml STORE.json URL...

One cycle: fetch every feed (urllib, one after the other), parse it with feedparser, and for
every entry not in the store: fold its title and summary as a Python user would write it (NFKC,
lower case, one regex dropping spacing and punctuation: the folding policy-watch does), look for
every keyword of every topic, record the entry as seen; then write the store. Prints how many entries were new and how many matched.

feedparser is installed on first use into a virtual environment under target/ (pip, from PyPI)
when the interpreter running this does not have it; nothing is installed system-wide.
"""

import json
import os
import re
import subprocess
import sys
import unicodedata
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, "..", "target", "python-stack-venv")


def ensure_feedparser():
    try:
        import feedparser  # noqa: F401
        return
    except ImportError:
        pass
    python = os.path.join(VENV, "bin", "python3")
    if os.path.abspath(sys.executable) == os.path.abspath(python):
        sys.exit("feedparser did not install into " + VENV)
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    subprocess.check_call(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "feedparser"]
    )
    os.execv(python, [python] + sys.argv)


NOT_WORD = re.compile(r"[\W_]+")


def fold(text):
    return NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def keywords_of(config_path):
    import tomllib

    with open(config_path, "rb") as f:
        config = tomllib.load(f)
    topics = {}
    for topic in config.get("topic", []):
        words = list(topic.get("keywords", [])) + list(topic.get("strong", []))
        topics[topic["id"]] = [fold(w.rstrip("*")) for w in words if fold(w.rstrip("*"))]
    return topics


def main():
    ensure_feedparser()
    import feedparser

    config_path, store_path, urls = sys.argv[1], sys.argv[2], sys.argv[3:]
    topics = keywords_of(config_path)
    try:
        with open(store_path) as f:
            seen = {k: set(v) for k, v in json.load(f).items()}
    except FileNotFoundError:
        seen = {}
    new = matched = 0
    for url in urls:
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
        feed = feedparser.parse(body)
        ids = seen.setdefault(url, set())
        for entry in feed.entries:
            key = entry.get("id") or entry.get("link") or entry.get("title", "")
            if key in ids:
                continue
            ids.add(key)
            new += 1
            text = fold(entry.get("title", "") + " " + entry.get("summary", ""))
            if any(any(k in text for k in words) for words in topics.values()):
                matched += 1
    with open(store_path, "w") as f:
        json.dump({k: sorted(v) for k, v in seen.items()}, f)
    print(f"{new} new, {matched} matched")


if __name__ == "__main__":
    main()
