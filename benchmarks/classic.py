"""visiongrad.classic side by side with scikit-learn, in one process.

    python -m benchmarks.classic [knn|linear|pca|tsne|tsne_10k|eigenfaces|all] [--repeats N]

Each part prints both libraries' figures and their ratio and writes
``benchmarks/results/classic_<part>.json``. Times are medians over ``--repeats`` runs
(the order of the two alternates), on whatever machine runs it. Fashion-MNIST comes from
``visiongrad.data.load_dataset`` with pixels scaled to [0, 1]; the eigenfaces part uses
scikit-image's ``lfw_subset``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from visiongrad.classic import (
    PCA,
    TSNE,
    Eigenfaces,
    KNearestNeighbor,
    LinearSVM,
    Softmax,
    normalize_contrast,
)

from .saving import add_write_option, save_json

RESULTS = Path(__file__).parent / "results"


def fashion_mnist(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(X (N, 784) float64 in [0, 1], y) from visiongrad's reader."""
    from visiongrad.data import load_dataset

    ds = load_dataset("fashion-mnist", split=split)
    return ds.images.reshape(len(ds.images), -1) / 255.0, np.asarray(ds.labels)


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median wall time of ``fn()`` over ``repeats`` calls, and its last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def side_by_side(ours, theirs, repeats: int) -> tuple[float, object, float, object]:
    """Median times of two callables, run alternately so drifting load hits both."""
    ours_times, theirs_times = [], []
    for i in range(repeats):
        pair = [(ours, ours_times), (theirs, theirs_times)]
        for fn, times in (pair if i % 2 == 0 else pair[::-1]):
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
            if fn is ours:
                ours_result = result
            else:
                theirs_result = result
    return (statistics.median(ours_times), ours_result,
            statistics.median(theirs_times), theirs_result)


#: Whether ``--write`` was given: the parts' rows go to benchmarks/results/ then.
WRITE = {"results": False}


def report(name: str, rows: dict) -> None:
    rows = {"machine": f"{platform.processor() or platform.machine()}, "
                       f"{os.cpu_count()} cores", **rows}
    save_json(RESULTS / f"classic_{name}.json" if WRITE["results"] else None, rows, indent=2,
              show=WRITE["results"])


def one_nn_accuracy(points: np.ndarray, labels: np.ndarray) -> float:
    """Leave-one-out 1-NN accuracy: each point takes the label of its nearest other point."""
    squares = (points**2).sum(1)
    distances = squares[:, None] + squares[None, :] - 2 * points @ points.T
    np.fill_diagonal(distances, np.inf)
    return float(np.mean(labels[distances.argmin(1)] == labels))


def bench_knn(repeats: int) -> None:
    from sklearn.neighbors import KNeighborsClassifier

    X, y = fashion_mnist("train")
    Xt, yt = fashion_mnist("test")
    ours = KNearestNeighbor(k=5, metric="l2").fit(X, y)
    theirs = KNeighborsClassifier(n_neighbors=5, algorithm="brute").fit(X, y)
    t_ours, p_ours, t_theirs, p_theirs = side_by_side(
        lambda: ours.predict(Xt), lambda: theirs.predict(Xt), repeats)
    rows = {
        "task": "kNN k=5 L2, predict 10,000 Fashion-MNIST test images from 60,000",
        "agreement": float(np.mean(p_ours == p_theirs)),
        "accuracy_visiongrad": float(np.mean(p_ours == yt)),
        "accuracy_sklearn": float(np.mean(p_theirs == yt)),
        "predict_seconds_visiongrad": t_ours, "predict_seconds_sklearn": t_theirs,
        "speedup_vs_sklearn": t_theirs / t_ours, "repeats": repeats,
    }
    for key, value in rows.items():
        print(f"  {key:28s} {value}")
    report("knn", rows)


