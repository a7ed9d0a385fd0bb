"""MkDocs hooks (``mkdocs.yml``: ``hooks``): the generated pages and the offline MathJax.

- the API reference (``api/*.md``) and the command-line reference (``cli.md``) are written
  from the code by ``docs/tools/reference.py`` on every build;
- ``benchmarks/README.md`` (generated from ``benchmarks/results/*.json``) becomes the
  results page, its figures beside it; ``docs/guide.md`` is linked when it exists;
- nbconvert's loader of mermaid.js (a CDN import, for diagrams the tutorials do not draw)
  is taken out of the notebook pages;
- MathJax comes from the installed ``jupyter-server-mathjax`` package (the ``docs`` extra)
  and is served from the site itself: no page loads anything from the network.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))

import reference  # noqa: E402  (docs/tools/reference.py, beside this file)

BENCHMARKS = ROOT / "benchmarks"
MATHJAX_DEST = "assets/mathjax"
# MathJax 2's settings for every page, as a config file of its own (``?config=...,local/offline``):
# the STIX web fonts are the ones the package ships, so no font is fetched from elsewhere.
MATHJAX_CONFIG = """MathJax.Hub.Config({
  tex2jax: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
            displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
            processEscapes: true, processEnvironments: true},
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null},
  messageStyle: "none"
});
MathJax.Ajax.loadComplete("[MathJax]/config/local/offline.js");
"""


def _mathjax_dir() -> Path:
    try:
        import jupyter_server_mathjax
    except ImportError as error:  # the docs extra is not installed
        raise SystemExit("the site needs the docs extra: pip install -e .[docs]") from error
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def on_config(config):
    """Put the reference pages, and the guide and the results where they exist, in the nav."""
    nav = config["nav"]
    api = [{namespace: reference.page_name(namespace)}
           for namespace in reference.public_namespaces()]
    extra = [{"Command line": "cli.md"}]
    if (Path(config["docs_dir"]) / "guide.md").exists():
        extra.insert(0, {"Command-line guide": "guide.md"})
    if (BENCHMARKS / "README.md").exists():
        extra.append({"Results": "benchmarks/index.md"})
    config["nav"] = [*nav[:2], *extra, *nav[2:], {"API reference": api}]
    return config


def on_files(files, config):
    """Add the generated pages, the results figures and MathJax's files."""
    for namespace in reference.public_namespaces():
        files.append(File.generated(config, reference.page_name(namespace),
                                    content=reference.api_page(namespace)))
    files.append(File.generated(config, "cli.md", content=reference.cli_page()))
    if (BENCHMARKS / "README.md").exists():
        files.append(File.generated(config, "benchmarks/index.md",
                                    abs_src_path=str(BENCHMARKS / "README.md")))
        for figure in sorted((BENCHMARKS / "results").glob("*.png")):
            files.append(File.generated(config, f"benchmarks/results/{figure.name}",
                                        abs_src_path=str(figure)))
    mathjax = _mathjax_dir()
    for path in sorted(p for p in mathjax.rglob("*") if p.is_file()):
        files.append(File.generated(config, f"{MATHJAX_DEST}/{path.relative_to(mathjax)}",
                                    abs_src_path=str(path)))
    files.append(File.generated(config, f"{MATHJAX_DEST}/config/local/offline.js",
                                content=MATHJAX_CONFIG))
    return files


MERMAID_LOADER = re.compile(r'<script type="module">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*?'
                            r"</script>", re.DOTALL)


def on_post_page(output, page, config):
    """Drop nbconvert's mermaid loader, the one network import a notebook page carries."""
    return MERMAID_LOADER.sub("", output)
