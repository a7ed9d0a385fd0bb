"""Every recipe has the package's shape (visiongrad/recipes/__init__.py): a dataclass
``Config`` whose bad values are one ValueError naming the field and the value, and
``run``; importing the package imports no recipe."""

import dataclasses
import importlib
import subprocess
import sys

import pytest

RECIPES = ("caption", "detect", "segment", "char_lm", "generate")

BAD_VALUES = [
    ("caption", "cell", "transformer"), ("caption", "epochs", 0), ("caption", "lr", -1.0),
    ("caption", "seed", -2), ("detect", "model", "detr"), ("detect", "batch_size", 0),
    ("segment", "model", "ssd"), ("char_lm", "hidden_size", 0), ("char_lm", "dropout", 1.0),
    ("char_lm", "cell", "lstmx"), ("generate", "model", "diffusion"),
    ("generate", "samples", 0), ("generate", "lr", 0.0),
]


@pytest.mark.parametrize("name", RECIPES)
def test_each_recipe_has_a_config_dataclass_and_run(name):
    recipe = importlib.import_module(f"visiongrad.recipes.{name}")
    assert dataclasses.is_dataclass(recipe.Config)
    assert callable(recipe.run)
    recipe.Config()  # the defaults are valid


@pytest.mark.parametrize("name, field, value", BAD_VALUES)
def test_a_bad_value_names_its_field_and_value(name, field, value):
    recipe = importlib.import_module(f"visiongrad.recipes.{name}")
    with pytest.raises(ValueError, match=f"{field}.*{value!r}"):
        recipe.Config(**{field: value})


def test_char_lm_takes_exactly_one_budget():
    from visiongrad.recipes.char_lm import Config

    with pytest.raises(ValueError, match="exactly one of steps and seconds"):
        Config(steps=10, seconds=60.0)
    assert Config(steps=10, seconds=None).steps == 10


def test_the_package_imports_no_recipe():
    code = ("import sys, visiongrad.recipes; "
            "print(sorted(m for m in sys.modules if m.startswith('visiongrad.recipes.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
