"""scikit-learn's 8 x 8 handwritten digits: a small real data set that needs no download.

1,797 digits from the UCI "Optical Recognition of Handwritten Digits" test set (43 writers):
32 x 32 bitmaps summed over non-overlapping 4 x 4 blocks, so each of the 64 pixels counts the
inked bits of its block, 0..16.  The file ships inside the scikit-learn wheel.  Small enough
for tests and quick demos (64 inputs instead of 784); not a substitute for MNIST results.
"""
import numpy as np

IMAGE_SHAPE = (8, 8)
FULL_SCALE = 16.0  # largest pixel value: all 16 bits of a 4 x 4 block inked


def load_digits():
    """Return ``(images, labels)``: float64 ``(1797, 8, 8)`` with values 0..16, and uint8 labels 0..9.

    Encode with ``full_scale=16`` (:data:`FULL_SCALE`), e.g.
    ``neuroimc.encoding.pixel_rates(images, full_scale=16)``.
    Needs scikit-learn (``pip install "neuroimc[demos]"``).
    """
    try:
        from sklearn import datasets
    except ImportError as exc:
        raise ImportError("load_digits needs scikit-learn: pip install 'scikit-learn>=1.3' "
                          "(or pip install 'neuroimc[demos]')") from exc
    bunch = datasets.load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)
    labels = np.asarray(bunch.target).astype(np.uint8)
    return images, labels
