"""Diehl & Cook labelling and voting on response matrices with known answers."""
import numpy as np
import pytest

from neuroimc.readout import (accuracy, assign_labels, class_means, class_scores, confusion_matrix, predict,
                              running_accuracy)


def test_labelling_by_hand():
    # 6 labelling images of classes 0,0,1,1,2,2; 5 neurons
    labels = np.array([0, 0, 1, 1, 2, 2])
    r = np.array([
        # n0 n1 n2 n3 n4
        [4, 0, 1, 0, 0],
        [2, 0, 1, 0, 0],
        [0, 3, 2, 0, 0],
        [1, 3, 0, 0, 0],
        [0, 0, 2, 0, 5],
        [0, 1, 0, 0, 5],
    ])
    # class means: n0 (3, .5, 0) -> 0; n1 (0, 3, .5) -> 1; n2 (1, 1, 1) tie -> 0; n3 silent -> -1; n4 -> 2
    np.testing.assert_allclose(class_means(r, labels)[:, 2], [1, 1, 1])
    assert assign_labels(r, labels).tolist() == [0, 1, 0, -1, 2]


def test_tie_goes_to_the_lowest_class_and_absent_classes_are_never_assigned():
    labels = np.array([1, 3])  # classes 0 and 2 have no labelling images
    r = np.array([[2.0, 0.0], [2.0, 1.0]])
    means = class_means(r, labels, n_classes=4)
    assert np.isnan(means[0]).all() and np.isnan(means[2]).all()
    assert assign_labels(r, labels, n_classes=4).tolist() == [1, 3]


def test_voting_by_hand():
    assignments = np.array([0, 0, 1, 2, -1])
    r = np.array([
        [2, 4, 1, 0, 9],  # class scores (3, 1, 0) -> 0; the unassigned neuron does not vote
        [1, 1, 0, 3, 0],  # (1, 0, 3) -> 2
        [1, 1, 1, 0, 0],  # (1, 1, 0) tie -> 0
        [0, 0, 0, 0, 7],  # no assigned neuron responds -> -1
    ])
    np.testing.assert_allclose(class_scores(r, assignments)[0], [3, 1, 0])
    assert predict(r, assignments).tolist() == [0, 2, 0, -1]


def test_class_without_neurons_cannot_win():
    assignments = np.array([0, 2])  # nobody is class 1
    r = np.array([[0, 1], [1, 0]])
    assert np.isnan(class_scores(r, assignments, n_classes=3)[:, 1]).all()
    assert predict(r, assignments, n_classes=3).tolist() == [2, 0]
    assert predict(r, np.array([-1, -1]), n_classes=3).tolist() == [-1, -1]


def test_confusion_and_accuracy_count_abstentions_as_errors():
    labels = np.array([0, 0, 1, 1, 2])
    pred = np.array([0, 1, 1, -1, 2])
    cm = confusion_matrix(labels, pred, n_classes=3)
    np.testing.assert_array_equal(cm, [[1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]])
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(labels))
    assert accuracy(labels, pred) == pytest.approx(3 / 5)
    assert np.trace(cm[:, :3]) / cm.sum() == accuracy(labels, pred)


def _reference(r, y, n_classes):
    """Loop implementation of the rules in the readout module's docstring."""
    assign = []
    for j in range(r.shape[1]):
        best, best_c = 0.0, -1
        for c in range(n_classes):
            rows = [r[i, j] for i in range(len(y)) if y[i] == c]
            if rows and np.mean(rows) > best:
                best, best_c = np.mean(rows), c
        assign.append(best_c)
    pred = []
    for i in range(r.shape[0]):
        best, best_c = 0.0, -1
        for c in range(n_classes):
            members = [j for j in range(r.shape[1]) if assign[j] == c]
            if members and np.mean(r[i, members]) > best:
                best, best_c = np.mean(r[i, members]), c
        pred.append(best_c)
    return assign, pred


def test_matches_a_loop_reference_on_random_tuned_neurons():
    rng = np.random.default_rng(4)
    n_classes, n_neurons, n_images = 5, 30, 300
    preferred = rng.integers(0, n_classes, n_neurons)
    preferred[:3] = 0  # make class 4 possibly empty on some seeds; the loop covers it either way
    y = rng.integers(0, n_classes, n_images)
    lam = 0.5 + 4.0 * (y[:, None] == preferred[None, :])
    r = rng.poisson(lam)
    r[:, 5] = 0  # a dead neuron
    assign, pred = _reference(r, y, n_classes)
    got_assign = assign_labels(r, y, n_classes)
    assert got_assign.tolist() == assign
    assert predict(r, got_assign, n_classes).tolist() == pred
    # tuned neurons are recovered and the vote is accurate
    alive = np.arange(n_neurons) != 5
    assert np.mean(got_assign[alive] == preferred[alive]) > 0.9
    assert got_assign[5] == -1
    assert accuracy(y, pred) > 0.9


def test_running_accuracy_scores_each_block_with_the_previous_labels():
    rng = np.random.default_rng(1)
    window, n_classes = 50, 2
    y = rng.integers(0, n_classes, 4 * window)
    pref = np.array([0, 0, 1, 1])
    r = 3.0 * (y[:, None] == pref[None, :])
    r[2 * window:] = 3.0 * (y[2 * window:, None] != pref[None, :])  # preferences flip after block 1
    seen, acc = running_accuracy(r, y, window=window)
    assert seen.tolist() == [100, 150, 200]
    # block 1: labels from block 0 still hold -> 1.0; block 2: flipped -> 0.0; block 3: relabelled -> 1.0
    np.testing.assert_allclose(acc, [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="window must leave at least two full blocks, got window=150 for 200 images"):
        running_accuracy(r, y, window=150)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="responses must be 2-dimensional"):
        assign_labels(np.zeros(3), np.zeros(3, int))
    with pytest.raises(ValueError, match="labels must have one entry per image \\(2\\), got 3"):
        assign_labels(np.zeros((2, 4)), np.zeros(3, int))
    with pytest.raises(TypeError, match="labels must hold integer class indices"):
        assign_labels(np.zeros((2, 4)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="every element of responses must be >= 0"):
        assign_labels(-np.ones((2, 4)), np.zeros(2, int))
    with pytest.raises(ValueError, match="assignments must have one entry per neuron \\(4\\), got 3"):
        predict(np.zeros((2, 4)), np.zeros(3, int))
    with pytest.raises(ValueError, match="labels must be < n_classes=2, found 5"):
        assign_labels(np.zeros((1, 4)), np.array([5]), n_classes=2)
    with pytest.raises(ValueError, match="predicted must be >= -1, found -2"):
        accuracy(np.array([0]), np.array([-2]))
    with pytest.raises(ValueError, match="labels must not be empty"):
        accuracy(np.array([], int), np.array([], int))
