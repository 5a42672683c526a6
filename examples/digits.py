"""Train swiftprop's MLPClassifier on scikit-learn's bundled digits, next to scikit-learn's own.

    python examples/digits.py

Same split, same scaling, same hyper-parameters for both; prints test accuracy and fit time.
"""
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.preprocessing import StandardScaler

import swiftprop as sp

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

params = dict(hidden_layer_sizes=(64,), activation="relu", solver="adam", learning_rate_init=1e-3,
              batch_size=32, max_iter=60, random_state=0)
print(f"digits: {len(X_train)} training and {len(X_test)} test samples, 64 features, 10 classes")
print(f"hyper-parameters: {params}\n")
print(f"{'':28s} {'test accuracy':>14s} {'fit time':>10s}")
for name, model in [("scikit-learn MLPClassifier", SkMLPClassifier(**params)),
                    ("swiftprop MLPClassifier", sp.MLPClassifier(**params)),
                    ("swiftprop, float32", sp.MLPClassifier(**params, dtype=np.float32))]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        elapsed = time.perf_counter() - start
    print(f"{name:28s} {model.score(X_test, y_test):14.4f} {elapsed:9.3f}s")
