import io
import os
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import same_color
from matplotlib.figure import Figure

from fastmlp import MLP, plots, reference
from fastmlp.history import History
from fastmlp.reference import normalised_xent_backward


def make_history(epochs=3, steps_per_epoch=100, seed=0):
    rng = np.random.default_rng(seed)
    n = epochs * steps_per_epoch
    return History(
        step_loss=np.linspace(1, 0.1, n) + rng.uniform(0, 0.1, n),
        steps_per_epoch=steps_per_epoch,
        train_loss=list(np.linspace(0.9, 0.2, epochs) + rng.uniform(0, 0.05, epochs)),
        train_accuracy=list(np.linspace(0.5, 0.9, epochs)),
        val_loss=list(np.linspace(1.0, 0.3, epochs) + rng.uniform(0, 0.05, epochs)),
        val_accuracy=list(np.linspace(0.4, 0.8, epochs) + rng.uniform(0, 0.05, epochs)),
        lr=[0.1] * epochs,
        config={"lr": 0.1, "batch_size": 10},
    )


def render(fig):
    """Draw the figure as a PNG in memory: runs layout and drawing, where warnings come from."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    return buffer.getvalue()


def moving_average(x, window):
    return np.lib.stride_tricks.sliding_window_view(x, window).mean(axis=1)


def blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [3.0, 1.0] + [1.0, -2.0]
    return X, (X[:, 0] > 1).astype(np.int64)


def test_step_loss_draws_raw_and_moving_average_with_epoch_boundaries():
    history = make_history()
    fig = plots.step_loss(history)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    raw, smooth = ax.get_lines()
    np.testing.assert_array_equal(raw.get_ydata(), history.step_loss)
    assert raw.get_alpha() == pytest.approx(0.3)
    window = plots.MIN_WINDOW  # 1% of 300 steps is 3, fewer than MIN_WINDOW
    np.testing.assert_array_equal(smooth.get_xdata(), np.arange(window - 1, 300))
    np.testing.assert_allclose(smooth.get_ydata(), moving_average(history.step_loss, window))
    (boundaries,) = ax.collections
    assert [segment[0, 0] for segment in boundaries.get_segments()] == [100, 200]


def test_step_loss_accepts_an_array_and_a_window():
    loss = np.random.default_rng(1).uniform(size=50)
    (ax,) = plots.step_loss(loss, window=10, title="run").axes
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), moving_average(loss, 10))
    assert ax.get_title() == "run"
    assert not ax.collections  # no epochs, so no boundaries
    # Fewer than 100 steps still smooth over MIN_WINDOW steps, not over one.
    smooth = plots.step_loss(loss).axes[0].get_lines()[1]
    assert len(smooth.get_ydata()) == 50 - plots.MIN_WINDOW + 1
    assert smooth.get_label() == f"mean of last {plots.MIN_WINDOW} steps"


@pytest.mark.parametrize(
    ("history", "window", "name"),
    [(np.empty(0), None, "history"), (np.ones((2, 3)), None, "history"), (np.ones(5), 6, "window")],
)
def test_step_loss_rejects_bad_input(history, window, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        plots.step_loss(history, window=window)


def test_epoch_loss_shows_losses_and_accuracy():
    history = make_history(epochs=4)
    fig = plots.epoch_loss(history, title="run")
    loss_ax, accuracy_ax = fig.axes
    train, val = loss_ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(train.get_ydata(), history.train_loss)
    np.testing.assert_array_equal(val.get_ydata(), history.val_loss)
    val_acc, train_acc = accuracy_ax.get_lines()
    np.testing.assert_array_equal(val_acc.get_ydata(), history.val_accuracy)
    np.testing.assert_array_equal(train_acc.get_ydata(), history.train_accuracy)
    assert fig.get_suptitle() == "run"


def test_epoch_loss_without_validation_has_one_panel():
    history = History(train_loss=[0.9, 0.5])
    (ax,) = plots.epoch_loss(history).axes
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), [0.9, 0.5])
    with pytest.raises(ValueError, match=r"^history:"):
        plots.epoch_loss(History())


def band_limits(ax):
    """Per x, the lowest and highest y of the (single) filled band."""
    (band,) = ax.collections
    vertices = band.get_paths()[0].vertices
    xs = np.unique(vertices[:, 0])
    low = [vertices[vertices[:, 0] == x, 1].min() for x in xs]
    high = [vertices[vertices[:, 0] == x, 1].max() for x in xs]
    return xs, np.array(low), np.array(high)


def test_repeat_band_shows_runs_mean_and_std_truncated_to_shortest():
    runs = [make_history(epochs=e, seed=s) for s, e in enumerate([5, 4, 6])]
    fig = plots.repeat_band(runs, key="val_loss", label="mean", ax_title="repeats")
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) == 4  # three runs, then the mean
    curves = np.array([run.val_loss[:4] for run in runs])
    for line, curve in zip(lines, curves):
        np.testing.assert_array_equal(line.get_ydata(), curve)
    np.testing.assert_array_equal(lines[-1].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(lines[-1].get_ydata(), np.mean(curves, axis=0))
    assert lines[-1].get_label() == "mean"
    xs, low, high = band_limits(ax)
    np.testing.assert_array_equal(xs, [1, 2, 3, 4])
    np.testing.assert_allclose(low, curves.mean(axis=0) - curves.std(axis=0))
    np.testing.assert_allclose(high, curves.mean(axis=0) + curves.std(axis=0))
    assert ax.get_title() == "repeats"


def test_repeat_band_accepts_an_object_with_histories_and_step_loss():
    runs = SimpleNamespace(histories=[make_history(seed=s) for s in range(2)])
    (ax,) = plots.repeat_band(runs, key="step_loss").axes
    mean = ax.get_lines()[-1]
    np.testing.assert_array_equal(mean.get_xdata(), np.arange(300))
    expected = np.mean([run.step_loss for run in runs.histories], axis=0)
    np.testing.assert_allclose(mean.get_ydata(), expected)
    assert mean.get_label() == "mean of 2 runs"


def test_repeat_band_rejects_bad_input():
    with pytest.raises(ValueError, match=r"^key:"):
        plots.repeat_band([make_history()], key="loss")
    with pytest.raises(ValueError, match=r"^histories:"):
        plots.repeat_band([])
    with pytest.raises(ValueError, match=r"^histories:"):
        plots.repeat_band([make_history(), History(train_loss=[1.0])])


def test_lr_comparison_shows_mean_curves_and_final_values():
    fast = [make_history(epochs=3, seed=s) for s in range(2)]
    slow = [make_history(epochs=e, seed=10 + e) for e in (2, 3, 3)]
    fig = plots.lr_comparison({0.1: fast, 0.01: SimpleNamespace(histories=slow)})
    curves_ax, final_ax = fig.axes
    slow_mean, fast_mean = curves_ax.get_lines()  # rates in increasing order
    assert slow_mean.get_label() == "lr = 0.01"
    np.testing.assert_allclose(slow_mean.get_ydata(), np.mean([h.val_loss[:2] for h in slow], 0))
    np.testing.assert_allclose(fast_mean.get_ydata(), np.mean([h.val_loss for h in fast], 0))
    assert len(curves_ax.collections) == 2  # one band per rate

    # Each run's own last epoch, even when runs differ in length.
    finals = [[h.val_accuracy[-1] for h in runs] for runs in (slow, fast)]
    (errorbar,) = final_ax.containers
    np.testing.assert_array_equal(errorbar.lines[0].get_xdata(), [0.01, 0.1])
    np.testing.assert_allclose(errorbar.lines[0].get_ydata(), [np.mean(f) for f in finals])
    (bars,) = errorbar.lines[2]
    half_widths = [(segment[1, 1] - segment[0, 1]) / 2 for segment in bars.get_segments()]
    np.testing.assert_allclose(half_widths, [np.std(f) for f in finals])
    assert final_ax.get_xscale() == "log"


def test_lr_comparison_rejects_bad_input():
    with pytest.raises(ValueError, match=r"^results:"):
        plots.lr_comparison({})
    with pytest.raises(ValueError, match=r"^results:"):
        plots.lr_comparison({0.0: [make_history()]})
    with pytest.raises(ValueError, match=r"^final_key:"):
        plots.lr_comparison({0.1: [make_history()]}, final_key="accuracy")


def test_decision_boundary_shades_probability_and_draws_the_half_contour():
    # Logits -2 x1 and 2 x1: P(class 1) > 0.5 exactly where x1 > 0.
    model = MLP([2, 2], dtype="float64")
    model.weights[0][...] = [[-2.0, 2.0], [0.0, 0.0]]
    X, y = blobs()
    X[:, 0] -= 1
    fig = plots.decision_boundary(model, X, y, resolution=101, title="boundary")
    ax, colorbar = fig.axes
    assert colorbar.get_ylabel() == "P(class 1)"
    filled, half, points = ax.collections
    assert filled.levels.min() == 0 and filled.levels.max() == 1
    region = filled.get_datalim(ax.transData)
    assert region.x0 < X[:, 0].min() and region.x1 > X[:, 0].max()
    assert region.y0 < X[:, 1].min() and region.y1 > X[:, 1].max()
    np.testing.assert_array_equal(half.levels, [0.5])
    step = (region.x1 - region.x0) / 100
    np.testing.assert_allclose(half.get_paths()[0].vertices[:, 0], 0, atol=step)
    np.testing.assert_allclose(points.get_offsets(), X)
    np.testing.assert_array_equal(points.get_array(), y)
    assert ax.get_title() == "boundary"


@pytest.mark.parametrize(("sizes", "proba"), [([2, 3, 3], True), ([2, 3, 2], False)])
def test_decision_boundary_shades_classes(sizes, proba):
    X, y = blobs(seed=1)
    y = y % sizes[-1]
    ax, colorbar = plots.decision_boundary(MLP(sizes), X, y, resolution=30, proba=proba).axes
    assert colorbar.get_ylabel() == "predicted class"
    filled = ax.collections[0]
    np.testing.assert_array_equal(filled.levels, np.arange(sizes[-1] + 1) - 0.5)
    region = filled.get_datalim(ax.transData)
    assert region.x0 < X[:, 0].min() and region.x1 > X[:, 0].max()


def test_decision_boundary_subsamples_points_deterministically():
    X, y = blobs(n=5000)

    def drawn():
        fig = plots.decision_boundary(MLP([2, 3, 2]), X, y, resolution=20)
        (points,) = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
        return points.get_offsets()

    first = drawn()
    assert first.shape == (plots.MAX_POINTS, 2)
    np.testing.assert_array_equal(first, drawn())
    assert len(np.unique(first, axis=0)) == plots.MAX_POINTS
    assert np.isin(first[:, 0], X[:, 0]).all()  # drawn at full precision, not the model's


def test_decision_boundary_rejects_a_model_without_two_inputs():
    with pytest.raises(ValueError, match=r"^model:"):
        plots.decision_boundary(MLP([3, 2]), np.zeros((4, 3)), [0, 1, 0, 1])


def titles(fig):
    return [ax.get_title() for ax in fig.axes]


def test_digits_grid_highlights_mistakes():
    images = np.random.default_rng(0).uniform(size=(10, 784))
    y_true = np.arange(10)
    y_pred = y_true.copy()
    y_pred[[2, 7]] = [5, 1]
    fig = plots.digits_grid(images, y_true, y_pred, title="digits")
    assert len(fig.axes) == 10
    assert titles(fig)[:3] == ["pred 0 / true 0", "pred 1 / true 1", "pred 5 / true 2"]
    for i, ax in enumerate(fig.axes):
        wrong = i in (2, 7)
        assert same_color(ax.title.get_color(), "red") == wrong
        assert all(spine.get_visible() == wrong for spine in ax.spines.values())
        if wrong:
            assert same_color(ax.spines["left"].get_edgecolor(), "red")
        np.testing.assert_array_equal(ax.get_images()[0].get_array(), images[i].reshape(28, 28))
    assert fig.get_suptitle() == "digits"


def test_digits_grid_shows_the_first_n_with_mistakes_first():
    images = np.zeros((6, 28, 28))
    y_true = np.array([0, 1, 2, 3, 4, 5])
    y_pred = np.array([0, 1, 9, 3, 9, 5])
    assert titles(plots.digits_grid(images, y_true, y_pred, n=3)) == [
        "pred 0 / true 0",
        "pred 1 / true 1",
        "pred 9 / true 2",
    ]
    assert titles(plots.digits_grid(images, y_true, y_pred, n=3, mistakes_first=True)) == [
        "pred 9 / true 2",
        "pred 9 / true 4",
        "pred 0 / true 0",
    ]


@pytest.mark.parametrize(
    ("images", "labels", "n", "name"),
    [
        (np.zeros((3, 100)), 3, 36, "images"),
        (np.zeros((3, 28, 28)), 2, 36, "y_true"),
        (np.zeros((3, 28, 28)), 3, 0, "n"),
    ],
)
def test_digits_grid_rejects_bad_input(images, labels, n, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        plots.digits_grid(images, np.zeros(labels, int), np.zeros(labels, int), n=n)


def test_confusion_counts_on_a_hand_made_example():
    y_true = [0, 0, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 2, 0, 2]
    counts = plots.confusion_counts(y_true, y_pred)
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert counts.dtype == np.int64
    padded = plots.confusion_counts(y_true, y_pred, n_classes=4)
    np.testing.assert_array_equal(padded[:3, :3], counts)
    assert padded[3].sum() == padded[:, 3].sum() == 0
    with pytest.raises(ValueError, match=r"^y_pred:"):
        plots.confusion_counts([0, 1], [0, 2], n_classes=2)
    with pytest.raises(ValueError, match=r"^y_true, y_pred:"):
        plots.confusion_counts([0, 1], [0])
    with pytest.raises(TypeError, match=r"^y_true:"):
        plots.confusion_counts([0.5, 1], [0, 1])


@pytest.mark.parametrize("normalize", [False, True])
def test_confusion_matrix_annotates_each_cell(normalize):
    y_true = [0, 0, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 2, 0, 2]
    counts = plots.confusion_counts(y_true, y_pred)
    fig = plots.confusion_matrix(y_true, y_pred, normalize=normalize)
    ax, _ = fig.axes
    shown = ax.get_images()[0].get_array()
    expected = counts / counts.sum(axis=1, keepdims=True) if normalize else counts
    np.testing.assert_allclose(shown, expected)
    texts = [[f"{v:.2f}" if normalize else str(v) for v in row] for row in expected]
    assert [t.get_text() for t in ax.texts] == [t for row in texts for t in row]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")


def test_normalised_xent_backward_matches_central_differences():
    rng = np.random.default_rng(3)
    z = rng.uniform(0.1, 2.0, size=5)
    loss, grad = normalised_xent_backward(z, 2)
    assert loss == pytest.approx(-np.log(z[2] / z.sum()))
    eps = 1e-6
    numeric = []
    for j in range(z.size):
        up, down = z.copy(), z.copy()
        up[j] += eps
        down[j] -= eps
        numeric.append(
            (normalised_xent_backward(up, 2)[0] - normalised_xent_backward(down, 2)[0]) / (2 * eps)
        )
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("z", "t", "name"),
    [([1.0, 0.0], 0, "z"), ([1.0, -2.0], 0, "z"), ([1.0, np.nan], 0, "z"), ([1.0, 2.0], 2, "t")],
)
def test_normalised_xent_backward_rejects_bad_input(z, t, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        normalised_xent_backward(z, t)


def test_softmax_gradient_is_bounded_and_normalisation_gradient_is_not():
    (ax,) = plots.softmax_vs_normalisation().axes
    softmax, normalised, *bounds = ax.get_lines()
    z = softmax.get_xdata()
    assert z[0] == pytest.approx(0.01)
    assert np.all(np.abs(softmax.get_ydata()) <= 1)
    assert abs(normalised.get_ydata()[0]) > 10
    Z = np.column_stack([z, np.ones_like(z)])
    np.testing.assert_allclose(softmax.get_ydata(), reference.softmax(Z)[:, 0] - 1)
    np.testing.assert_allclose(normalised.get_ydata(), 1 / (z + 1) - 1 / z)
    assert sorted(line.get_ydata()[0] for line in bounds) == [-1, 1]


def test_softmax_vs_normalisation_takes_outputs_and_target():
    outputs = np.array([0.5, 1.0, 2.0])
    softmax, normalised, *_ = plots.softmax_vs_normalisation(outputs, target=1).axes[0].get_lines()
    Z = np.column_stack([np.ones(3), outputs])
    np.testing.assert_allclose(softmax.get_ydata(), reference.softmax(Z)[:, 1] - 1)
    np.testing.assert_allclose(normalised.get_ydata(), 1 / (outputs + 1) - 1 / outputs)
    with pytest.raises(ValueError, match=r"^outputs:"):
        plots.softmax_vs_normalisation([0.0, 1.0])
    with pytest.raises(ValueError, match=r"^target:"):
        plots.softmax_vs_normalisation(target=2)


EVERY_PLOT = {
    "step_loss": lambda: plots.step_loss(make_history()),
    "epoch_loss": lambda: plots.epoch_loss(make_history()),
    "repeat_band": lambda: plots.repeat_band([make_history(seed=s) for s in range(3)]),
    "lr_comparison": lambda: plots.lr_comparison({0.1: [make_history()], 1.0: [make_history()]}),
    "decision_boundary": lambda: plots.decision_boundary(MLP([2, 3, 2]), *blobs(), resolution=30),
    "digits_grid": lambda: plots.digits_grid(np.zeros((12, 784)), np.arange(12) % 10, np.zeros(12)),
    "confusion_matrix": lambda: plots.confusion_matrix(np.arange(50) % 10, np.arange(50) % 7),
    "softmax_vs_normalisation": plots.softmax_vs_normalisation,
}


@pytest.mark.parametrize("name", EVERY_PLOT)
def test_every_plot_renders_headless(name):
    assert render(EVERY_PLOT[name]()).startswith(b"\x89PNG")


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_save_writes_the_file_atomically(tmp_path, suffix, magic):
    path = tmp_path / f"loss{suffix}"
    assert plots.save(plots.step_loss(make_history()), path) == path
    assert path.read_bytes().startswith(magic)
    assert os.listdir(tmp_path) == [path.name]


def test_save_leaves_nothing_behind_on_failure(tmp_path):
    fig = plots.step_loss(make_history())
    with pytest.raises(ValueError, match=r"^path:"):
        plots.save(fig, tmp_path / "loss")
    with pytest.raises(ValueError, match="not supported"):
        plots.save(fig, tmp_path / "loss.nope")
    assert os.listdir(tmp_path) == []


# --- The figures tell the truth (issue 13) ---


def visible_ticks(axis):
    low, high = sorted(axis.get_view_interval())
    return [tick for tick in axis.get_ticklocs() if low <= tick <= high]


def one_epoch_figures():
    one = [make_history(epochs=1, seed=s) for s in range(2)]
    return {
        "epoch_loss": plots.epoch_loss(one[0]).axes,
        "repeat_band": plots.repeat_band(one).axes,
        "lr_comparison": plots.lr_comparison({0.01: one, 0.1: one}).axes[:1],
    }


@pytest.mark.parametrize("name", ["epoch_loss", "repeat_band", "lr_comparison"])
def test_one_epoch_curves_have_markers_and_integer_epoch_ticks(name):
    for ax in one_epoch_figures()[name]:
        render(ax.figure)  # ticks are placed at drawing time
        curves = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
        assert curves, "no one-epoch curve drawn"
        for line in curves:
            assert line.get_marker() not in ("None", None, "", " ")
            assert line.get_markersize() >= 3
        assert visible_ticks(ax.xaxis) == [1.0]
        assert ax.get_xlabel() == "epoch"


def test_epoch_ticks_are_integers_over_several_epochs():
    (ax, _) = plots.epoch_loss(make_history(epochs=7)).axes
    render(ax.figure)
    ticks = visible_ticks(ax.xaxis)
    assert ticks and all(float(t).is_integer() for t in ticks)
    assert min(ticks) >= 1 and max(ticks) <= 7


def test_step_loss_y_axis_ignores_rare_spikes_but_keeps_the_average():
    loss = np.full(1000, 0.5) + np.random.default_rng(0).uniform(0, 0.2, 1000)
    loss[[100, 500, 900]] = 16.0  # three spikes, as a diverging step makes
    (ax,) = plots.step_loss(loss).axes
    _, smooth = ax.get_lines()
    low, high = ax.get_ylim()
    assert high < 3  # the spikes run off the top
    assert low <= smooth.get_ydata().min() and smooth.get_ydata().max() <= high
    assert low <= np.percentile(loss, 1) and np.percentile(loss, 99) <= high


def test_step_loss_names_a_real_moving_average():
    (ax,) = plots.step_loss(np.linspace(1, 0, 40)).axes
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["per step", "mean of last 10 steps"]
    # A window of one step averages nothing: only the raw trace is drawn.
    (ax,) = plots.step_loss(np.linspace(1, 0, 40), window=1).axes
    assert [line.get_label() for line in ax.get_lines()] == ["per step"]
    assert ax.get_lines()[0].get_alpha() == pytest.approx(0.3)


def test_epoch_loss_keeps_one_colour_per_series_in_both_panels():
    loss_ax, accuracy_ax = plots.epoch_loss(make_history(epochs=4)).axes
    colours = {}
    for ax in (loss_ax, accuracy_ax):
        for line in ax.get_lines():
            series = line.get_label().split()[0]  # "training" or "validation"
            colours.setdefault(series, []).append(line.get_color())
    assert sorted(colours) == ["training", "validation"]
    for series, seen in colours.items():
        assert len(seen) == 2 and same_color(seen[0], seen[1]), series
    assert not same_color(colours["training"][0], colours["validation"][0])


@pytest.mark.parametrize("name", EVERY_PLOT)
def test_every_plot_has_a_title(name):
    fig = EVERY_PLOT[name]()
    titled = fig.get_suptitle() or all(
        ax.get_title() for ax in fig.axes if ax.get_label() != "<colorbar>"
    )
    assert titled, name


def test_held_out_names_the_test_set_on_every_axis():
    runs = [make_history(epochs=3, seed=s) for s in range(2)]
    assert plots.curve_label("val_accuracy", "test") == "test accuracy"
    assert plots.curve_label("train_loss", "test") == "training loss"
    figures = [
        plots.epoch_loss(runs[0], held_out="test"),
        plots.repeat_band(runs, key="val_accuracy", held_out="test"),
        plots.lr_comparison({0.1: runs}, held_out="test"),
    ]
    for fig in figures:
        texts = [fig.get_suptitle()]
        for ax in fig.axes:
            texts += [ax.get_ylabel(), ax.get_title()]
            texts += [line.get_label() for line in ax.get_lines()]
        assert not any("validation" in text for text in texts), texts
        assert any("test" in text for text in texts), texts


def test_softmax_plot_axis_has_no_kink():
    (ax,) = plots.softmax_vs_normalisation().axes
    transform = ax.yaxis.get_transform()
    for y in (-1.0, 1.0):  # where symlog's linear and log parts met
        eps = 1e-4
        left, mid, right = transform.transform([y - eps, y, y + eps])
        assert (mid - left) / eps == pytest.approx((right - mid) / eps, rel=1e-3)


def test_decision_boundary_draws_each_first_layer_unit_line():
    model = MLP([2, 3, 3, 2], activation="relu", seed=4)
    X, y = blobs()
    ax, _ = plots.decision_boundary(model, X, y, resolution=30, first_layer=True).axes
    lines = ax.get_lines()
    assert len(lines) == 3
    W, b = np.asarray(model.weights[0], np.float64), np.asarray(model.biases[0], np.float64)
    for j, line in enumerate(lines):
        points = line.get_xydata()
        np.testing.assert_allclose(points @ W[:, j] + b[j], 0, atol=1e-9)
        assert line.get_linestyle() == "--"
    assert "first layer" in ax.get_legend().get_texts()[0].get_text()
    # The lines do not widen the view beyond the grid.
    assert ax.get_xlim() == pytest.approx(
        (X[:, 0].min() - 0.1 * np.ptp(X[:, 0]), X[:, 0].max() + 0.1 * np.ptp(X[:, 0]))
    )
    ax, _ = plots.decision_boundary(model, X, y, resolution=30).axes
    assert not ax.get_lines()  # off by default
