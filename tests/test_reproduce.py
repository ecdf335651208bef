"""The study of ``fastmlp reproduce`` and the accuracy bars its recipes must reach on real data."""

import re

import pytest

from fastmlp.cli import main
from fastmlp.experiments import Config, run
from fastmlp.reproduce import FINAL_EPOCHS, FINAL_SCHEDULE


def test_quick_study_writes_every_figure_and_the_report(mnist_dir, tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["reproduce", "--quick", "--out", str(out), "--data-dir", str(mnist_dir)]) == 0
    report = (out / "report.md").read_text()
    sections = re.findall(r"^## (\d)\. ", report, flags=re.MULTILINE)
    assert sections == [str(i) for i in range(1, 10)]
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert len(images) >= 13
    for name in images:
        assert (out / name).read_bytes()[:4] == b"\x89PNG", name
    assert "sum-normalisation gradient is -99.0" in report
    assert "wrote" in capsys.readouterr().out


def test_mnist_per_sample_one_epoch_reaches_93_percent(mnist_dir):
    config = Config(data="mnist", hidden=(300,), epochs=1, lr=0.01, data_dir=str(mnist_dir))
    result = run(config)
    print(f"MNIST 784-300-10, one epoch: {result.history.val_accuracy[-1]:.2%}")
    assert result.history.val_accuracy[-1] >= 0.93


@pytest.mark.slow
def test_final_recipe_reaches_98_percent_on_the_test_set(mnist_dir):
    config = Config(
        data="mnist",
        hidden=(300,),
        final=True,
        epochs=FINAL_EPOCHS,
        lr_schedule=FINAL_SCHEDULE,
        data_dir=str(mnist_dir),
    )
    history = run(config).history
    print(f"final: {history.val_accuracy[-1]:.2%} test, {sum(history.epoch_time):.1f} s training")
    assert history.val_accuracy[-1] >= 0.98
