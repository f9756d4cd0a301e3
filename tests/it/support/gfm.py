"""Render markdown as GitHub does (cmark-gfm, the renderer github.com uses) and print the
resulting HTML as a JSON tree, so tests can check a comment's structure: its tables, folds,
code spans and links, and the text that is outside any code."""

import json
import sys
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

VOID = {"br", "hr", "img", "input", "meta", "link", "wbr"}


class Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = {"tag": "root", "attrs": {}, "children": []}
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = {"tag": tag, "attrs": dict(attrs), "children": []}
        self.stack[-1]["children"].append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1]["children"].append({"tag": tag, "attrs": dict(attrs), "children": []})

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i]["tag"] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1]["children"].append({"text": data})


def main():
    markdown = sys.stdin.read()
    # GitHub renders raw HTML (then sanitises it); <details> and <summary> survive.
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    tree = Tree()
    tree.feed(html)
    tree.close()
    json.dump({"html": html, "tree": tree.root}, sys.stdout)


if __name__ == "__main__":
    main()
