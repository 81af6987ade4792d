"""params.yaml: the committed file is valid, and every kind of bad value is refused with a message naming it."""

import copy
import dataclasses

import pytest
import yaml
from helpers import REPO_ROOT

from mnist_pipeline.nn import TrainNnParams
from mnist_pipeline.params import ParamsError, load_section, parse
from mnist_pipeline.sections import SECTIONS
from mnist_pipeline.sources import FetchParams

PARAMS_FILE = REPO_ROOT / "params.yaml"
COMMITTED = yaml.safe_load(PARAMS_FILE.read_text())


@pytest.fixture
def write_params(tmp_path):
    """Write the committed params with ``edit`` applied to a deep copy; return the new file's path."""

    def write(edit) -> object:
        document = copy.deepcopy(COMMITTED)
        edit(document)
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    return write


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_committed_params_load_for_every_section(section):
    params = load_section(PARAMS_FILE, section, SECTIONS[section])
    assert isinstance(params, SECTIONS[section])
    assert dataclasses.asdict(params) == COMMITTED[section]


def test_params_file_has_exactly_the_known_sections():
    assert set(COMMITTED) == set(SECTIONS)


def test_loaded_values_have_the_declared_types():
    fetch = load_section(PARAMS_FILE, "fetch", SECTIONS["fetch"])
    assert isinstance(fetch.timeout, float)  # an int in YAML becomes the float the field declares
    nn = load_section(PARAMS_FILE, "train_nn", SECTIONS["train_nn"])
    assert isinstance(nn, TrainNnParams)
    assert nn.training == (nn.cnn if nn.arch == "cnn" else nn.mlp)
    assert isinstance(nn.training.learning_rate, float)
    assert all(isinstance(f, int) for f in nn.cnn.filters)


def test_training_follows_the_chosen_architecture(write_params):
    def to_mlp(doc):
        doc["train_nn"]["arch"] = "mlp"
        doc["train_nn"]["compute"] = "fast"
        doc["train_nn"]["cnn"].update(epochs=3, batch_size=64, learning_rate=0.001, precision="mixed_bfloat16")
        doc["train_nn"]["mlp"].update(epochs=5, batch_size=256, learning_rate=0.003, precision="float32")

    training = load_section(write_params(to_mlp), "train_nn", SECTIONS["train_nn"]).training
    assert (training.epochs, training.batch_size, training.learning_rate, training.precision) == (
        5, 256, 0.003, "float32")


def set_key(section, *path, value):
    def edit(doc):
        target = doc[section]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def delete_key(section, *path):
    def edit(doc):
        target = doc[section]
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


