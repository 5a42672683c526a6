"""A sparse text pipeline: ``TfidfVectorizer`` → swiftprop's ``MLPClassifier``, next to scikit-learn's own.

    python examples/text_pipeline.py

The corpus ships with scikit-learn (no download): the paragraphs of the docstrings of ten of its
sub-packages (``sklearn.cluster``, ``sklearn.linear_model``, ...), each labelled with the sub-package it
documents; the task is to tell from a paragraph's words which part of scikit-learn it describes. Code
examples and paragraphs that name a module are left out, and so is any paragraph that occurs more than once
(``random_state : int ...`` is in every sub-package).

``TfidfVectorizer`` returns a float32 CSR matrix (``dtype=np.float32``); the MLP takes it as it is: the
network's first layer reads the CSR rows (the matrix is never densified) and, since X is float32, the network
is float32 (scikit-learn's rule: the dtype follows X). Both pipelines are scored by 3-fold cross-validation
with the same hyper-parameters; the script prints accuracy and fit time.
"""
from __future__ import annotations

import importlib
import inspect
import time
import warnings
from collections import Counter

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.pipeline import make_pipeline

import swiftprop as sp

SUBPACKAGES = ["cluster", "covariance", "decomposition", "ensemble", "linear_model", "metrics", "neighbors",
               "preprocessing", "svm", "tree"]


def docstring_corpus(subpackages: list[str] = SUBPACKAGES) -> tuple[list[str], np.ndarray]:
    """(paragraphs, labels): every numpydoc block (a summary paragraph, or one parameter / attribute entry)
    of the public objects of each ``sklearn.<subpackage>``, labelled with the sub-package."""
    texts, labels = [], []
    for sub in subpackages:
        module = importlib.import_module(f"sklearn.{sub}")
        for name in sorted(getattr(module, "__all__", [])):
            try:
                doc = inspect.getdoc(getattr(module, name)) or ""
            except ImportError:  # experimental objects that need an explicit enable_* import
                continue
            blocks: list[list[str]] = [[]]
            for line in doc.splitlines():
                if line and not line[0].isspace():  # an unindented line starts a block
                    blocks.append([])
                blocks[-1].append(line)
            for block in blocks:
                text = " ".join(" ".join(block).split())
                if len(text.split()) >= 10 and ">>>" not in text and "sklearn" not in text:
                    texts.append(text)
                    labels.append(sub)
    counts = Counter(texts)
    keep = [i for i, t in enumerate(texts) if counts[t] == 1]
    return [texts[i] for i in keep], np.array([labels[i] for i in keep])


def main() -> None:
    texts, y = docstring_corpus()
    X = TfidfVectorizer(sublinear_tf=True, min_df=2, dtype=np.float32).fit_transform(texts)
    print(f"corpus: {len(texts)} docstring paragraphs from {len(SUBPACKAGES)} scikit-learn sub-packages")
    print(f"TF-IDF: {type(X).__name__} {X.shape[0]} × {X.shape[1]}, {X.dtype}, "
          f"density {X.nnz / (X.shape[0] * X.shape[1]):.2%} (dense it would take "
          f"{X.shape[0] * X.shape[1] * 4 / 1e6:.0f} MB, as CSR {(X.data.nbytes + X.indices.nbytes) / 1e6:.1f} MB)\n")

    params = dict(hidden_layer_sizes=(64,), alpha=1e-3, batch_size=64, max_iter=25, random_state=0)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    print(f"hyper-parameters: {params}; 3-fold cross-validation\n")
    print(f"{'TfidfVectorizer →':30s} {'accuracy':>16s} {'fit time / fold':>16s}")
    for name, model in [("scikit-learn MLPClassifier", SkMLPClassifier(**params)),
                        ("swiftprop MLPClassifier", sp.MLPClassifier(**params))]:
        pipe = make_pipeline(TfidfVectorizer(sublinear_tf=True, min_df=2, dtype=np.float32), model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = cross_validate(pipe, texts, y, cv=folds)
        acc = res["test_score"]
        print(f"{name:30s} {acc.mean():9.4f} ± {acc.std():.3f} {res['fit_time'].mean():15.2f}s")

    pipe = make_pipeline(TfidfVectorizer(sublinear_tf=True, min_df=2, dtype=np.float32), sp.MLPClassifier(**params))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(texts, y)
    clf = pipe[-1]
    print(f"\nswiftprop's fitted network (all data): sizes {clf.network_.sizes}, dtype {clf.network_.dtype}, "
          f"coefs_[0] {clf.coefs_[0].shape}")
    probe = ["Number of neighbors to use by default for kneighbors queries.",
             "The number of trees in the forest.",
             "Compute the F1 score, also known as balanced F-score or F-measure."]
    for text, label in zip(probe, pipe.predict(probe)):
        print(f"  {label:14s} <- {text!r}")


if __name__ == "__main__":
    main()
