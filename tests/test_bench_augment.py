"""The augmentation benchmark's reference: the network behind Keras' own random layers, as it was built before."""

import numpy as np
import pytest
from test_models import nn_params

from benchmarks.bench_augment import with_keras_layers
from mnist_pipeline.nn import build_model


@pytest.mark.heavy
def test_keras_layers_distort_only_in_training_and_leave_the_network_as_it_is():
    params = nn_params(augment={"zoom": 0.1})
    network = build_model(params)
    model = with_keras_layers(network, params)
    names = [type(layer).__name__ for layer in model.layers]
    assert {"RandomRotation", "RandomTranslation", "RandomZoom"} <= set(names)
    assert model.layers[-1] is network
    images = np.random.default_rng(0).integers(0, 256, (4, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(model(images, training=False), network(images, training=False), atol=1e-6)
    assert not np.allclose(model.layers[2](images[..., None], training=True), images[..., None])
