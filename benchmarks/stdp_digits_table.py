"""Markdown table of Diehl & Cook results written by ``demos/stdp_digits.py --json``.

    python benchmarks/stdp_digits_table.py benchmarks/results/stdp_digits/*.json [--out table.md]

One row per result file, in the order given; the published accuracies (Diehl & Cook 2015, one pass
over the 60000 MNIST images) are shown beside ideal-device rows of the same N.
"""
import argparse
import json
import sys

from neuroimc._io import write_atomic

#: Diehl & Cook (2015), Table 1: test accuracy after one pass (N = 100, 400)
PUBLISHED = {100: 82.9, 400: 87.0}


def row(r):
    e = r["training_energy"]
    paper = PUBLISHED.get(r["neurons"]) if r["dataset"] == "mnist" and r["device"] == "ideal" else None
    return (f"| {r['dataset']} | {r['neurons']} | `{r['device']}` | {r['pulses']} | {r['epochs']} x {r['train_images']} "
            f"| **{100 * r['test_accuracy']:.1f}** | {f'{paper:.1f}' if paper else '—'} "
            f"| {r['train_wall_s'] / 60:.1f} ({r['train_ms_per_image']:.1f} ms/img) "
            f"| {r['presentations_per_image']:.2f} | {r['total_pulses']:.3g} | {r['max_pulses_per_device']} "
            f"| {r['failed_synapses']} | {r['stuck_synapses']} | {e['total_J']:.3g} ({e['breakdown_J']['writes']:.2g}) |")


HEADER = ("| data | N | device | pulses | training images | test accuracy % | paper % | training min "
          "| presentations / image | total pulses | max pulses / device | worn-out synapses | stuck synapses "
          "| training energy J (writes) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", help="JSON files of demos/stdp_digits.py --json")
    ap.add_argument("--out", default=None, help="also write the table to this file")
    args = ap.parse_args(argv)
    rows = []
    for path in args.results:
        with open(path) as fh:
            rows.append(row(json.load(fh)))
    table = "\n".join([HEADER, *rows]) + "\n"
    sys.stdout.write(table)
    if args.out:
        write_atomic(args.out, table)
    return table


if __name__ == "__main__":
    main()
