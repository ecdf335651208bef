"""The public API: listed in ``__all__``, documented and typed."""

import importlib
import inspect
import pkgutil

import numpy as np
import pytest
from helpers import run_python

import fastmlp

#: Modules whose public functions and classes users call.
PUBLIC_MODULES = sorted(
    {
        "fastmlp",
        *(
            f"fastmlp.{m.name}"
            for m in pkgutil.iter_modules(fastmlp.__path__)
            if not m.name.startswith("_") and m.name not in ("kernels", "cli", "__main__")
        ),
        *(f"fastmlp.datasets.{m.name}" for m in pkgutil.iter_modules(fastmlp.datasets.__path__)),
        "fastmlp.cli",
    }
)


def public_objects():
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if attr.startswith("_") or getattr(obj, "__module__", None) != name:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{name}.{attr}", obj


def callables(qualname, obj):
    """The function itself, or a class's constructor and public methods."""
    if inspect.isfunction(obj):
        yield qualname, obj
        return
    for attr, member in vars(obj).items():
        if inspect.isfunction(member) and (attr == "__init__" or not attr.startswith("_")):
            yield f"{qualname}.{attr}", member


OBJECTS = dict(public_objects())


def test_all_lists_the_public_api():
    expected = {"MLP", "MLPClassifier", "MLPRegressor", "train", "load", "__version__"}
    expected |= {"softmax_xent_gradcheck"}
    expected |= {"gradients", "loss_and_gradient"}
    expected |= {"SGD", "Adam"}
    assert expected <= set(fastmlp.__all__)
    for name in fastmlp.__all__:
        assert hasattr(fastmlp, name), name
    assert fastmlp.__version__.count(".") >= 1


def test_import_leaves_scikit_learn_to_the_estimator(tmp_path):
    # scikit-learn's import takes about 2 s, longer than a warm default run.
    code = (
        "import sys, fastmlp, fastmlp.cli\n"
        "assert 'sklearn' not in sys.modules, 'imported early'\n"
        "assert {'MLPClassifier', 'MLPRegressor'} <= set(dir(fastmlp))\n"
        "assert fastmlp.MLPClassifier.__module__ == 'fastmlp.estimator'\n"
        "assert fastmlp.MLPRegressor.__module__ == 'fastmlp.estimator'\n"
        "assert 'sklearn' in sys.modules\n"
    )
    run_python(code, tmp_path, timeout=120)
    with pytest.raises(AttributeError, match="no attribute 'MLPClassifer'"):
        fastmlp.MLPClassifer  # noqa: B018


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_process_that_only_imported_fastmlp_loads_an_estimator_file(tmp_path):
    # fastmlp.io holds no import of the estimator (it sits below it): the package
    # registers the estimator's reader, which imports scikit-learn only for such a file.
    from fastmlp.estimator import MLPClassifier, MLPRegressor

    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    clf = MLPClassifier((3,), max_iter=1, random_state=0).fit(X, ["a", "b", "a", "b"])
    reg = MLPRegressor(hidden_layer_sizes=(3,), max_iter=1, random_state=0).fit(
        X, [0.5, 1.0, 1.5, 2.0]
    )
    paths = [clf.save(tmp_path / "clf.npz"), reg.save(tmp_path / "reg.npz")]
    code = f"""
        import sys, fastmlp
        assert 'sklearn' not in sys.modules
        for load in (fastmlp.load, fastmlp.io.load):
            for path in {[str(p) for p in paths]!r}:
                est = load(path)
                classes = getattr(est, "classes_", None)
                classes = None if classes is None else classes.tolist()
                print(type(est).__name__, classes, est.predict([[0.0, 1.0]]).shape)
    """
    out = run_python(code, tmp_path)
    expected = ["MLPClassifier ['a', 'b'] (1,)", "MLPRegressor None (1,)"]
    assert out.splitlines() == expected * 2


@pytest.mark.parametrize("qualname", sorted(OBJECTS))
def test_public_objects_have_docstrings_and_type_hints(qualname):
    obj = OBJECTS[qualname]
    assert inspect.getdoc(obj), f"{qualname} has no docstring"
    for name, func in callables(qualname, obj):
        if name.endswith("__init__"):
            assert inspect.getdoc(func) or inspect.getdoc(obj), name
        else:
            assert func.__doc__, f"{name} has no docstring"
        signature = inspect.signature(func)
        missing = [
            p.name
            for p in signature.parameters.values()
            if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty
        ]
        assert not missing, f"{name}: parameters without type hints: {missing}"
        if not name.endswith("__init__"):
            assert signature.return_annotation is not inspect.Signature.empty, (
                f"{name}: no return type hint"
            )
