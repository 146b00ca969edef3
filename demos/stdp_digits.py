"""Unsupervised digit recognition with on-chip STDP: Diehl & Cook (2015) on a memristive crossbar.

784 (or 64) Poisson inputs -> N excitatory neurons with adaptive thresholds, N inhibitory neurons
one-to-one, winner-take-all (see ``neuroimc.diehl_cook``).  The input weights learn on the devices of
``--device``: every weight change is programming pulses that wear the devices and cost energy.

Protocol, as the paper: one pass over the training images with learning on (``--epochs`` passes; the
small built-in digits set takes 3 by default); the neurons are then
labelled by their (frozen) responses to ``--label`` training images, and the test images are
classified by the vote of the labelled neurons.  The accuracy during training (blocks of
``--window`` images, each classified with the labels of the block before) is plotted too.

    python demos/stdp_digits.py                                  # scikit-learn 8x8 digits, N=100, ideal
    python demos/stdp_digits.py --dataset mnist --neurons 400 --device rram_hfox --json out.json

MNIST is read from ``--data`` or ``$NEUROIMC_DATA/mnist`` (``--download`` fetches it, with internet).
Figures (receptive fields, accuracy vs images, wear map) go to ``--out``.
"""
import argparse
import dataclasses
import json
import os
import time

import numpy as np

import neuroimc as ni
from neuroimc._io import atomic_open, write_json
from neuroimc.diehl_cook import DIEHL_COOK_RULE, DiehlCook2015
from neuroimc.readout import accuracy, assign_labels, confusion_matrix, predict, running_accuracy


def load(dataset, data, download, n_train, n_test, seed, progress):
    """(train images, train labels, test images, test labels, image shape, full scale)."""
    if dataset == "mnist":
        x, y = ni.datasets.load_mnist(data, split="train", download=download, progress=progress)
        xt, yt = ni.datasets.load_mnist(data, split="test", download=download, progress=progress)
        return x[:n_train], y[:n_train], xt[:n_test], yt[:n_test], (28, 28), 255.0
    images, labels = ni.datasets.load_digits()
    order = np.random.default_rng(seed).permutation(len(images))  # one shuffled split, fixed by the seed
    test, train = order[:n_test], order[n_test:][:n_train]
    return images[train], labels[train], images[test], labels[test], (8, 8), ni.datasets.digits.FULL_SCALE


