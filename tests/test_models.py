"""The two models on tiny synthetic digits: training, saving, loading and predicting."""

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from mnist_pipeline.digits import flatten
from mnist_pipeline.errors import ModelLoadError
from mnist_pipeline.keras_io import load_keras, save_keras
from mnist_pipeline.logreg import TrainLogregParams, build_logreg, train_logreg
from mnist_pipeline.model_io import load_model, predict_proba
from mnist_pipeline.nn import TrainNnParams
from mnist_pipeline.params import parse
from mnist_pipeline.skops_io import load_skops, save_skops

# Most tests here build, train or load a Keras network: seconds, in `make test`, not in the inner loop.
pytestmark = pytest.mark.heavy


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 28, 28) uint8 images whose class is a bright band at its own height, over noise; every class present."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        images[i, 2 + 2 * label:4 + 2 * label, 4:24] = 255
    return images, labels.astype(np.uint8)


def logreg_params(**overrides) -> TrainLogregParams:
    values = {"deskew": False, "features": "pixels", "pca": 20, "gamma": 0.03, "components": 300, "C": 0.1,
              "max_iter": 100, "tol": 1e-3, "solver": "lbfgs", "seed": 0, **overrides}
    return parse(TrainLogregParams, values, "train_logreg")


def nn_params(**overrides) -> TrainNnParams:
    """A tiny network's params; a mapping in ``overrides`` (``cnn={...}``) updates that section's defaults."""
    values = {
        "arch": "cnn", "compute": "portable", "warmup": 0.25, "label_smoothing": 0.1, "tta": False, "seed": 0,
        "towers": 1, "threads": 0,
        "augment": {"shift": 0.1, "rotation": 0.03, "zoom": 0.1},
        "cnn": {"epochs": 1, "batch_size": 50, "learning_rate": 0.01, "precision": "float32", "filters": [2],
                "batch_norm": False, "dense_units": 4, "dropout": 0.1},
        "mlp": {"epochs": 1, "batch_size": 50, "learning_rate": 0.01, "precision": "float32", "hidden_units": [8],
                "dropout": 0.1},
    }
    for key, value in overrides.items():
        values[key] = {**values[key], **value} if isinstance(value, dict) else value
    return parse(TrainNnParams, values, "train_nn")


@pytest.fixture(scope="module")
def digits():
    return synthetic_digits(300, seed=0)


@pytest.fixture(scope="module")
def test_digits():
    return synthetic_digits(40, seed=1)


# --- logistic regression --------------------------------------------------------------------------------------------

def test_train_logreg_learns_separable_digits(digits, test_digits):
    x, y = digits
    model = train_logreg(flatten(x), y, logreg_params())
    assert [name for name, _ in model.steps] == ["scale", "classify"]
    assert model.score(flatten(test_digits[0]), test_digits[1]) > 0.9


def test_build_logreg_passes_the_params_on():
    model = build_logreg(logreg_params(deskew=True, C=0.5, max_iter=7, solver="saga", seed=3))
    assert [name for name, _ in model.steps] == ["deskew", "scale", "classify"]
    classifier = model[-1]
    assert (classifier.C, classifier.max_iter, classifier.solver, classifier.random_state) == (0.5, 7, "saga", 3)


def test_build_logreg_with_rbf_features_passes_the_kernel_params_on():
    model = build_logreg(logreg_params(deskew=True, features="rbf", pca=12, gamma=0.05, components=99, seed=3))
    assert [name for name, _ in model.steps] == ["deskew", "reduce", "features", "classify"]
    assert (model["reduce"].n_components, model["reduce"].svd_solver) == (12, "covariance_eigh")
    # gamma is for pixels scaled to 0-1; the steps see 0-255.
    assert model["features"].gamma == pytest.approx(0.05 / 255**2)
    assert (model["features"].n_components, model["features"].random_state) == (99, 3)


def test_rbf_features_approximate_the_kernel_the_params_name():
    """The features' dot products are exp(-gamma |x - y|^2) of the principal components, pixels scaled to 0-1: a
    wrong scale or width would leave the model's kernel far from the one params.yaml describes."""
    from sklearn.metrics.pairwise import rbf_kernel

    x, _ = synthetic_digits(60, seed=4)
    model = build_logreg(logreg_params(features="rbf", pca=20, gamma=0.03, components=20_000))
    pixels = flatten(x).astype(np.float32)
    reduced = model["reduce"].fit_transform(pixels)
    features = model["features"].fit_transform(reduced)
    exact = rbf_kernel(reduced / 255, gamma=0.03)
    np.testing.assert_allclose(features @ features.T, exact, atol=0.03)
    assert exact.min() < 0.5  # a test of the width, not of kernels near 1 everywhere


