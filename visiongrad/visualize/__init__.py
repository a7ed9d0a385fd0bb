"""Seeing inside networks: attribution maps, activations, images made by gradient ascent,
texture synthesis and style transfer (the course's visualisation lecture and assignment).

Every method that differentiates with respect to the image runs the model frozen (eval
mode, no parameter gradients; :func:`frozen`). Layers are named as in
``dict(model.named_modules())`` and read through forward hooks (:func:`layer_outputs`).

Feature networks: the project's own classifiers (trained on Fashion-MNIST) for the
attribution and gradient-ascent methods; for photographs ``feature_network("vgg16",
weights=...)`` with the user's torchvision weights, or the default seeded random-weight
multi-scale network (no download), see :mod:`.style`.
"""

from ..imaging import embedding_grid
from .activations import feature_neighbours, layer_features, max_activating_patches
from .attribution import (
    GuidedReLU,
    guided_backprop,
    guided_relus,
    input_gradient,
    occlusion,
    saliency,
)
from .fast_style import TransformerNet, load_content_folder, stylize, train_fast_style
from .imageops import gaussian_blur, jitter, resize
from .layers import frozen, get_layer, layer_output, layer_outputs, recording
from .losses import Gram, content_loss, gram_matrix, style_loss, tv_loss
from .style import (
    FeatureNetwork,
    feature_network,
    random_network,
    style_transfer,
    style_transfer_loss,
    synthesize_texture,
)
from .synthesis import (
    brightness_allowance,
    class_visualization,
    deep_dream,
    fooling_image,
    invert_features,
    optimise_image,
)

__all__ = [
    "FeatureNetwork", "Gram", "GuidedReLU", "TransformerNet", "brightness_allowance",
    "class_visualization",
    "content_loss", "deep_dream", "embedding_grid", "feature_network", "feature_neighbours",
    "fooling_image", "frozen", "gaussian_blur", "get_layer", "gram_matrix", "guided_backprop",
    "guided_relus", "input_gradient", "invert_features", "jitter", "layer_features",
    "layer_output", "layer_outputs", "load_content_folder", "max_activating_patches",
    "occlusion", "optimise_image", "random_network", "recording", "resize", "saliency",
    "style_loss", "style_transfer", "style_transfer_loss", "stylize", "synthesize_texture",
    "train_fast_style", "tv_loss",
]