def bench_linear(repeats: int) -> None:
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    X, y = fashion_mnist("train")
    Xt, yt = fashion_mnist("test")
    pairs = {
        "softmax": (lambda: Softmax(seed=0).fit(X, y),
                    lambda: LogisticRegression(max_iter=100).fit(X, y)),
        "svm": (lambda: LinearSVM(seed=0).fit(X, y),
                lambda: SGDClassifier(loss="hinge", random_state=0).fit(X, y)),
    }
    rows = {"task": "train on 60,000 Fashion-MNIST images, accuracy on the 10,000 test",
            "sklearn_references": {"softmax": "LogisticRegression(max_iter=100)",
                                   "svm": "SGDClassifier(loss='hinge')"}, "repeats": repeats}
    for name, (ours, theirs) in pairs.items():
        t_ours, m_ours, t_theirs, m_theirs = side_by_side(ours, theirs, repeats)
        rows[name] = {"accuracy_visiongrad": m_ours.score(Xt, yt),
                      "accuracy_sklearn": float(m_theirs.score(Xt, yt)),
                      "fit_seconds_visiongrad": t_ours, "fit_seconds_sklearn": t_theirs,
                      "speedup_vs_sklearn": t_theirs / t_ours}
        print(f"  {name}: {rows[name]}")
    report("linear", rows)


def bench_pca(repeats: int) -> None:
    from sklearn.decomposition import PCA as SklearnPCA

    X, _ = fashion_mnist("train")
    t_ours, ours, t_theirs, theirs = side_by_side(
        lambda: PCA(50).fit(X), lambda: SklearnPCA(50, svd_solver="full").fit(X), repeats)
    signs = np.sign(np.sum(ours.components_ * theirs.components_, axis=1))
    rows = {
        "task": "PCA to 50 components of the 60,000 x 784 Fashion-MNIST training images",
        "solver_visiongrad": "auto (covariance eigendecomposition here)",
        "solver_sklearn": "full",
        "explained_variance_max_relative_difference": float(np.max(
            np.abs(ours.explained_variance_ - theirs.explained_variance_)
            / theirs.explained_variance_)),
        "explained_variance_ratio_max_relative_difference": float(np.max(
            np.abs(ours.explained_variance_ratio_ - theirs.explained_variance_ratio_)
            / theirs.explained_variance_ratio_)),
        "components_max_abs_difference_up_to_sign": float(np.max(np.abs(
            ours.components_ - signs[:, None] * theirs.components_))),
        "fit_seconds_visiongrad": t_ours, "fit_seconds_sklearn": t_theirs,
        "speedup_vs_sklearn": t_theirs / t_ours, "repeats": repeats,
    }
    for key, value in rows.items():
        print(f"  {key:50s} {value}")
    report("pca", rows)


def bench_tsne(repeats: int) -> None:
    from sklearn.manifold import TSNE as SklearnTSNE

    X, y = fashion_mnist("train")
    X, y = X[:2000], y[:2000]
    features = PCA(50).fit_transform(X)
    t_ours, ours = timed(lambda: TSNE(seed=0).fit_transform(features), repeats)
    t_theirs, theirs = timed(
        lambda: SklearnTSNE(init="pca", random_state=0).fit_transform(features), repeats)
    rows = {
        "task": "t-SNE to 2-D of 2,000 Fashion-MNIST training images (PCA-50 features); "
                "leave-one-out 1-NN accuracy in the embedding",
        "one_nn_accuracy_visiongrad_exact": one_nn_accuracy(ours, y),
        "one_nn_accuracy_sklearn_barnes_hut": one_nn_accuracy(theirs, y),
        "one_nn_accuracy_pca50_input": one_nn_accuracy(features, y),
        "seconds_visiongrad": t_ours, "seconds_sklearn": t_theirs,
        "speedup_vs_sklearn": t_theirs / t_ours, "repeats": repeats,
    }
    for key, value in rows.items():
        print(f"  {key:40s} {value}")
    report("tsne", rows)