def test_more_principal_components_than_training_digits_are_refused_naming_the_params(digits):
    from mnist_pipeline.params import ParamsError

    x, y = digits
    with pytest.raises(ParamsError, match=r"train_logreg.pca = 50 .* the 40 training digits .*train_limit"):
        train_logreg(flatten(x[:40]), y[:40], logreg_params(features="rbf", pca=50))


def test_train_logreg_with_rbf_features_learns_and_saves_as_a_trusted_model(tmp_path, digits, test_digits):
    x, y = digits
    model = train_logreg(flatten(x), y, logreg_params(deskew=True, features="rbf", C=10.0))
    assert model.score(flatten(test_digits[0]), test_digits[1]) > 0.9
    save_skops(model, tmp_path / "logreg.skops")
    np.testing.assert_array_equal(load_skops(tmp_path / "logreg.skops").predict_proba(flatten(test_digits[0])),
                                  model.predict_proba(flatten(test_digits[0])))


def test_train_logreg_logs_a_solver_that_did_not_converge(digits, caplog):
    x, y = digits
    with caplog.at_level(logging.WARNING, logger="mnist_pipeline.logreg"):
        train_logreg(flatten(x), y, logreg_params(max_iter=1))
    assert "raise train_logreg.max_iter" in caplog.text


@pytest.mark.parametrize("deskew", [False, True])
def test_logreg_save_load_round_trip(tmp_path, digits, test_digits, deskew):
    x, y = digits
    model = train_logreg(flatten(x), y, logreg_params(deskew=deskew, max_iter=30))
    path = tmp_path / "models" / "logreg.skops"
    save_skops(model, path)
    loaded = load_skops(path)
    np.testing.assert_array_equal(loaded.predict_proba(flatten(test_digits[0])),
                                  model.predict_proba(flatten(test_digits[0])))
    probabilities = predict_proba(loaded, test_digits[0])  # takes (n, 28, 28) images
    assert probabilities.shape == (40, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)  # float32 after deskewing
    assert [p.name for p in path.parent.iterdir()] == ["logreg.skops"]


def test_load_skops_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match=r"logreg.skops not found.*dvc repro.*dvc pull"):
        load_skops(tmp_path / "logreg.skops")


@pytest.mark.parametrize("content", [b"", b"garbage bytes, not a zip", b"PK\x03\x04 truncated zip"])
def test_load_skops_garbage(tmp_path, content):
    path = tmp_path / "logreg.skops"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError, match="not a valid skops model"):
        load_skops(path)


def test_load_skops_refuses_untrusted_types(tmp_path):
    import skops.io
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    path = tmp_path / "logreg.skops"
    skops.io.dump(Pipeline([("run", FunctionTransformer(func=os.system))]), path)
    with pytest.raises(ModelLoadError, match=r"not trusted: \[.*system'\]; refusing"):
        load_skops(path)


# --- the Keras network ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["cnn", "mlp"])
def test_build_model_maps_images_to_probabilities(arch, test_digits):
    from mnist_pipeline.nn import build_model

    model = build_model(nn_params(arch=arch))
    assert model.name == f"mnist_{arch}"
    assert model.input_shape == (None, 28, 28) and model.output_shape == (None, 10)
    output = model.predict(test_digits[0][:5], verbose=0)
    assert output.shape == (5, 10)
    np.testing.assert_allclose(output.sum(axis=1), 1, rtol=1e-5)
    assert np.all(output >= 0)


def test_build_model_holds_no_random_layers_and_a_dense_layer_only_if_asked():
    from mnist_pipeline.nn import build_model

    params = nn_params(cnn={"filters": [2, 3], "batch_norm": True, "dense_units": 0, "dropout": 0.0})
    names = [type(layer).__name__ for layer in build_model(params).layers]
    assert not [name for name in names if name.startswith("Random")]  # the input pipeline distorts, not the model
    assert names.count("Conv2D") == 2 and names.count("BatchNormalization") == 2
    assert names.count("Dense") == 1  # only the output layer


