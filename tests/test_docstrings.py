"""Validate the numpydoc docstring of every public object, as scikit-learn does.

One test case per public object: the names in ``__all__`` of the public
modules below, plus the public methods and properties that each public class
gets from classes defined in this package. ``numpydoc.validate.validate``
runs on each and the test fails on the codes in ``CHECKED_CODES``.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

PUBLIC_MODULES = (
    "conformal",
    "conformal.calibration",
    "conformal.weights",
    "conformal.online",
    "conformal.batch",
    "conformal.risk",
    "conformal.missing",
    "conformal.aggregation",
    "conformal.metrics",
    "conformal.scores",
    "conformal.datasets",
    "conformal.benchmark",
)

# GL08  the object has no docstring
# PR01  a parameter of the signature is not documented
# PR02  a documented parameter is not in the signature
# PR03  parameters are documented in a different order than the signature
# RT01  a function or method that returns something has no Returns section
#       (numpydoc only checks it for functions and methods, so classes and
#       properties are exempt; ``fit`` returns ``self`` and must say so)
CHECKED_CODES = frozenset({"GL08", "PR01", "PR02", "PR03", "RT01"})


def _import_public_modules():
    modules, failures = [], {}
    for name in PUBLIC_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except Exception as exc:  # a broken module must not hide the others
            failures[name] = f"{type(exc).__name__}: {exc}"
    return modules, failures


def _is_method_like(attr):
    return isinstance(attr, (staticmethod, classmethod, property)) or inspect.isfunction(attr)


def _own_package(cls):
    return cls.__module__.split(".")[0] == "conformal"


def _public_members(cls):
    """Yield ``(name, defining_class, attr)`` for the public methods of ``cls``.

    Only attributes defined on ``cls`` or on a base class of this package are
    kept (scikit-learn's ``get_params`` and the like are sklearn's to document).
    The first definition along the MRO is the one Python resolves to.
    """
    seen = set()
    for klass in cls.__mro__:
        for name, attr in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            if name.startswith("_") or not _own_package(klass) or not _is_method_like(attr):
                continue
            yield name, klass, attr


def _inherits_doc(klass, name):
    """Whether ``name`` overrides a documented attribute of a base of ``klass``."""
    for base in klass.__mro__[1:]:
        attr = vars(base).get(name)
        if attr is not None:
            doc = getattr(attr, "__doc__", None)
            if isinstance(attr, (staticmethod, classmethod)):
                doc = attr.__func__.__doc__
            if doc and doc.strip():
                return True
    return False


def _collect():
    """Return ``(cases, import_failures)``; a case is ``(qualified_name, inherits_doc)``."""
    modules, failures = _import_public_modules()
    cases, seen = [], set()

    def add(qualname, key, inherits_doc=False):
        if key in seen:
            return
        seen.add(key)
        cases.append((qualname, inherits_doc))

    public = []
    for module in modules:
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                # constants (dicts, tuples) carry no docstring of their own
                public.append((f"{module.__name__}.{name}", obj))
    # a method is reported under the public class that defines it, if any
    class_names = {}
    for qualname, obj in public:
        if inspect.isclass(obj):
            class_names.setdefault(obj, qualname)

    for qualname, obj in public:
        add(qualname, id(obj))
        if inspect.isclass(obj):
            for meth, klass, attr in _public_members(obj):
                owner = class_names.get(klass, qualname)
                add(f"{owner}.{meth}", id(attr), _inherits_doc(klass, meth))
    return cases, failures


CASES, IMPORT_FAILURES = _collect()


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_module_imports(module_name):
    if module_name in IMPORT_FAILURES:
        pytest.skip(f"{module_name} fails to import: {IMPORT_FAILURES[module_name]}")


@pytest.mark.parametrize(
    ("qualname", "inherits_doc"), CASES, ids=[qualname for qualname, _ in CASES]
)
def test_docstring(qualname, inherits_doc):
    result = numpydoc_validate.validate(qualname)
    errors = [
        (code, message)
        for code, message in result["errors"]
        if code in CHECKED_CODES and not (code == "GL08" and inherits_doc)
    ]
    if errors:
        where = f"{result['file']}:{result['file_line']}"
        details = "\n".join(f"  {code}: {message}" for code, message in errors)
        pytest.fail(f"{qualname} ({where}) has docstring errors:\n{details}", pytrace=False)
