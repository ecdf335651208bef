"""Backpropagation by hand on a 2-3-2 net, checked against fastmlp (for teaching).

The script computes, in a few lines of numpy, the forward pass, the mean
cross-entropy loss and its gradient for four points of the synthetic set,
then checks them against ``model.loss``, ``fastmlp.gradients`` (the
compiled kernels) and ``fastmlp.gradcheck`` (central finite differences),
and finally takes one SGD step by hand and compares it with ``fastmlp.train``.

Run it with ``python examples/backprop_by_hand.py``; it only prints (no files,
and it runs in seconds, so ``FASTMLP_EXAMPLES_QUICK`` changes nothing).
"""

import numpy as np

import fastmlp
from fastmlp.datasets import load_synth

np.set_printoptions(precision=5, suppress=True)

# float64 so that the hand computation and the kernels agree to ~1e-15.
model = fastmlp.MLP([2, 3, 2], activation="sigmoid", dtype="float64", seed=0)
(X, y), _, _ = load_synth(num_train=4, num_val=1, seed=0)
W1, W2 = model.weights  # shapes (2, 3) and (3, 2): a row per input unit
b1, b2 = model.biases
n = len(X)

# Forward pass: sigmoid hidden layer, softmax output, mean cross-entropy.
H = 1 / (1 + np.exp(-(X @ W1 + b1)))
Z = H @ W2 + b2
P = np.exp(Z - Z.max(axis=1, keepdims=True))
P /= P.sum(axis=1, keepdims=True)
loss = -np.mean(np.log(P[np.arange(n), y]))
print(f"loss by hand {loss:.12f}, model.loss {model.loss(X, y):.12f}")

# Backward pass: softmax + cross-entropy gives dloss/dZ = (P - onehot(y)) / n.
dZ = (P - np.eye(2)[y]) / n
dW2, db2 = H.T @ dZ, dZ.sum(axis=0)
dA = (dZ @ W2.T) * H * (1 - H)  # through the sigmoid: s'(a) = s(a) (1 - s(a))
dW1, db1 = X.T @ dA, dA.sum(axis=0)

(kW1, kW2), (kb1, kb2) = fastmlp.gradients(model, X, y)
print("dW1 by hand:", dW1, "dW1 from fastmlp.gradients:", kW1, sep="\n")
mine, theirs = [dW1, db1, dW2, db2], [kW1, kb1, kW2, kb2]
difference = max(np.abs(a - b).max() for a, b in zip(mine, theirs))
print(f"gradients, by hand vs fastmlp.gradients: largest difference {difference:.1e}")
print(f"gradcheck (max relative error vs finite differences): {fastmlp.gradcheck(model, X, y):.1e}")

# One SGD step on the mean gradient of the four rows, by hand and by fastmlp.train.
lr = 0.5
stepped = model.copy()
fastmlp.train(stepped, X, y, epochs=1, lr=lr, batch_size=n, shuffle=False, progress=False)
for W, b, dW, db in zip(model.weights, model.biases, [dW1, dW2], [db1, db2]):
    W -= lr * dW  # updates model in place: weights and biases are views of model.params
    b -= lr * db
difference = np.abs(model.params - stepped.params).max()
print(f"parameters after one step, by hand vs fastmlp.train: largest difference {difference:.1e}")
print(f"loss after the step: {model.loss(X, y):.6f} (was {loss:.6f})")