@pytest.mark.parametrize("shape", [(7, 7), (8, 8), (7, 8), (5, 6)])
def test_pooled_convolution_computes_what_the_pooling_reads_of_a_same_convolution(shape):
    import keras

    from mnist_pipeline.nn import pooled_convolution

    inputs = keras.Input(shape=(*shape, 3))
    pooled = keras.Model(inputs, keras.layers.MaxPooling2D()(pooled_convolution(inputs, 4)))
    same = keras.Sequential([keras.Input(shape=(*shape, 3)), keras.layers.Conv2D(4, 3, padding="same"),
                             keras.layers.MaxPooling2D()])
    same.set_weights(pooled.get_weights())
    images = np.random.default_rng(0).normal(size=(2, *shape, 3)).astype(np.float32)
    np.testing.assert_allclose(pooled.predict(images, verbose=0), same.predict(images, verbose=0), rtol=1e-5,
                               atol=1e-6)
    # An odd side is convolved without the row or column the pooling drops.
    convolution = next(layer for layer in pooled.layers if isinstance(layer, keras.layers.Conv2D))
    assert convolution.output.shape[1:3] == tuple(side - side % 2 for side in shape)


def epoch_recorder():
    """A Keras callback (standing in for dvclive's) that keeps each epoch's logs in ``.epochs``."""
    import keras

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs: list[dict] = []

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(dict(logs or {}))

    return Recorder()


def epochs_of_batches(dataset, epochs):
    """Each epoch's batches of ``dataset`` as (images, labels) arrays, the labels back from one-hot."""
    out = []
    for _ in range(epochs):
        images, one_hot = zip(*[(x.numpy(), y.numpy()) for x, y in dataset], strict=True)
        out.append((images, [y.argmax(1) for y in one_hot]))
    return out


def test_batches_cover_every_digit_once_an_epoch_reshuffled_each_epoch_and_the_same_on_a_rerun(digits):
    from mnist_pipeline.nn import batches

    x, y = digits
    first, second = epochs_of_batches(batches(x, y, 64, shuffle_seed=3), epochs=2)
    assert [len(b) for b in first[0]] == [64, 64, 64, 64, 44]
    for images, labels in (first, second):
        seen = np.concatenate(images)
        # Every digit once, with its own label: rows of the epoch are a permutation of the rows of x.
        order = np.argsort([row.tobytes() for row in seen.reshape(len(seen), -1)])
        expected = np.argsort([row.tobytes() for row in x.reshape(len(x), -1)])
        assert np.array_equal(seen[order], x[expected])
        assert np.array_equal(np.concatenate(labels)[order], y[expected])
    assert not np.array_equal(np.concatenate(first[0]), np.concatenate(second[0]))  # reshuffled
    again = epochs_of_batches(batches(x, y, 64, shuffle_seed=3), epochs=2)
    for rerun, run in zip(again, [first, second], strict=True):
        assert np.array_equal(np.concatenate(rerun[0]), np.concatenate(run[0]))
    # Without a seed: the digits in their order, as validation takes them.
    (images, labels), = epochs_of_batches(batches(x, y, 64), epochs=1)
    assert np.array_equal(np.concatenate(images), x) and np.array_equal(np.concatenate(labels), y)


@pytest.fixture(scope="module")
def trained_cnn(digits):
    from mnist_pipeline.nn import train_nn

    x, y = digits
    recorder = epoch_recorder()
    model = train_nn(x[:250], y[:250], x[250:], y[250:], nn_params(), callbacks=[recorder])
    return model, recorder.epochs


def test_train_nn_one_epoch_reports_loss_and_accuracy_on_both_sets(trained_cnn):
    model, epochs = trained_cnn
    assert model.name == "mnist_cnn"  # tta is off: the plain network
    assert len(epochs) == 1
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(epochs[0])
    assert np.isfinite(epochs[0]["loss"]) and 0 <= epochs[0]["val_accuracy"] <= 1


def test_keras_save_load_round_trip(tmp_path, trained_cnn, test_digits):
    model, _ = trained_cnn
    path = tmp_path / "models" / "nn.keras"
    save_keras(model, path)
    assert [p.name for p in path.parent.iterdir()] == ["nn.keras"]
    loaded = load_keras(path)
    np.testing.assert_allclose(loaded.predict(test_digits[0], verbose=0), model.predict(test_digits[0], verbose=0),
                               rtol=0, atol=1e-6)


def test_predict_proba_of_the_network(trained_cnn, test_digits):
    model, _ = trained_cnn
    probabilities = predict_proba(model, test_digits[0])
    assert probabilities.shape == (40, 10) and probabilities.dtype == np.float64
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=0, atol=1e-12)
    np.testing.assert_allclose(probabilities, model.predict(test_digits[0], verbose=0), atol=1e-6)


