import json

import numpy as np

from fastmlp import MLP, History, train


def test_json_round_trip(tmp_path, rng):
    X = rng.normal(size=(30, 4))
    y = rng.integers(0, 2, 30)
    history = train(MLP([4, 3, 2]), X, y, epochs=2, validation=(X[:5], y[:5]))
    path = tmp_path / "history.json"
    text = history.to_json(path)
    assert json.loads(path.read_text()) == json.loads(text) == history.to_dict()
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]
    again = History.from_json(path)
    np.testing.assert_array_equal(again.step_loss, history.step_loss)
    assert again.to_dict() == history.to_dict()
    assert History.from_json(text).val_accuracy == history.val_accuracy


def test_empty_history():
    history = History()
    assert history.epochs == 0
    assert History.from_dict(history.to_dict()).to_dict() == history.to_dict()
