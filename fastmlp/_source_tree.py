"""Let the source tree run as it stands: find the top-level ``kernels/`` as ``fastmlp.kernels``.

Imported first by ``fastmlp/__init__.py``. It does nothing in an install,
where the kernels are the subpackage ``fastmlp/kernels``.
"""

import importlib.util
import sys
from pathlib import Path


def load_source_tree_kernels():
    """Register the source tree's top-level ``kernels/`` as ``fastmlp.kernels``.

    Installed, the kernels live in ``fastmlp/kernels`` (PyPI's unrelated
    ``kernels`` package owns the top-level name). In the source tree they sit
    beside this folder, and ``python -m fastmlp`` run from the clone's root
    imports this folder first: load the same files under the same name, so
    the source tree runs the code an install does. Nothing else becomes
    importable (``fastmlp.__path__`` is left alone).
    """
    here = Path(__file__).resolve().parent
    init = here.parent / "kernels" / "__init__.py"
    if (here / "kernels").is_dir() or "fastmlp.kernels" in sys.modules or not init.is_file():
        return
    spec = importlib.util.spec_from_file_location(
        "fastmlp.kernels", init, submodule_search_locations=[str(init.parent)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[spec.name]
        raise
    # As the import system does for a subpackage: make it an attribute of its parent.
    sys.modules["fastmlp"].kernels = module


load_source_tree_kernels()
