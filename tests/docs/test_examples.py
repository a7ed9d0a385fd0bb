"""Every example in a public name's docstring runs and prints what it says.

The names still without an example are listed by ``python docs/tools/check_examples.py``.
"""

import doctest
import importlib.util
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


@pytest.mark.parametrize("test", DOCTESTS, ids=[test.name for test in DOCTESTS])
def test_docstring_example_runs(test):
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
    assert check_examples.problems("x.documented", documented) == []
    assert len(check_examples.examples("x.documented", documented)[0].examples) == 1