def shift(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Images moved by one pixel, zeros coming in at the edge."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    return padded[:, 1 - dy:29 - dy, 1 - dx:29 - dx]


def test_test_time_augmentation_averages_the_image_and_its_four_shifts(tmp_path, trained_cnn, test_digits):
    from mnist_pipeline.nn import with_test_time_augmentation

    model, _ = trained_cnn
    images = test_digits[0][:8]
    tta = with_test_time_augmentation(model)
    assert tta.name == "mnist_cnn_tta"
    views = [images] + [shift(images, dy, dx) for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    expected = np.mean([model.predict(view, verbose=0) for view in views], axis=0)
    np.testing.assert_allclose(tta.predict(images, verbose=0), expected, atol=1e-6)
    # The wrapped model is what the stage saves: it must load back in safe mode.
    save_keras(tta, tmp_path / "nn.keras")
    np.testing.assert_allclose(load_keras(tmp_path / "nn.keras").predict(images, verbose=0), expected, atol=1e-6)


def test_train_nn_mlp_with_tta(digits, tmp_path):
    from mnist_pipeline.nn import train_nn

    x, y = digits
    model = train_nn(x[:200], y[:200], x[200:250], y[200:250], nn_params(arch="mlp", tta=True, warmup=0.0))
    assert model.name == "mnist_mlp_tta"
    probabilities = predict_proba(model, x[250:260])
    assert probabilities.shape == (10, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-12)


def train_in_bfloat16(x: np.ndarray, y: np.ndarray, folder) -> dict:
    """A mixed_bfloat16 network trained, saved and loaded in this process: what the test checks of it.

    Run in a process of its own, whose oneDNN has computed nothing yet: oneDNN reads its instruction cap once, at its
    first kernel, and a test before this one in the same process may have run one under the portable profile's
    AVX2 cap, which has no bfloat16 kernels."""
    from mnist_pipeline.nn import train_nn
    from mnist_pipeline.tensorflow_env import configure_environment

    configure_environment("fast")
    params = nn_params(tta=True, compute="fast", cnn={"precision": "mixed_bfloat16"})
    model = train_nn(x[:200], y[:200], x[200:250], y[200:250], params)
    network = model.get_layer("mnist_cnn_tta").get_layer("mnist_cnn")
    save_keras(model, folder / "nn.keras")
    loaded = load_keras(folder / "nn.keras")
    return {
        "dtypes": {type(layer).__name__: (layer.compute_dtype, layer.variable_dtype) for layer in network.layers},
        "scores_dtype": network.get_layer("scores").compute_dtype,
        "probabilities_dtype": model.get_layer("probabilities").compute_dtype,
        "weight_dtypes": {weight.dtype for weight in network.weights},
        "probabilities": model.predict(x[250:260], verbose=0),
        "loaded_dtype": next(layer for layer in loaded.get_layer("mnist_cnn_tta").get_layer("mnist_cnn").layers
                             if type(layer).__name__ == "Conv2D").compute_dtype,
        "loaded_probabilities": loaded.predict(x[250:260], verbose=0),
    }


def test_mixed_bfloat16_computes_in_bfloat16_and_keeps_weights_and_probabilities_in_float32(digits, tmp_path):
    x, y = digits
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as process:
        trained = process.submit(train_in_bfloat16, x, y, tmp_path).result()
    assert trained["dtypes"]["Conv2D"] == ("bfloat16", "float32")
    assert trained["dtypes"]["Rescaling"] == ("float32", "float32")
    assert trained["scores_dtype"] == trained["probabilities_dtype"] == "float32"
    assert trained["weight_dtypes"] == {"float32"}
    probabilities = trained["probabilities"]
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=0, atol=1e-6)
    # The policy is part of the saved model: it loads in safe mode and predicts the same numbers.
    assert trained["loaded_dtype"] == "bfloat16"
    np.testing.assert_array_equal(trained["loaded_probabilities"], probabilities)


@pytest.mark.parametrize(("faster", "dtype"), [(True, "bfloat16"), (False, "float32")])
def test_auto_precision_builds_bfloat16_layers_only_where_bfloat16_is_faster(monkeypatch, faster, dtype):
    # Under the fast profile; the portable one builds float32 layers everywhere (test_cpu.py).
    from mnist_pipeline import nn

    monkeypatch.setattr(nn, "bfloat16_is_faster", lambda: faster)
    model = nn.build_model(nn_params(compute="fast", cnn={"precision": "auto"}))
    convolution = next(layer for layer in model.layers if type(layer).__name__ == "Conv2D")
    assert convolution.compute_dtype == dtype
    assert model.get_layer("probabilities").compute_dtype == "float32"


def test_load_keras_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match=r"nn.keras not found.*dvc repro.*dvc pull"):
        load_keras(tmp_path / "nn.keras")


