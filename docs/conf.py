"""Sphinx configuration of swiftprop's documentation site (built by ``bash scripts/docs.sh``).

Everything renders offline: math with the MathJax copy given by ``SWIFTPROP_MATHJAX_DIR`` (Debian's
``libjs-mathjax``, which scripts/docs.sh installs), copied into the build; no file is loaded from a CDN.
"""
import os
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))

import swiftprop  # noqa: E402  (the installed package: its extension module is built)

project = "swiftprop"
author = "the swiftprop authors"
copyright = "swiftprop authors, MIT licence"
release = version = swiftprop.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_nb",
    "sphinx_copybutton",
    "swift_source",
]
intersphinx_mapping: dict = {}  # offline: no inventories fetched
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# ---- API reference: autosummary pages with numpydoc docstrings --------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "inherited-members": False, "show-inheritance": True}
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
numpydoc_show_class_members = False  # the class template lists members through autodoc
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
suppress_warnings = ["myst.header"]

# ---- the notebooks: copied from examples/notebooks and executed at build time ------------------------
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
_NOTEBOOKS = HERE / "notebooks"
_NOTEBOOKS.mkdir(exist_ok=True)
for nb in sorted((ROOT / "examples" / "notebooks").glob("*.ipynb")):
    target = _NOTEBOOKS / nb.name
    if not target.exists() or target.read_bytes() != nb.read_bytes():
        shutil.copyfile(nb, target)

# ---- HTML ------------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"swiftprop {release}"
html_static_path = ["_static"]
html_show_sourcelink = False

# ---- math: MathJax 2 from the local copy, into _static/mathjax --------------------------------------
_MATHJAX = Path(os.environ.get("SWIFTPROP_MATHJAX_DIR", "/usr/share/javascript/mathjax"))
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_CHTML"
# MyST marks each page "tex2jax_ignore" and its math "math" (for MathJax 3's processHtmlClass); MathJax 2's
# tex2jax needs the same exception as processClass
mathjax2_config = {"messageStyle": "none", "CommonHTML": {"linebreaks": {"automatic": True}},
                   "tex2jax": {"processClass": "tex2jax_process|mathjax_process|math|output_area"}}
# the parts MathJax 2 loads for the TeX-AMS_CHTML configuration (the rest of the package is not needed)
_MATHJAX_PARTS = ["MathJax.js", "config/TeX-AMS_CHTML.js", "extensions", "jax/input/TeX", "jax/element",
                  "jax/output/CommonHTML", "fonts/HTML-CSS/TeX/woff"]


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    if not (_MATHJAX / "MathJax.js").is_file():
        raise RuntimeError(f"MathJax not found in {_MATHJAX}: install Debian's libjs-mathjax (scripts/docs.sh does) "
                           "or set SWIFTPROP_MATHJAX_DIR to a MathJax 2 directory")
    dest = Path(app.outdir) / "_static" / "mathjax"
    for part in _MATHJAX_PARTS:
        src = (_MATHJAX / part).resolve()
        if src.is_dir():
            shutil.copytree(src, dest / part, dirs_exist_ok=True)
        else:
            (dest / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / part)


_SHAPE = re.compile(r"of shape \(([^)]*)\)")


def _escape_shapes(app, what, name, obj, options, lines):
    """``of shape (n_features_in_,)``: a name ending in ``_`` would be read as a reST reference."""
    for k, line in enumerate(lines):
        lines[k] = _SHAPE.sub(lambda m: "of shape (" + re.sub(r"(\w)_\b", r"\1\\_", m.group(1)) + ")", line)


def _skip_foreign(app, what, name, obj, skip, options):
    """Members that scikit-learn generates (set_fit_request & co.) are documented by scikit-learn."""
    if type(obj).__name__ == "RequestMethod" or (name.startswith("set_") and name.endswith("_request")):
        return True
    return None


def setup(app):
    app.connect("build-finished", _copy_mathjax)
    app.connect("autodoc-process-docstring", _escape_shapes, priority=400)
    app.connect("autodoc-skip-member", _skip_foreign)
