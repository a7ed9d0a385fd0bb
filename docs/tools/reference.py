"""The generated pages of the site: the API reference and the command-line reference.

Both are written from the code at build time (``docs/tools/hooks.py`` calls them), so they
cannot drift from it: the API pages list every name of ``visiongrad.__all__`` and of each
subpackage's ``__all__`` (one mkdocstrings entry each), the command-line page prints every
``visiongrad`` parser's ``--help``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from types import ModuleType

import visiongrad


def public_namespaces() -> list[str]:
    """``visiongrad`` and every subpackage (and ``functional``) that defines ``__all__``."""
    names = ["visiongrad"]
    for info in sorted(pkgutil.iter_modules(visiongrad.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or not (info.ispkg or info.name == "functional"):
            continue
        module = importlib.import_module(f"visiongrad.{info.name}")
        if getattr(module, "__all__", None):
            names.append(module.__name__)
    return names


def public_names(namespace: str) -> list[str]:
    """The names of ``namespace.__all__`` in their order, ``__version__`` left out (a string)."""
    module = importlib.import_module(namespace)
    return [name for name in module.__all__ if name != "__version__"]


def page_name(namespace: str) -> str:
    """``visiongrad.nn`` -> ``api/nn.md``; ``visiongrad`` -> ``api/index.md``."""
    short = namespace.removeprefix("visiongrad").lstrip(".")
    return f"api/{short or 'index'}.md"


def entry_path(namespace: str, name: str) -> str:
    """The dotted path the reference renders ``namespace.name`` under (its anchor id).

    The public path, except where a submodule has the same name as the function it
    exports (``visiongrad.gradcheck``): there the function's own path, so the entry shows
    the function and not the module.
    """
    value = getattr(importlib.import_module(namespace), name)
    path = f"{namespace}.{name}"
    shadowed = sys.modules.get(path)
    if shadowed is not None and shadowed is not value and not isinstance(value, ModuleType):
        return f"{value.__module__}.{value.__qualname__}"
    return path


def api_page(namespace: str) -> str:
    """The markdown of one namespace's page: its docstring, then one entry per public name."""
    module = importlib.import_module(namespace)
    lines = [f"# `{namespace}`", "",
             f"::: {namespace}",
             "    options:",
             "      members: false",
             "      show_root_heading: false",
             "      show_root_toc_entry: false", ""]
    namespaces = public_namespaces()
    for name in public_names(namespace):
        value = getattr(module, name)
        if isinstance(value, ModuleType) and value.__name__ in namespaces:
            target = page_name(value.__name__).removeprefix("api/")
            lines += [f"## `{namespace}.{name}`", "",
                      f"The subpackage [`{value.__name__}`]({target}).", ""]
            continue
        lines += [f"::: {entry_path(namespace, name)}", "    options:", "      heading_level: 2"]
        if isinstance(value, ModuleType):
            lines += ["      members: false"]
        lines += [""]
    return "\n".join(lines)


def _parser_sections(parser: argparse.ArgumentParser, words: list[str], level: int) -> list[str]:
    title = " ".join(words)
    lines = [f"{'#' * level} `{title}`", "", "```text", parser.format_help().rstrip(), "```", ""]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                lines += _parser_sections(child, [*words, name], min(level + 1, 4))
    return lines


def cli_page() -> str:
    """The command-line reference: every parser's ``--help``, the subcommands in order."""
    from visiongrad.cli import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps at $COLUMNS: the page must not vary
    try:
        body = _parser_sections(build_parser(), ["visiongrad"], 1)
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    intro = ["<!-- Generated from visiongrad.cli.build_parser() at build time. -->", "",
             "Every option of every `visiongrad` command, as `--help` prints it. The "
             "[guide](guide.md) walks through them with examples.", ""]
    return "\n".join([body[0], "", *intro, *body[1:]])
