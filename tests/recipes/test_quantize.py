"""The quantization recipe's config refuses bad values by name when it is made."""

import pytest

from visiongrad.recipes.quantize import Config


@pytest.mark.parametrize("field, value, message", [
    ("calibration", 0, "calibration must be a positive number"),
    ("calibration", True, "calibration must be a positive number"),
    ("method", "entropy", "method must be one of minmax, percentile, mse"),
    ("percentile", 30.0, "percentile must be in"),
])
def test_config_refuses_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        Config(out="unused", **{field: value})
    assert Config(out="unused").method == "minmax"