def save_figure(fig, path):
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=("digits", "mnist"), default="digits")
    ap.add_argument("--data", default=None, help="MNIST folder (default: $NEUROIMC_DATA/mnist)")
    ap.add_argument("--download", action="store_true", help="download MNIST if it is not found")
    ap.add_argument("--device", default="ideal", help=f"card of the learning crossbar: {ni.available_devices()}")
    ap.add_argument("--neurons", type=int, default=100, help="N excitatory (= inhibitory) neurons")
    ap.add_argument("--train", type=int, default=None, help="training images (default: all: 60000 / 1497)")
    ap.add_argument("--test", type=int, default=None, help="test images (default: all: 10000 / 300)")
    ap.add_argument("--label", type=int, default=None,
                    help="training images whose frozen responses label the neurons (default: min(train, 10000))")
    ap.add_argument("--window", type=int, default=None, help="block of the running accuracy (default train/10)")
    ap.add_argument("--epochs", type=int, default=None, help="passes over the training images (default: "
                    "1 for MNIST as in the paper, 3 for the 1497 digits)")
    ap.add_argument("--inhibition", type=float, default=None,
                    help="hyperpolarisation of one inhibitory spike, mV (default 50 for MNIST; 13.6, the paper's "
                         "equivalent, for the 8x8 digits, whose 64 inputs each carry 12x the drive)")
    ap.add_argument("--pulses", choices=("deterministic", "stochastic"), default="deterministic",
                    help="how a weight change becomes whole programming pulses")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="out/stdp_digits", help="folder for the figures")
    ap.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                    help="write the results as JSON to PATH (no PATH: print them)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    if args.device not in ni.available_devices():
        ap.error(f"--device: unknown card {args.device!r}; available: {ni.available_devices()}")
    for name in ("neurons", "train", "test", "label", "window", "epochs"):
        value = getattr(args, name)
        if value is not None and value < (2 if name == "neurons" else 1):
            ap.error(f"--{name} must be >= {2 if name == 'neurons' else 1}, got {value}")
    progress = not args.quiet
    mnist = args.dataset == "mnist"
    n_test = args.test if args.test is not None else (10_000 if mnist else 300)
    x, y, xt, yt, shape, full_scale = load(args.dataset, args.data, args.download,
                                           args.train if args.train is not None else 60_000, n_test, args.seed,
                                           progress)
    n_label = min(args.label or 10_000, len(x))
    epochs = args.epochs or (1 if mnist else 3)
    inhibition = (args.inhibition if args.inhibition is not None else (50.0 if mnist else 13.6)) * 1e-3
    window = args.window or max(len(x) // 10, 1)

    rule = dataclasses.replace(DIEHL_COOK_RULE, pulses=args.pulses)
    model = DiehlCook2015(x[0].size, args.neurons, device=args.device, seed=args.seed, rule=rule,
                          full_scale=full_scale, inhibition=inhibition)
    energy = model.net.monitor_energy()
    t0 = time.perf_counter()
    passes = [model.present(x, learn=True, progress=progress, desc=f"training {e + 1}/{epochs}")
              for e in range(epochs)]
    t_train = time.perf_counter() - t0
    responses = np.concatenate([r for r, _ in passes])
    attempts = np.concatenate([a for _, a in passes])
    labels_seen = np.tile(y, epochs)
    training_energy = energy.report()

    t0 = time.perf_counter()
    label_responses, _ = model.present(x[-n_label:], learn=False, progress=progress, desc="labelling")
    assignments = assign_labels(label_responses, y[-n_label:], 10)
    test_responses, _ = model.present(xt, learn=False, progress=progress, desc="testing")
    t_eval = time.perf_counter() - t0
    predicted = predict(test_responses, assignments, 10)
    acc = accuracy(yt, predicted)
    seen, running = (running_accuracy(responses, labels_seen, window, 10) if len(responses) >= 2 * window
                     else ([], []))

    xb = model.synapses
    result = {
        "dataset": args.dataset, "device": args.device, "neurons": args.neurons, "seed": args.seed,
        "pulses": args.pulses, "epochs": epochs, "inhibition_mV": 1e3 * inhibition, "train_images": len(x), "label_images": n_label, "test_images": len(xt),
        "test_accuracy": acc,
        "running_accuracy": {"images": [int(s) for s in seen], "accuracy": [float(a) for a in running]},
        "presentations_per_image": float(attempts.mean()),
        "train_wall_s": t_train, "train_ms_per_image": 1e3 * t_train / len(responses), "eval_wall_s": t_eval,
        "simulated_s": model.net.t,
        "total_pulses": int(xb.pulse_counts().sum()), "max_pulses_per_device": int(xb._state[3].max()),
        "failed_synapses": int(xb.failed().sum()), "stuck_synapses": int(xb.faults().sum()),
        "training_energy": training_energy.to_dict(),
        "confusion": confusion_matrix(yt, predicted, 10).tolist(),
        "theta_mV": {"mean": 1e3 * float(model.exc.theta.mean()), "max": 1e3 * float(model.exc.theta.max())},
    }
    if args.json == "-":
        print(json.dumps(result, indent=2))
    elif args.json:
        write_json(args.json, result)

    os.makedirs(args.out, exist_ok=True)
    tag = f"{args.dataset}_{args.device}_N{args.neurons}"
    fields = ni.plot.receptive_fields(xb.programmed_weights(), shape,
                                      title=f"receptive fields, {args.device}, N={args.neurons}")
    save_figure(fields.figure, os.path.join(args.out, f"{tag}_fields.png"))
    if len(seen):
        curve = ni.plot.accuracy_curve(seen, running, chance=0.1, label=args.device,
                                       title=f"accuracy during training (test: {100 * acc:.1f} %)")
        save_figure(curve.figure, os.path.join(args.out, f"{tag}_accuracy.png"))
    save_figure(ni.plot.wear_map(xb, title=f"wear after training, {args.device}"),
                os.path.join(args.out, f"{tag}_wear.png"))

    print(f"{args.dataset}, N={args.neurons}, {args.device}: test accuracy {100 * acc:.1f} % "
          f"({epochs} x {len(x)} training images in {t_train:.0f} s, {result['train_ms_per_image']:.2f} ms/image; "
          f"{result['total_pulses']} pulses, {result['failed_synapses']} failed synapses, "
          f"training energy {training_energy.total:.3g} J)")
    return result


if __name__ == "__main__":
    main()