@pytest.mark.parametrize(("section", "edit", "expected"), [
    # unknown keys
    ("preprocess", set_key("preprocess", "val_sise", value=10), ["preprocess", "unknown", "val_sise"]),
    ("train_nn", set_key("train_nn", "cnn", "kernel", value=5), ["train_nn.cnn", "unknown", "kernel"]),
    # missing keys
    ("train_logreg", delete_key("train_logreg", "C"), ["train_logreg", "missing", "'C'"]),
    ("train_nn", delete_key("train_nn", "augment", "shift"), ["train_nn.augment", "missing", "shift"]),
    # wrong types
    ("preprocess", set_key("preprocess", "val_size", value="5000"), ["preprocess.val_size", "'5000'", "int"]),
    ("preprocess", set_key("preprocess", "train_limit", value=True), ["preprocess.train_limit", "True", "int"]),
    ("train_nn", set_key("train_nn", "cnn", "batch_size", value=12.5), ["train_nn.cnn.batch_size", "12.5", "int"]),
    ("train_nn", set_key("train_nn", "mlp", "learning_rate", value=False),
     ["train_nn.mlp.learning_rate", "False", "float"]),
    ("train_nn", set_key("train_nn", "cnn", "precision", value="float16"),
     ["train_nn.cnn.precision", "'float16'", "float32", "mixed_bfloat16"]),
    ("train_logreg", set_key("train_logreg", "deskew", value="yes please"), ["train_logreg.deskew", "'yes please'",
                                                                               "bool"]),
    ("train_logreg", set_key("train_logreg", "deskew", value=1), ["train_logreg.deskew", "1", "bool"]),
    ("fetch", set_key("fetch", "mirrors", value="https://example.com/"), ["fetch.mirrors", "non-empty list"]),
    ("fetch", set_key("fetch", "mirrors", value=[]), ["fetch.mirrors", "[]", "non-empty list"]),
    ("fetch", set_key("fetch", "mirrors", value=["https://a/", 3]), ["fetch.mirrors[1]", "3", "str"]),
    ("train_nn", set_key("train_nn", "cnn", "filters", value=[8, True]), ["train_nn.cnn.filters[1]", "True"]),
    ("train_nn", set_key("train_nn", "cnn", value=[1, 2]), ["train_nn.cnn", "mapping", "[1, 2]"]),
    # out of range
    ("preprocess", set_key("preprocess", "val_size", value=0), ["preprocess.val_size", "0", "out of range"]),
    ("preprocess", set_key("preprocess", "val_size", value=9),
     ["preprocess.val_size = 9", "10 <= preprocess.val_size"]),
    ("preprocess", set_key("preprocess", "val_size", value=30_001), ["preprocess.val_size", "30001", "<= 30000"]),
    ("fetch", set_key("fetch", "timeout", value=0), ["fetch.timeout", "0.0", "0 < fetch.timeout"]),
    ("fetch", set_key("fetch", "retries", value=0), ["fetch.retries", "0", "1 <= fetch.retries <= 10"]),
    ("train_logreg", set_key("train_logreg", "C", value=-1.0), ["train_logreg.C", "-1.0", "out of range"]),
    ("train_nn", set_key("train_nn", "cnn", "dropout", value=0.99), ["train_nn.cnn.dropout", "0.99", "<= 0.95"]),
    ("train_nn", set_key("train_nn", "augment", "rotation", value=-0.1), ["train_nn.augment.rotation", "-0.1"]),
    ("visualize", set_key("visualize", "dpi", value=10), ["visualize.dpi", "10", "50 <= visualize.dpi"]),
    # bad choices
    ("train_nn", set_key("train_nn", "arch", value="rnn"), ["train_nn.arch", "'rnn'", "'cnn'", "'mlp'"]),
    ("train_nn", set_key("train_nn", "compute", value="native"), ["train_nn.compute", "'native'", "'portable'",
                                                                  "'fast'"]),
    # bfloat16 has no kernels among oneDNN's AVX2 ones
    ("train_nn", set_key("train_nn", "mlp", "precision", value="mixed_bfloat16"),
     ["train_nn.mlp.precision", "'mixed_bfloat16'", "train_nn.compute: fast"]),
    ("train_logreg", set_key("train_logreg", "solver", value="liblinear"), ["train_logreg.solver", "'liblinear'",
                                                                             "lbfgs"]),
    ("train_logreg", set_key("train_logreg", "features", value="kernel"), ["train_logreg.features", "'kernel'",
                                                                            "'pixels'", "'rbf'"]),
    ("train_logreg", set_key("train_logreg", "pca", value=785), ["train_logreg.pca", "785", "<= 784"]),
    ("train_logreg", set_key("train_logreg", "gamma", value=0), ["train_logreg.gamma", "0", "out of range"]),
    # not a number, or no finite one: YAML's .nan and .inf are floats that no comparison with a bound refuses
    ("train_logreg", set_key("train_logreg", "C", value=float("nan")), ["train_logreg.C = nan", "finite number"]),
    ("train_logreg", set_key("train_logreg", "gamma", value=float("inf")), ["train_logreg.gamma = inf", "finite"]),
    ("evaluate", set_key("evaluate", "sure_probability", value=float("nan")),
     ["evaluate.sure_probability = nan", "finite number"]),
    ("train_nn", set_key("train_nn", "cnn", "learning_rate", value=float("-inf")),
     ["train_nn.cnn.learning_rate = -inf", "finite number"]),
    # each item of a list within its field's bounds, and no more blocks than the image has room for
    ("train_nn", set_key("train_nn", "cnn", "filters", value=[16, -1]),
     ["train_nn.cnn.filters[1] = -1", "1 <= train_nn.cnn.filters[1] <= 4096"]),
    ("train_nn", set_key("train_nn", "mlp", "hidden_units", value=[0]), ["train_nn.mlp.hidden_units[0] = 0",
                                                                        "out of range"]),
    ("train_nn", set_key("train_nn", "cnn", "filters", value=[8] * 5),
     ["train_nn.cnn.filters = [8, 8, 8, 8, 8] makes 5 blocks", "at most 4 fit"]),
    ("fetch", set_key("fetch", "mirrors", value=["https://a/", "ossci-datasets.s3.amazonaws.com/mnist/"]),
     ["fetch.mirrors[1] = 'ossci-datasets.s3.amazonaws.com/mnist/' is no URL",
      "such as https://ossci-datasets.s3.amazonaws.com/mnist/"]),
])
def test_bad_params_are_refused_naming_the_key_and_value(write_params, section, edit, expected):
    path = write_params(edit)
    with pytest.raises(ParamsError) as caught:
        load_section(path, section, SECTIONS[section])
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_a_bad_value_in_another_section_does_not_block_this_one(write_params):
    path = write_params(set_key("train_nn", "arch", value="rnn"))
    assert load_section(path, "preprocess", SECTIONS["preprocess"]).val_size == COMMITTED["preprocess"]["val_size"]


