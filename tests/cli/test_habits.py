"""Habits of the command line (issue 29): options that do what they say, ``--help``
defaults, messages and outputs a new user meets."""

from visiongrad.cli import main


def test_segment_predict_has_no_min_score(tmp_path, user_error):
    """A segmenter's label map has no scores: ``--min-score`` is refused, not ignored."""
    user_error(["segment", "predict", str(tmp_path / "c.safetensors"), str(tmp_path / "i.png"),
                "--out", str(tmp_path / "o.png"), "--min-score", "0.9"],
               "unrecognized arguments: --min-score")
