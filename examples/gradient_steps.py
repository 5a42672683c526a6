"""Train a network on scikit-learn's bundled digits with plain gradient steps, and evaluate it.

    python examples/gradient_steps.py

Every step is the derivation itself: ``net.backward`` fills ``net.grads`` with dcost/dW and dcost/dB
(equations (1)-(3)); the update is one NumPy expression on the flat parameter buffer, which is the
buffer the Swift core reads (zero-copy).
"""
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import swiftprop as sp

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)

net = sp.Network([64, 64, 10], activations="tanh", loss="cross_entropy", dtype=np.float32, seed=0)
print(net)

rng = np.random.default_rng(0)
lr, batch, epochs = 0.2, 32, 30
start = time.perf_counter()
for epoch in range(1, epochs + 1):
    order = rng.permutation(len(X_train))
    Xs, ys = X_train[order], y_train[order]
    for i in range(0, len(Xs), batch):
        net.backward(Xs[i:i + batch], ys[i:i + batch])
        net.params[...] -= lr * net.grads  # plain gradient step on the flat buffer
    if epoch in (1, 2, 5) or epoch % 10 == 0:
        print(f"epoch {epoch:3d}  train loss {net.cost(X_train, y_train):.4f}  "
              f"test loss {net.cost(X_test, y_test):.4f}")
elapsed = time.perf_counter() - start

accuracy = (net.forward(X_test).argmax(axis=1) == y_test).mean()
print(f"test accuracy {accuracy:.4f} after {epochs} epochs in {elapsed:.2f} s")
