"""``swift-function``: show one function of the Swift core, read from ``Sources/`` at build time.

    ```{swift-function} SwiftProp/Linear.swift linearBackward
    ```

renders the function (with the comment lines right above it) as a Swift code block captioned with its file
and line numbers. A function that is not found is a build error, so the pages cannot drift from the code.
"""
import re
from pathlib import Path

from docutils import nodes
from sphinx.directives.code import container_wrapper
from sphinx.util.docutils import SphinxDirective

_MODIFIERS = r"(?:(?:public|internal|private|fileprivate|static|final|override|mutating|@inlinable|@inline\(__always\)|@_specialize\([^)]*\))\s+)*"


def find_function(lines, name):
    """(first, last) 0-based line indices of the function ``name`` and the comments above it, or None."""
    pat = re.compile(rf"^(\s*){_MODIFIERS}func {re.escape(name)}\b")
    for i, line in enumerate(lines):
        m = pat.match(line)
        if not m:
            continue
        indent = m.group(1)
        end = next((j for j in range(i, len(lines)) if lines[j] == indent + "}"), None)
        if end is None:
            return None
        start = i
        while start > 0 and lines[start - 1].strip().startswith(("//", "@")):
            start -= 1
        return start, end
    return None


class SwiftFunction(SphinxDirective):
    required_arguments = 2
    has_content = False

    def run(self):
        rel, name = self.arguments
        path = Path(self.env.srcdir).parent / "Sources" / rel
        if not path.is_file():
            raise self.error(f"swift-function: no file Sources/{rel}")
        self.env.note_dependency(str(path))
        lines = path.read_text(encoding="utf-8").splitlines()
        span = find_function(lines, name)
        if span is None:
            raise self.error(f"swift-function: func {name} not found in Sources/{rel}")
        first, last = span
        code = "\n".join(lines[first:last + 1])
        block = nodes.literal_block(code, code, language="swift")
        block["linenos"] = True
        block["highlight_args"] = {"linenostart": first + 1}
        self.set_source_info(block)
        caption = f"Sources/{rel}, lines {first + 1}–{last + 1}: {name}"
        return [container_wrapper(self, block, caption)]


def setup(app):
    app.add_directive("swift-function", SwiftFunction)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
