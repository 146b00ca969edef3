"""Reading classes out of unsupervised spiking responses (Diehl & Cook 2015).

After STDP has shaped the excitatory neurons' receptive fields without labels, the labels are
used only to *name* the neurons:

1. **Labelling** (:func:`assign_labels`): show a labelled set, count each neuron's spikes per
   image, and assign each neuron the class for which its mean response is highest.
2. **Voting** (:func:`predict`): for a new image, average the responses of the neurons assigned
   to each class; the class with the highest average wins.

``responses`` are arrays ``(n_images, n_neurons)`` of spike counts (or rates) per image, e.g.
from the excitatory layer's spike monitor over each presentation.

Edge cases, decided explicitly (the authors' code leaves them to argsort order):

* a neuron that never fired during labelling gets no class (``-1``) and never votes;
* ties go to the lowest class index, both when labelling and when voting;
* a class with no assigned neuron cannot be predicted;
* an image to which no assigned neuron responds gets no prediction (``-1``); it counts as an
  error in :func:`accuracy`, so a silent network cannot score by chance, and has its own column
  in :func:`confusion_matrix`.
"""
import numpy as np

from . import _checks

NO_CLASS = -1


def _responses(responses):
    r = _checks.real_array("responses", responses, ndim=2, low=0.0)
    return r


def _labels(name, labels, n=None, low=0):
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} must have one entry per image ({n}), got {arr.size}")
    if arr.size and arr.min() < low:
        raise ValueError(f"{name} must be >= {low}, found {arr.min()}")
    return arr.astype(np.int64)


def _n_classes(n_classes, *arrays):
    if n_classes is not None:
        return _checks.integer("n_classes", n_classes, low=1)
    return max([int(a.max()) + 1 for a in arrays if a.size] + [1])


def class_means(responses, labels, n_classes=None):
    """Mean response of every neuron to every class: ``(n_classes, n_neurons)``, NaN for classes without images."""
    r = _responses(responses)
    y = _labels("labels", labels, r.shape[0])
    n_classes = _n_classes(n_classes, y)
    if y.size and y.max() >= n_classes:
        raise ValueError(f"labels must be < n_classes={n_classes}, found {y.max()}")
    sums = np.zeros((n_classes, r.shape[1]))
    np.add.at(sums, y, r)
    shown = np.bincount(y, minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / shown[:, None]


def assign_labels(responses, labels, n_classes=None):
    """Class of every neuron: the class with the highest mean response over the labelling set.

    Parameters
    ----------
    responses : array (n_images, n_neurons)
        Spike counts (or rates, >= 0) of each neuron to each labelling image.
    labels : int array (n_images,)
        True class of each image.
    n_classes : int, optional
        Default ``labels.max() + 1``.

    Returns an ``int64`` array ``(n_neurons,)``: the class, or ``-1`` for a neuron that never
    fired.  Ties go to the lowest class; classes absent from ``labels`` are never assigned.
    """
    means = class_means(responses, labels, n_classes)
    means = np.where(np.isnan(means), -np.inf, means)
    if means.shape[1] == 0:
        return np.zeros(0, np.int64)
    best = np.argmax(means, axis=0)  # first maximum: lowest class on ties
    best[means.max(axis=0) <= 0] = NO_CLASS
    return best.astype(np.int64)


def class_scores(responses, assignments, n_classes=None):
    """Average response of the neurons assigned to each class: ``(n_images, n_classes)``, NaN for empty classes."""
    r = _responses(responses)
    a = _labels("assignments", assignments, low=NO_CLASS)
    if a.size != r.shape[1]:
        raise ValueError(f"assignments must have one entry per neuron ({r.shape[1]}), got {a.size}")
    n_classes = _n_classes(n_classes, a)
    if a.size and a.max() >= n_classes:
        raise ValueError(f"assignments must be < n_classes={n_classes}, found {a.max()}")
    onehot = (a[:, None] == np.arange(n_classes)[None, :]).astype(np.float64)
    members = onehot.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (r @ onehot) / members


def predict(responses, assignments, n_classes=None):
    """Diehl & Cook's vote: the class whose assigned neurons respond most on average.

    Returns an ``int64`` array ``(n_images,)`` of classes, ``-1`` where no assigned neuron
    responded.  Ties go to the lowest class.
    """
    scores = class_scores(responses, assignments, n_classes)
    scores = np.where(np.isnan(scores), -np.inf, scores)
    if scores.shape[0] == 0:
        return np.zeros(0, np.int64)
    best = np.argmax(scores, axis=1)
    best[~(scores.max(axis=1) > 0)] = NO_CLASS
    return best.astype(np.int64)


def confusion_matrix(labels, predicted, n_classes=None):
    """Counts ``[true, predicted]``, shape ``(n_classes, n_classes + 1)``; the last column counts ``-1`` (no decision).

    Each row sums to the number of images of that class.
    """
    y = _labels("labels", labels)
    p = _labels("predicted", predicted, y.size, low=NO_CLASS)
    n_classes = _n_classes(n_classes, y, p)
    top = max(int(y.max()) if y.size else 0, int(p.max()) if p.size else 0)
    if top >= n_classes:
        raise ValueError(f"labels and predicted must be < n_classes={n_classes}, found {top}")
    cm = np.zeros((n_classes, n_classes + 1), np.int64)
    np.add.at(cm, (y, np.where(p == NO_CLASS, n_classes, p)), 1)
    return cm


def accuracy(labels, predicted):
    """Fraction of images whose prediction equals the label (no decision counts as wrong)."""
    y = _labels("labels", labels)
    p = _labels("predicted", predicted, y.size, low=NO_CLASS)
    if y.size == 0:
        raise ValueError("labels must not be empty: accuracy of no images is undefined")
    return float(np.mean(y == p))


def running_accuracy(responses, labels, window=10_000, n_classes=None):
    """Accuracy during training, as Diehl & Cook report it.

    The response stream is cut into consecutive blocks of ``window`` images.  Block ``k >= 1``
    is classified with the neuron labels assigned from block ``k - 1`` (the network keeps
    learning meanwhile, so this tracks the current state).  Returns ``(n_images, accuracy)``:
    the number of images seen at the end of each scored block and its accuracy.
    """
    r = _responses(responses)
    y = _labels("labels", labels, r.shape[0])
    window = _checks.integer("window", window, low=1)
    n_classes = _n_classes(n_classes, y)
    n_blocks = r.shape[0] // window
    if n_blocks < 2:
        raise ValueError(f"window must leave at least two full blocks, got window={window} for {r.shape[0]} images")
    seen, acc = [], []
    for k in range(1, n_blocks):
        prev, cur = slice((k - 1) * window, k * window), slice(k * window, (k + 1) * window)
        assignments = assign_labels(r[prev], y[prev], n_classes)
        acc.append(accuracy(y[cur], predict(r[cur], assignments, n_classes)))
        seen.append((k + 1) * window)
    return np.array(seen, np.int64), np.array(acc)
