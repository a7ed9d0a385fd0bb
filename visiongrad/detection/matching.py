"""Matching predictions (anchors, proposals) to ground truth, and sampling a balanced
minibatch of positives and negatives (torchvision's ``Matcher`` and
``BalancedPositiveNegativeSampler``)."""

from __future__ import annotations

import numpy as np


class Matcher:
    """Assign each prediction its best ground-truth box, by a quality matrix (IoU).

    For quality (G, P) (ground truth x predictions): best[p] = argmax_g quality[g, p]
    (the first among ties); the match is best[p] if max_g quality >= ``high_threshold``,
    BETWEEN_THRESHOLDS (-2) if it lies in [low, high), BELOW_LOW_THRESHOLD (-1) below.
    With ``allow_low_quality_matches``, every prediction that reaches some ground-truth
    box's highest quality (ties included) keeps its best match whatever its value, so no
    ground-truth box is left without a prediction.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import detection
    >>> matcher = detection.Matcher(high_threshold=0.7, low_threshold=0.3)
    >>> matcher(np.array([[0.9, 0.5, 0.1], [0.2, 0.1, 0.8]]))   # IoU (ground truth, proposals)
    array([ 0, -2,  1])
    """

    BELOW_LOW_THRESHOLD = -1
    BETWEEN_THRESHOLDS = -2

    def __init__(self, high_threshold: float, low_threshold: float,
                 allow_low_quality_matches: bool = False):
        if low_threshold > high_threshold:
            raise ValueError(f"low_threshold ({low_threshold}) must not exceed high_threshold "
                             f"({high_threshold})")
        self.high_threshold, self.low_threshold = high_threshold, low_threshold
        self.allow_low_quality_matches = allow_low_quality_matches

    def __call__(self, match_quality_matrix) -> np.ndarray:
        """Matches (P,) int64: a ground-truth index, -1 or -2 (see the class)."""
        quality = np.asarray(getattr(match_quality_matrix, "data", match_quality_matrix))
        if quality.ndim != 2:
            raise ValueError(f"match_quality_matrix must be 2-D (G, P), got {quality.shape}")
        if quality.size == 0:
            which = "ground-truth" if quality.shape[0] == 0 else "proposal"
            raise ValueError(f"no {which} boxes to match (match_quality_matrix has shape "
                             f"{quality.shape})")
        best = np.argmax(quality, axis=0)
        best_quality = quality[best, np.arange(quality.shape[1])]
        matches = best.astype(np.int64)
        matches[best_quality < self.low_threshold] = self.BELOW_LOW_THRESHOLD
        between = (best_quality >= self.low_threshold) & (best_quality < self.high_threshold)
        matches[between] = self.BETWEEN_THRESHOLDS
        if self.allow_low_quality_matches:
            highest_per_gt = quality.max(axis=1)
            _, predictions = np.nonzero(quality == highest_per_gt[:, None])
            matches[predictions] = best[predictions]
        return matches


class BalancedPositiveNegativeSampler:
    """Pick at most ``batch_size_per_image`` examples per image, a ``positive_fraction`` of
    them positive (labels >= 1) where there are enough, the rest negative (labels == 0);
    label -1 is ignored. Random choices come from ``rng`` (a NumPy Generator).

    Examples
    --------
    >>> from visiongrad.detection import BalancedPositiveNegativeSampler
    >>> sampler = BalancedPositiveNegativeSampler(4, positive_fraction=0.5)
    >>> positive, negative = sampler(np.array([1, 0, 0, 0, 0, 2, -1]), np.random.default_rng(0))
    >>> positive.nonzero()[0], negative.nonzero()[0]
    (array([0, 5]), array([1, 3]))
    """

    def __init__(self, batch_size_per_image: int, positive_fraction: float):
        if batch_size_per_image < 1:
            raise ValueError(f"batch_size_per_image must be positive, got {batch_size_per_image}")
        if not 0 <= positive_fraction <= 1:
            raise ValueError(f"positive_fraction must be in [0, 1], got {positive_fraction}")
        self.batch_size_per_image, self.positive_fraction = batch_size_per_image, positive_fraction

    def __call__(self, labels, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(positive mask, negative mask) of one image's ``labels`` (N,)."""
        labels = np.asarray(labels)
        positive, negative = np.flatnonzero(labels >= 1), np.flatnonzero(labels == 0)
        num_pos = min(positive.size, int(self.batch_size_per_image * self.positive_fraction))
        num_neg = min(negative.size, self.batch_size_per_image - num_pos)
        pos_mask, neg_mask = np.zeros(labels.shape, bool), np.zeros(labels.shape, bool)
        pos_mask[rng.permutation(positive)[:num_pos]] = True
        neg_mask[rng.permutation(negative)[:num_neg]] = True
        return pos_mask, neg_mask