def bench_tsne_10k(repeats: int) -> None:
    """Barnes-Hut t-SNE of the 10,000 test images' PCA-50 codes against scikit-learn's, in
    this process, alternating; the load average says how contended the machine was."""
    from sklearn.manifold import TSNE as SklearnTSNE

    from visiongrad.classic.barnes_hut import nearest_neighbours
    from visiongrad.visualize import embedding_grid

    X, y = fashion_mnist("test")
    features = PCA(50).fit_transform(X)
    load_before = os.getloadavg()
    t_ours, ours, t_theirs, theirs = side_by_side(
        lambda: TSNE(seed=0).fit_transform(features),
        lambda: SklearnTSNE(init="pca", random_state=0).fit_transform(features), repeats)

    def one_nn(points):
        return float(np.mean(y[nearest_neighbours(points, 1)[1][:, 0]] == y))

    rows = {
        "task": "Barnes-Hut t-SNE to 2-D of the 10,000 Fashion-MNIST test images (PCA-50 "
                "codes), both with angle 0.5, perplexity 30, 1000 iterations; leave-one-out "
                "1-NN accuracy in the embedding",
        "one_nn_accuracy_visiongrad": one_nn(ours),
        "one_nn_accuracy_sklearn": one_nn(theirs),
        "one_nn_accuracy_pca50_input": one_nn(features),
        "seconds_visiongrad": t_ours, "seconds_sklearn": t_theirs,
        "speedup_vs_sklearn": t_theirs / t_ours, "repeats": repeats,
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
    }
    for key, value in rows.items():
        print(f"  {key:40s} {value}")
    report("tsne_10k", rows)
    from PIL import Image

    thumbnails = X.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4))  # 2x2 average: a small PNG
    grid = embedding_grid(ours, thumbnails, cells=40)
    Image.fromarray((grid * 255).round().astype(np.uint8)).save(
        Path(__file__).parent.parent / "docs" / "images" / "tsne_grid.png")


def bench_eigenfaces(repeats: int) -> None:
    from skimage.data import lfw_subset
    from sklearn.decomposition import PCA as SklearnPCA
    from sklearn.metrics import roc_auc_score

    images = normalize_contrast(lfw_subset())
    faces, non_faces = images[:100], images[100:]
    train, held_out = faces[:60], faces[60:]
    model = Eigenfaces(n_components=5).fit(train)
    scores = model.distance_from_face_space(np.concatenate([held_out, non_faces]))
    truth = np.r_[np.zeros(len(held_out)), np.ones(len(non_faces))]
    reference = SklearnPCA(5).fit(train.reshape(60, -1))
    tested = np.concatenate([held_out, non_faces]).reshape(140, -1)
    residual = tested - reference.inverse_transform(reference.transform(tested))
    raw = lfw_subset()[:100]
    restorer = Eigenfaces(n_components=20).fit(raw[:70])
    mask = np.ones((25, 25), bool)
    mask[6:14, 3:22] = False
    occluded = np.where(mask, raw[70:], 0.0)
    restored = restorer.reconstruct(occluded, mask=mask)
    rows = {
        "task": "lfw_subset (contrast-normalised): face space of 5 eigenfaces from 60 faces; "
                "40 held-out faces vs 100 non-faces; occlusion: 20 eigenfaces from 70 faces, "
                "eye bar on 30 held-out faces",
        "roc_auc_visiongrad": float(roc_auc_score(truth, scores)),
        "roc_auc_sklearn_pca": float(roc_auc_score(truth, np.linalg.norm(residual, axis=1))),
        "occluded_error_mean": float(np.linalg.norm(occluded - raw[70:], axis=(1, 2)).mean()),
        "reconstruction_error_mean": float(
            np.linalg.norm(restored - raw[70:], axis=(1, 2)).mean()),
    }
    for key, value in rows.items():
        print(f"  {key:28s} {value}")
    report("eigenfaces", rows)


PARTS = {"knn": bench_knn, "linear": bench_linear, "pca": bench_pca, "tsne": bench_tsne,
         "tsne_10k": bench_tsne_10k, "eigenfaces": bench_eigenfaces}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", nargs="?", default="all", choices=[*PARTS, "all"])
    parser.add_argument("--repeats", type=int, default=3)
    add_write_option(parser, "benchmarks/results/classic_<part>.json")
    args = parser.parse_args(argv)
    WRITE["results"] = args.write
    for name, bench in PARTS.items():
        if args.part in (name, "all"):
            print(f"== {name}")
            bench(args.repeats)


if __name__ == "__main__":
    main()
