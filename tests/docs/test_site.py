"""The documentation site: `mkdocs build --strict` (which executes every tutorial), every
public name rendered, no network reference, and three pages seen by headless Chromium.

The site is built once per session (about a minute of CPU, most of it the tutorials and
mkdocstrings); every test below reads that build.
"""

import functools
import http.server
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the site needs the docs extra")
pytest.importorskip("mkdocs_jupyter", reason="the site needs the docs extra")

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.py"))


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def site(tmp_path_factory, worker_id):
    """Build the site with --strict, the tutorials executed afresh (no cache), once for
    the whole run: pytest-xdist's workers share one build behind a file lock."""
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent
    out, failure = shared / "docs-site", shared / "docs-site-failure.txt"
    with FileLock(str(shared / "docs-site.lock")):
        if not (out / "index.html").exists() and not failure.exists():
            message = _build(out)
            if message:
                failure.write_text(message, encoding="utf-8")
    if failure.exists():
        pytest.fail(failure.read_text(encoding="utf-8"), pytrace=False)
    return out


def _build(out) -> str:
    """Run ``mkdocs build --strict`` into ``out``; return the error, or "" on success."""
    env = {**os.environ, "VG_DOCS_EXECUTE": "true", "VG_DOCS_CACHE": "false",
           "OPENBLAS_NUM_THREADS": "1", "NO_MKDOCS_2_WARNING": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("MPLBACKEND", None)  # the kernel's inline backend puts the figures in the page
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode == 0:
        return ""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", done.stderr)  # the kernel's colours
    return f"mkdocs build --strict failed:\n{plain[-6000:]}"


def _page(site, path):
    return (site / path / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("tutorial", TUTORIALS, ids=[t.stem for t in TUTORIALS])
def test_each_tutorial_is_executed_with_its_figures(site, tutorial):
    html = _page(site, f"tutorials/{tutorial.stem}")
    assert html.count('src="data:image/png;base64,') >= 1, f"{tutorial.name} shows no figure"
    assert "jp-RenderedText" in html, f"{tutorial.name} printed nothing"
    assert "Traceback" not in html


def test_every_tutorial_is_in_the_nav(site):
    index = _page(site, "tutorials")
    for tutorial in TUTORIALS:
        assert f'href="{tutorial.stem}/"' in index or f'href="../{tutorial.stem}/"' in index, \
            tutorial.name


def test_every_public_name_has_a_rendered_entry(site):
    reference = _load("reference")
    missing = []
    for namespace in reference.public_namespaces():
        page = reference.page_name(namespace).removesuffix(".md").removesuffix("/index")
        html = _page(site, page.removeprefix("api/") and page or "api")
        for name in reference.public_names(namespace):
            path = reference.entry_path(namespace, name)
            if f'id="{path}"' not in html and f'href="../{name}/"' not in html and \
                    f'id="{namespace.replace(".", "")}{name}"' not in html:
                missing.append(path)
    assert not missing, f"{len(missing)} public names without an entry: {missing[:20]}"


def test_the_command_line_page_has_every_command(site):
    from visiongrad.cli import build_parser

    html = _page(site, "cli")
    commands = next(a for a in build_parser()._actions if a.choices and a.dest == "command")
    for name in commands.choices:
        assert f"visiongrad {name}" in html, name


NETWORK_SOURCE = re.compile(
    r"""<script[^>]*\ssrc=["']?(?:https?:)?//|<link[^>]*\shref=["']?(?:https?:)?//"""
    r"""|import\(\s*["'](?:https?:)?//|@import\s+(?:url\()?["']?(?:https?:)?//""",
    re.IGNORECASE)


def test_no_page_loads_anything_from_the_network(site):
    offenders = []
    for path in site.rglob("*"):
        if path.suffix in (".html", ".css") and NETWORK_SOURCE.search(path.read_text("utf-8")):
            offenders.append(str(path.relative_to(site)))
    assert not offenders, offenders


def test_the_network_check_catches_a_cdn_script():
    assert NETWORK_SOURCE.search('<script src="https://cdn.example/x.js"></script>')
    assert NETWORK_SOURCE.search('<link rel="stylesheet" href="//fonts.example/css">')
    assert not NETWORK_SOURCE.search('<a href="https://example.org">a link</a>')


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
@pytest.mark.parametrize("page, text, needs", [
    ("", "Getting started", []),
    ("api/nn/", "Conv2d", []),
    ("tutorials/04_convnets/", "The convolution", ["data:image/png", 'class="MathJax']),
])
def test_a_page_renders_in_chromium(served, tmp_path, page, text, needs):
    shot = tmp_path / "page.png"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              "--enable-logging=stderr", "--v=0", "--virtual-time-budget=15000",
              "--window-size=1200,900"]
    dom = subprocess.run([*common, "--dump-dom", f"{served}/{page}"], capture_output=True,
                         text=True, timeout=120)
    subprocess.run([*common, f"--screenshot={shot}", f"{served}/{page}"], capture_output=True,
                   text=True, timeout=120)
    assert text in dom.stdout
    for fragment in needs:
        assert fragment in dom.stdout, f"{fragment} is not in the rendered page"
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    errors = [line for line in console if re.search(r"error|failed|uncaught", line, re.I)]
    assert not errors, errors
    from PIL import Image

    pixels = Image.open(shot).convert("L")
    assert pixels.size == (1200, 900)
    low, high = pixels.getextrema()
    assert high - low > 100, "the screenshot is blank"
