"""Training in towers: the parts' gradients add up to the whole batch's, the pipeline never hands a tower an empty
part, and a training in towers is deterministic and saves the plain network."""

import dataclasses

import numpy as np
import pytest
from test_models import nn_params, synthetic_digits

from mnist_pipeline.keras_io import load_keras, save_keras
from mnist_pipeline.nn import batches, build_model, thread_pools, train_nn
from mnist_pipeline.tensorflow_env import import_keras

# Every test here builds or trains a Keras network: seconds each, in `make test`, not in the inner loop.
pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def keras():
    """Keras, loaded by the tests that use it, not at collection."""
    return import_keras()


def in_towers(network, towers: int):
    """``network`` in ``towers`` (mnist_pipeline.towers subclasses Keras' model: loaded here, not at collection)."""
    from mnist_pipeline.towers import Towers

    return Towers(network, towers)


def one_step(towers: int, images: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    """The weights of a tiny CNN without dropout after one SGD step on ``images``, in ``towers`` (0: unwrapped)."""
    keras = import_keras()
    keras.utils.set_random_seed(0)
    network = build_model(nn_params(cnn={"filters": [3, 4], "dropout": 0.0}))
    trained = in_towers(network, towers) if towers else network
    trained.compile(optimizer=keras.optimizers.SGD(0.5), loss="categorical_crossentropy", metrics=["accuracy"])
    trained.fit(images, keras.utils.to_categorical(labels, 10), batch_size=len(labels), epochs=1, verbose=0)
    return network.get_weights()


@pytest.mark.parametrize("n, towers", [(8, 2), (7, 2), (7, 3), (5, 4)])
def test_the_parts_gradients_add_up_to_the_whole_batchs(n, towers, keras):
    images, labels = synthetic_digits(n, seed=1)
    whole, parts = one_step(0, images, labels), one_step(towers, images, labels)
    keras.utils.set_random_seed(0)
    before = build_model(nn_params(cnn={"filters": [3, 4], "dropout": 0.0})).get_weights()
    assert not all(np.allclose(a, b) for a, b in zip(whole, before, strict=True))  # the step moved the weights
    for a, b in zip(whole, parts, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_the_logged_loss_and_accuracy_are_the_whole_batchs(keras):
    images, labels = synthetic_digits(9, seed=2)
    logs = []
    for towers in (0, 3):
        keras.utils.set_random_seed(0)
        network = build_model(nn_params(cnn={"filters": [3], "dropout": 0.0}))
        trained = in_towers(network, towers) if towers else network
        trained.compile(optimizer=keras.optimizers.SGD(0.0), loss="categorical_crossentropy", metrics=["accuracy"])
        history = trained.fit(images, keras.utils.to_categorical(labels, 10), batch_size=9, verbose=0)
        logs.append({name: values[0] for name, values in history.history.items()})
    assert logs[0].keys() == logs[1].keys() == {"loss", "accuracy"}
    for name in logs[0]:
        assert logs[1][name] == pytest.approx(logs[0][name], rel=1e-5)


def test_towers_predict_as_the_network_does():
    images, _ = synthetic_digits(6, seed=3)
    network = build_model(nn_params())
    np.testing.assert_array_equal(in_towers(network, 2).predict(images, verbose=0), network.predict(images, verbose=0))


def test_an_epochs_last_batch_smaller_than_the_towers_is_left_out():
    images, labels = synthetic_digits(101, seed=4)

    def sizes(**options):
        return [len(y) for _, y in batches(images, labels, 50, shuffle_seed=0, **options)]

    assert sizes() == [50, 50, 1]
    assert sizes(min_size=2) == [50, 50]
    assert int(batches(images, labels, 50, shuffle_seed=0, min_size=2).cardinality()) == 2
    assert int(batches(images, labels, 50, shuffle_seed=0, min_size=1).cardinality()) == 3
    assert [len(y) for _, y in batches(images[:100], labels[:100], 50, shuffle_seed=0, min_size=2)] == [50, 50]


def test_a_training_in_towers_is_deterministic_and_saves_the_plain_network(tmp_path, keras):
    x, y = synthetic_digits(251, seed=5)  # batches of 50: the last holds one digit, for two towers
    params = dataclasses.replace(nn_params(), towers=2)
    weights = []
    for run in range(2):
        keras.backend.clear_session()  # Keras numbers the layers of each model a process builds
        model = train_nn(x[:201], y[:201], x[201:], y[201:], params)
        save_keras(model, tmp_path / f"{run}.keras")
        weights.append(load_keras(tmp_path / f"{run}.keras").get_weights())
    assert model.name == "mnist_cnn"
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (tmp_path / "0.keras").read_bytes() == (tmp_path / "1.keras").read_bytes()


@pytest.mark.parametrize("threads, towers, cores, pools", [
    (0, 1, 2, (2, 1)), (0, 2, 2, (1, 2)), (0, 2, 8, (4, 2)), (0, 4, 2, (1, 4)), (3, 2, 2, (3, 2)),
])
def test_the_fast_profile_shares_the_cores_among_the_towers(threads, towers, cores, pools):
    assert thread_pools(threads, towers, cores, "fast") == pools


@pytest.mark.parametrize("cores", [1, 2, 16, 128])
def test_the_portable_profile_runs_one_thread_an_op_on_any_number_of_cores_unless_told(cores):
    # The tiny network trained with 2 intra-op threads a tower wrote other bytes than with 1: the count is an
    # input, so only params.yaml may set it.
    assert thread_pools(0, 2, cores, "portable") == (1, 2)
    assert thread_pools(4, 2, cores, "portable") == (4, 2)
