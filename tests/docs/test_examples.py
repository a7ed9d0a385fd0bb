"""Every public name has a summary and an example, and every example runs and prints what
it says.

``python docs/tools/check_examples.py`` lists the names without one (the rule for
constants is in its docstring). An example that imports PyTorch (to write a ``.pth`` file
for the readers of ``visiongrad.io``) is skipped where PyTorch is not installed.
"""

import doctest
import importlib.util
import re
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "docs" / "tools"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_examples = _load("check_examples")
DOCTESTS = [test for path, value in check_examples.public_objects()
            for test in check_examples.examples(path, value)]


def test_every_public_name_has_a_summary_and_an_example():
    lacking = check_examples.lacking()
    assert not lacking, (f"{len(lacking)} public names lack a summary or an example (add an "
                         "Examples section to the docstring):\n" + "\n".join(lacking))


def _needs(test) -> list[str]:
    """The optional packages the example imports (``import torch``, ``from safetensors...``)."""
    return sorted({module for example in test.examples for module in
                   re.findall(r"^\s*(?:import [\w, ]*?|from )\b(torch|safetensors)\b",
                              example.source)})


@pytest.mark.parametrize("test", DOCTESTS, ids=[test.name for test in DOCTESTS])
def test_docstring_example_runs(test):
    for module in _needs(test):
        pytest.importorskip(module, reason=f"{test.name}'s example needs {module}")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_the_checker_finds_a_name_without_an_example():
    def undocumented():
        pass

    def documented():
        """One line.

        Examples
        --------
        >>> 1 + 1
        2
        """

    assert check_examples.problems("x.undocumented", undocumented) == ["summary", "example"]
    assert check_examples.problems("x.summary_only", lambda: None) == ["summary", "example"]
    assert check_examples.problems("x.documented", documented) == []
    assert len(check_examples.examples("x.documented", documented)[0].examples) == 1


def test_a_constant_counts_as_documented_only_by_the_string_under_its_assignment():
    from visiongrad.data import MNIST_CLASSES, catalog

    assert "MNIST_CLASSES" in check_examples.attribute_docstrings(catalog.__name__)
    assert check_examples.problems("visiongrad.data.MNIST_CLASSES", MNIST_CLASSES) == []
    # DATA_ENV has only a "#:" comment, which the site does not show
    assert "DATA_ENV" not in check_examples.attribute_docstrings(catalog.__name__)
    assert check_examples.problems("visiongrad.data.catalog.DATA_ENV", catalog.DATA_ENV) \
        == ["summary", "example"]


def test_examples_that_import_torch_are_recognised():
    test = doctest.DocTestParser().get_doctest(">>> import os, tempfile, torch\n", {}, "t",
                                               None, 0)
    assert _needs(test) == ["torch"]


def test_a_name_without_an_example_is_listed(monkeypatch):
    def undocumented():
        pass

    monkeypatch.setattr(check_examples, "public_objects", lambda: [("x.undocumented",
                                                                   undocumented)])
    assert check_examples.lacking() == ["x.undocumented: no summary and no example"]
