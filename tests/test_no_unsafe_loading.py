"""No code path in the library can unpickle: a scan of the source fails the suite if one appears."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "tokvec"
FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "dill", "joblib", "cloudpickle", "shelve",
                     "marshal"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _is_true(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def scan(paths: list[Path]) -> list[str]:
    """Every unpickling import or call in ``paths``, as ``file:line: what``."""
    problems = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]]
            problems += [f"{path}:{node.lineno}: imports {n}" for n in names
                         if n in FORBIDDEN_MODULES]
            if not isinstance(node, ast.Call):
                continue
            name = _dotted(node.func)
            kwargs = {k.arg: k.value for k in node.keywords}
            if name.endswith("torch.load") and not _is_true(kwargs.get("weights_only", ast.Pass())):
                problems.append(f"{path}:{node.lineno}: torch.load without weights_only=True")
            if name in {"numpy.load", "np.load"} and "allow_pickle" in kwargs \
                    and not (isinstance(kwargs["allow_pickle"], ast.Constant)
                             and kwargs["allow_pickle"].value is False):
                problems.append(f"{path}:{node.lineno}: np.load with allow_pickle")
    return problems


def test_library_source_has_no_unsafe_loading():
    problems = scan(sorted(SRC.rglob("*.py")))
    assert not problems, "\n".join(problems)


def test_scanner_catches_planted_violations(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import pickle\nfrom joblib import load\nimport torch, numpy as np\n"
                   "torch.load('m.pt')\ntorch.load('m.pt', weights_only=False)\n"
                   "np.load('x.npy', allow_pickle=True)\n"
                   "torch.load('ok.pt', weights_only=True)\nnp.load('ok.npy')\n")
    problems = scan([bad])
    assert len(problems) == 5, problems
