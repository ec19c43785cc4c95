"""The type stubs editors read match what the package has at run time."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import switchboard
from switchboard import _native

PACKAGE = Path(switchboard.__file__).parent


def stub_names(name: str) -> dict:
    tree = ast.parse((PACKAGE / name).read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out[node.name] = node
    return out


def test_the_native_stub_names_every_function_and_class_with_its_parameters():
    stubs = stub_names("_native.pyi")
    public = {n for n in dir(_native) if not n.startswith("_")}
    assert set(stubs) == public
    for name in public:
        obj = getattr(_native, name)
        if inspect.isbuiltin(obj):
            runtime = list(inspect.signature(obj).parameters)
            declared = [a.arg for a in stubs[name].args.args]
            assert runtime == declared, name
        else:
            declared = {n.name for n in stubs[name].body if isinstance(n, ast.FunctionDef)}
            runtime = {n for n in dir(obj) if not n.startswith("_")}
            assert runtime <= declared, (name, runtime - declared)


def test_the_exceptions_stub_declares_every_class():
    stubs = stub_names("exceptions.pyi")
    for name in switchboard.exceptions._LAZY + ("SwitchboardError", "BudgetExceededError"):
        assert name in stubs, name
        assert isinstance(getattr(switchboard, name), type)


def test_the_package_is_marked_typed():
    assert (PACKAGE / "py.typed").exists()