@pytest.mark.parametrize("content", [b"garbage", b"PK\x03\x04 truncated zip"])
def test_load_keras_garbage(tmp_path, content):
    path = tmp_path / "nn.keras"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError, match="not a loadable Keras model"):
        load_keras(path)


def test_load_keras_refuses_a_lambda_layer(tmp_path):
    import keras

    inputs = keras.Input(shape=(28, 28))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs))
    model.save(tmp_path / "nn.keras")
    with pytest.raises(ModelLoadError, match=r"not a loadable Keras model.*(safe_mode|Lambda)"):
        load_keras(tmp_path / "nn.keras")


def test_an_unregistered_model_name_is_refused_everywhere(tmp_path):
    from mnist_pipeline import paths
    from mnist_pipeline.app import predict

    with pytest.raises(ModelLoadError, match=r"unknown model 'forest'.*\['logreg', 'nn'\]"):
        paths.model_file("forest")
    with pytest.raises(ModelLoadError, match="unknown model 'forest'"):
        predict.load_models(models_dir=tmp_path, names=["logreg", "forest"])
    with pytest.raises(SystemExit) as exit_info:
        predict.build_parser().parse_args(["--model", "forest", "digit.png"])
    assert exit_info.value.code == 2


def test_a_model_file_of_an_unknown_format_is_refused(tmp_path):
    path = tmp_path / "forest.pkl"
    path.write_bytes(b"\x80\x04K\x01.")  # a pickle: never loaded
    with pytest.raises(ModelLoadError, match=r"forest.pkl: unknown model format '.pkl'"):
        load_model(path)


# --- calibration ----------------------------------------------------------------------------------------------------

def test_a_calibrated_logistic_regression_predicts_the_same_digits_at_its_temperature(tmp_path, digits, test_digits):
    from scipy.special import softmax

    from mnist_pipeline.logreg import calibrate_logreg

    x, y = digits
    model = train_logreg(flatten(x[:250]), y[:250], logreg_params())
    before = model.predict_proba(flatten(test_digits[0]))
    calibrated, temperature = calibrate_logreg(model, flatten(x[250:]), y[250:])
    assert temperature != 1.0  # these easy digits make the regression underconfident
    np.testing.assert_array_equal(model.predict_proba(flatten(test_digits[0])), before)  # a copy, not changed
    scores = model.decision_function(flatten(test_digits[0]))
    np.testing.assert_allclose(calibrated.predict_proba(flatten(test_digits[0])), softmax(scores / temperature, axis=1),
                               rtol=1e-12)
    np.testing.assert_array_equal(calibrated.predict(flatten(test_digits[0])), model.predict(flatten(test_digits[0])))
    save_skops(calibrated, tmp_path / "logreg.skops")
    np.testing.assert_array_equal(load_skops(tmp_path / "logreg.skops").predict_proba(flatten(test_digits[0])),
                                  calibrated.predict_proba(flatten(test_digits[0])))


@pytest.mark.parametrize("tta", [False, True])
def test_a_calibrated_network_is_its_mean_scores_over_the_temperature(tmp_path, digits, test_digits, tta):
    from scipy.special import softmax

    from mnist_pipeline.nn import build_model, calibrate_nn, scores_model

    model = build_model(nn_params())  # as train_nn leaves it before calibrating (its weights do not matter here)
    x, y = digits
    calibrated, temperature = calibrate_nn(model, x[250:], y[250:], tta=tta)
    assert calibrated.name == ("mnist_cnn_tta" if tta else "mnist_cnn")
    assert calibrated.get_layer("temperature").scale == pytest.approx(1 / temperature)
    images = test_digits[0][:8]
    views = [images] + ([shift(images, dy, dx) for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1))] if tta else [])
    network = scores_model(model)
    # The scores are the trained network's: its own softmax of them is what it predicted before calibration.
    np.testing.assert_allclose(softmax(network.predict(images, verbose=0), axis=1), model.predict(images, verbose=0),
                               atol=1e-6)
    scores = np.mean([network.predict(view, verbose=0) for view in views], axis=0)
    expected = softmax(scores / temperature, axis=1)
    np.testing.assert_allclose(calibrated.predict(images, verbose=0), expected, atol=1e-6)
    save_keras(calibrated, tmp_path / "nn.keras")  # what the stage saves: it loads back in safe mode
    np.testing.assert_allclose(load_keras(tmp_path / "nn.keras").predict(images, verbose=0), expected, atol=1e-6)
