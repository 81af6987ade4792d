"""One network trained on the parts of each batch side by side: data parallelism over a CPU's cores.

TensorFlow splits each op of a step over its intra-op threads, and the ops of these small networks split
badly over two cores. Here each training batch splits into ``towers`` parts; each part's forward pass, loss and
gradient is a branch of the step's graph that needs nothing from the others, and TensorFlow's inter-op pool
runs the branches side by side, each op on its own thread (``python -m benchmarks.bench_towers``). Each
part's mean loss weighs by its share of the batch, so the parts' gradients add up to the whole batch's
(summed in another order). Only training uses this wrapper; the network it wraps is what gets saved.
"""

from __future__ import annotations

from mnist_pipeline.tensorflow_env import import_keras, import_tensorflow

keras = import_keras()
tf = import_tensorflow()


def for_training(network, towers: int):
    """What trains ``network`` in ``towers``: the network itself for one, a :class:`Towers` around it for more."""
    return network if towers == 1 else Towers(network, towers)


class Towers(keras.Model):
    """``network`` trained on ``towers`` parts of each batch side by side; predicts as ``network`` does.

    A part must not be empty (oneDNN's convolutions reject an empty batch): the pipeline's batches hold at
    least ``towers`` digits (:func:`mnist_pipeline.nn.batches`).
    """

    def __init__(self, network, towers: int, **kwargs):
        super().__init__(name=f"{network.name}_towers", **kwargs)
        self.network, self.towers = network, towers

    def call(self, images, training=False):
        return self.network(images, training=training)

    def train_step(self, data):
        images, labels = data
        n = tf.shape(images)[0]
        # Parts as equal as the batch allows; they add up to it.
        sizes = tf.stack([(n + i) // self.towers for i in range(self.towers)])
        weights = self.trainable_weights
        gradients, predictions, batch_loss = None, [], 0.0
        for part, part_labels in zip(tf.split(images, sizes, num=self.towers),
                                     tf.split(labels, sizes, num=self.towers), strict=True):
            with tf.GradientTape() as tape:
                part_predictions = self.network(part, training=True)
                share = tf.cast(tf.shape(part)[0], part_predictions.dtype) / tf.cast(n, part_predictions.dtype)
                loss = share * self.compute_loss(x=part, y=part_labels, y_pred=part_predictions, training=True)
                scaled = self.optimizer.scale_loss(loss)
            part_gradients = tape.gradient(scaled, weights)
            gradients = part_gradients if gradients is None else [
                total + more for total, more in zip(gradients, part_gradients, strict=True)]
            predictions.append(part_predictions)
            batch_loss += loss
        self.optimizer.apply_gradients(zip(gradients, weights, strict=True))
        # Keras' own train_step feeds its loss tracker (the "loss" in the logs) the same way.
        self._loss_tracker.update_state(batch_loss, sample_weight=n)
        return self.compute_metrics(images, labels, tf.concat(predictions, axis=0), sample_weight=None)
