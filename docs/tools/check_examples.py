"""The public-name rule: every name of ``visiongrad.__all__`` and of each subpackage's
``__all__`` has a one-line summary and an ``Examples`` section that the tests run.

``python docs/tools/check_examples.py`` prints each public name that lacks one (and the
count); ``tests/docs/test_examples.py`` runs every example that exists as a doctest. The
rendered entry of each name is checked on the built site (``tests/docs/test_site.py``).
Examples may use ``np``, ``vg`` (visiongrad), ``F`` (visiongrad.functional) and ``nn``
without importing them.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
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


def docstring(value) -> str:
    """The object's own docstring (a constant's or an alias's type docstring does not count)."""
    if inspect.ismodule(value) or inspect.isclass(value) or callable(value):
        return inspect.getdoc(value) or ""
    return ""


def has_example(text: str) -> bool:
    return ">>>" in text


def problems(path: str, value) -> list[str]:
    """What ``path`` lacks: a one-line summary, an example."""
    text = docstring(value)
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
    text = docstring(value)
    if not has_example(text):
        return []
    home = value if inspect.ismodule(value) else inspect.getmodule(value)
    namespace = sys.modules.get(path.rpartition(".")[0])
    globs = {**vars(home or namespace or doctest), **vars(namespace or home or doctest),
             **EXAMPLE_NAMES}
    test = doctest.DocTestParser().get_doctest(text, globs, path, None, 0)
    return [test] if test.examples else []


def main() -> int:
    lacking = [(path, missing) for path, value in public_objects()
               if (missing := problems(path, value))]
    for path, missing in lacking:
        print(f"{path}: no {' and no '.join(missing)}")
    total = len(public_objects())
    print(f"{len(lacking)} of {total} public names lack a summary or an example")
    return 1 if lacking else 0


if __name__ == "__main__":
    raise SystemExit(main())
