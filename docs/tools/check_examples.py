"""The public-name rule: every name of ``visiongrad.__all__`` and of each subpackage's
``__all__`` has a one-line summary and an ``Examples`` section that the tests run.

``python docs/tools/check_examples.py`` prints each public name that lacks one (and the
count); ``tests/docs/test_examples.py`` runs every example that exists as a doctest. The
rendered entry of each name is checked on the built site (``tests/docs/test_site.py``).
Examples may use ``np``, ``vg`` (visiongrad), ``F`` (visiongrad.functional) and ``nn``
without importing them.

A constant (any public name that is not a module, a class or a callable: a tuple of
method names, a path, the ``accel.workspace`` object) is documented by an attribute
docstring, the string literal right under its assignment in the module that defines it
(PEP 257; it is what mkdocstrings renders on the name's entry, and what Sphinx reads).
The same rule holds for it as for a function: a summary and an example. A ``#:`` comment
above the assignment does not count, because the site would not show it.
"""

from __future__ import annotations

import ast
import doctest
import functools
import importlib
import inspect
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import reference  # noqa: E402  (docs/tools/reference.py, beside this file)


def public_objects() -> list[tuple[str, object]]:
    """(public dotted path, object) for every public name, namespace by namespace."""
    found = []
    for namespace in reference.public_namespaces():
        module = importlib.import_module(namespace)
        found += [(f"{namespace}.{name}", getattr(module, name))
                  for name in reference.public_names(namespace)]
    return found


def is_constant(value) -> bool:
    return not (inspect.ismodule(value) or inspect.isclass(value) or callable(value))


def docstring(value, path: str = "") -> str:
    """The object's own docstring; for a constant, its attribute docstring (a constant's
    type docstring, ``tuple``'s or ``str``'s, does not count)."""
    if not is_constant(value):
        return inspect.getdoc(value) or ""
    name = path.rpartition(".")[2]
    for module in defining_modules(path, value):
        text = attribute_docstrings(module).get(name)
        if text:
            return inspect.cleandoc(text)
    return ""


def defining_modules(path: str, value) -> list[str]:
    """The loaded visiongrad modules that hold ``value`` under the name ends ``path``,
    the exporting namespace first: one of them assigns it."""
    namespace, _, name = path.rpartition(".")
    holders = [module_name for module_name, module in sorted(sys.modules.items())
               if module_name.startswith("visiongrad") and module is not None
               and vars(module).get(name, object()) is value]
    return sorted(holders, key=lambda module_name: module_name != namespace)


@functools.cache
def attribute_docstrings(module_name: str) -> dict[str, str]:
    """``{name: docstring}`` for each top-level ``name = ...`` of the module's source that
    a string literal follows."""
    try:
        source = inspect.getsource(sys.modules[module_name])
    except (OSError, TypeError):
        return {}
    body = ast.parse(source).body
    found = {}
    for statement, following in itertools.pairwise(body):
        targets = (statement.targets if isinstance(statement, ast.Assign) else
                   [statement.target] if isinstance(statement, ast.AnnAssign) else [])
        if (len(targets) == 1 and isinstance(targets[0], ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            found[targets[0].id] = following.value.value
    return found


def has_example(text: str) -> bool:
    return ">>>" in text


def problems(path: str, value) -> list[str]:
    """What ``path`` lacks: a one-line summary, an example."""
    text = docstring(value, path)
    missing = []
    if not text.strip():
        missing.append("summary")
    if not has_example(text):
        missing.append("example")
    return missing


def _example_names() -> dict:
    """The names every example may use unimported, as NumPy's docs assume ``np``."""
    import numpy

    import visiongrad
    import visiongrad.functional
    import visiongrad.nn

    return {"np": numpy, "vg": visiongrad, "F": visiongrad.functional, "nn": visiongrad.nn}


EXAMPLE_NAMES = _example_names()


def examples(path: str, value) -> list[doctest.DocTest]:
    """The doctests of ``value``'s docstring, named after its public path, run (as doctest
    does) in the globals of the module that defines it and of the namespace that exports it.
    """
    text = docstring(value, path)
    if not has_example(text):
        return []
    if is_constant(value):
        home = sys.modules[defining_modules(path, value)[0]]
    else:
        home = value if inspect.ismodule(value) else inspect.getmodule(value)
    namespace = sys.modules.get(path.rpartition(".")[0])
    globs = {**vars(home or namespace or doctest), **vars(namespace or home or doctest),
             **EXAMPLE_NAMES}
    test = doctest.DocTestParser().get_doctest(text, globs, path, None, 0)
    return [test] if test.examples else []


def lacking() -> list[str]:
    """``"path: no summary and no example"`` for each public name that lacks either."""
    return [f"{path}: no {' and no '.join(missing)}" for path, value in public_objects()
            if (missing := problems(path, value))]


def main() -> int:
    found = lacking()
    for line in found:
        print(line)
    print(f"{len(found)} of {len(public_objects())} public names lack a summary or an example")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
