"""Model files hold no save date, object id or random name: the same model saves to the same bytes,
and the standard loaders still load it with their safety checks."""

import time

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mnist_pipeline.deskew import Deskew
from mnist_pipeline.keras_io import load_keras, save_keras
from mnist_pipeline.nn import with_test_time_augmentation
from mnist_pipeline.skops_io import load_skops, save_skops

# Models saved twice over, a Keras network among them: seconds, in `make test`, not in the inner loop.
pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (60, 28, 28), dtype=np.uint8), rng.integers(0, 10, 60)


# Five iterations, unconverged on purpose: the test is about the bytes of the saved model, not its fit.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_same_skops_model_saves_to_the_same_bytes_and_loads_with_trusted_types(tmp_path, images):
    x, y = images
    model = Pipeline([("deskew", Deskew()), ("scale", StandardScaler()),
                      ("classify", LogisticRegression(max_iter=5))]).fit(x.reshape(60, -1), y)
    save_skops(model, tmp_path / "a.skops")
    time.sleep(1.1)  # zip timestamps have a resolution of two seconds; skops' ids change on every save
    save_skops(model, tmp_path / "b.skops")
    assert (tmp_path / "a.skops").read_bytes() == (tmp_path / "b.skops").read_bytes()
    loaded = load_skops(tmp_path / "a.skops")  # raises unless every type is trusted
    assert np.array_equal(loaded.predict_proba(x.reshape(60, -1)), model.predict_proba(x.reshape(60, -1)))


def build_tta_model():
    """A small network wrapped for test-time augmentation, as train_nn saves it: one input shared by many layers,
    which Keras records with the ``id()`` of the shared tensor."""
    import keras

    keras.backend.clear_session()  # the same layer names each time
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(28, 28))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs)))
    return with_test_time_augmentation(model)


def test_the_same_keras_model_saves_to_the_same_bytes_and_loads_in_safe_mode(tmp_path, images):
    x, _ = images
    first = build_tta_model()
    save_keras(first, tmp_path / "a.keras")
    time.sleep(2.1)  # Keras stamps the save time to the second, zip entries to two seconds
    second = build_tta_model()  # the same model as another object, as in another process
    save_keras(second, tmp_path / "b.keras")
    assert (tmp_path / "a.keras").read_bytes() == (tmp_path / "b.keras").read_bytes()
    loaded = load_keras(tmp_path / "a.keras")
    assert np.array_equal(loaded.predict(x, verbose=0), first.predict(x, verbose=0))