def test_range_bounds_are_inclusive_where_declared(write_params):
    def edit(doc):
        doc["preprocess"]["val_size"] = 10  # a digit of each class: the least a stratified split can hold out
        doc["preprocess"]["train_limit"] = 0

    params = load_section(write_params(edit), "preprocess", SECTIONS["preprocess"])
    assert (params.val_size, params.train_limit) == (10, 0)


def test_the_bounds_of_a_list_and_its_length_are_inclusive(write_params):
    def edit(doc):
        doc["train_nn"]["cnn"]["filters"] = [1, 4096, 8, 8]  # four blocks: the image is 1x1 after the fourth
        doc["train_nn"]["mlp"]["hidden_units"] = [1, 65_536]

    params = load_section(write_params(edit), "train_nn", SECTIONS["train_nn"])
    assert (params.cnn.filters, params.mlp.hidden_units) == ([1, 4096, 8, 8], [1, 65_536])


def test_missing_file(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        load_section(tmp_path / "params.yaml", "fetch", SECTIONS["fetch"])


def test_missing_section(write_params):
    path = write_params(lambda doc: doc.pop("visualize"))
    with pytest.raises(ParamsError, match="no section 'visualize'"):
        load_section(path, "visualize", SECTIONS["visualize"])


def test_empty_section_is_not_a_mapping(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("preprocess:\n")
    with pytest.raises(ParamsError, match="preprocess must be a mapping"):
        load_section(path, "preprocess", SECTIONS["preprocess"])


@pytest.mark.parametrize("text", ["", "- just\n- a list\n", "just a string\n"])
def test_document_that_is_not_a_mapping(tmp_path, text):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ParamsError, match="no section 'fetch'"):
        load_section(path, "fetch", SECTIONS["fetch"])


def test_invalid_yaml(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("fetch:\n  mirrors: [unclosed\n  retries: 3\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_section(path, "fetch", SECTIONS["fetch"])


def test_parse_builds_from_a_plain_dict():
    params = parse(FetchParams, {"mirrors": ["http://x/"], "timeout": 5, "retries": 2}, "fetch")
    assert params == FetchParams(mirrors=["http://x/"], timeout=5.0, retries=2)


def test_params_are_frozen():
    params = load_section(PARAMS_FILE, "visualize", SECTIONS["visualize"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.dpi = 1


