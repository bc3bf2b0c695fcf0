"""The lint rules that forbid pickle, eval and exec really catch them; no unpickling in src."""

import ast
import shutil
import subprocess
from pathlib import Path

import pytest
from public_api_usage import fit_save_load_predict

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = {
    "TID251": "import pickle\n",
    "S301": "import pickle\npickle.loads(b'')\n",
    "S302": "import marshal\nmarshal.loads(b'')\n",
    "S307": "eval('1 + 1')\n",
    "S102": "exec('x = 1')\n",
    "S506": "import yaml\nyaml.load('a: 1')\n",
}


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
@pytest.mark.parametrize("code", sorted(FORBIDDEN))
def test_ruff_configuration_forbids(tmp_path, code):
    module = tmp_path / "module.py"
    module.write_text(FORBIDDEN[code])
    result = subprocess.run(
        [
            "ruff",
            "check",
            "--no-cache",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--output-format",
            "concise",
            str(module),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert code in result.stdout


def _numpy_load_calls(tree):
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "load"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("np", "numpy")
        ):
            yield node


def test_numpy_files_are_never_read_with_pickles_allowed():
    """np.load unpickles object arrays unless told not to: every call must say so."""
    for path in (ROOT / "src" / "gaussmix").rglob("*.py"):
        for call in _numpy_load_calls(ast.parse(path.read_text(encoding="utf-8"))):
            options = {k.arg: k.value for k in call.keywords}
            allow = options.get("allow_pickle")
            assert isinstance(allow, ast.Constant) and allow.value is False, (
                f"{path}:{call.lineno}: np.load without allow_pickle=False"
            )


def test_the_type_checked_usage_script_runs():
    labels = fit_save_load_predict()
    assert labels.shape == (100,)
