"""The base install (no extras) draws, augments and writes datasets; the commands that need
an extra say which one, in one line.

A subprocess hides the optional packages behind an import hook that fails as a missing
package does, which is what a `pip install kplate` without extras gives.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HIDE_EXTRAS = """
import importlib.abc, json, sys
HIDDEN = {"torch", "tensorboard", "matplotlib", "lmdb", "onnx", "onnxscript", "onnxruntime",
          "pyarrow", "dask", "distributed"}
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Hide())
from kplate.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in HIDDEN)
print(json.dumps({"code": code, "loaded": loaded}))
"""


def run_without_extras(*argv: str, cwd: Path) -> tuple[dict, str]:
    done = subprocess.run(
        [sys.executable, "-c", HIDE_EXTRAS, *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_generate_with_heavy_augmentation_needs_no_extra(tmp_path: Path) -> None:
    result, _ = run_without_extras(
        "generate",
        "--count",
        "6",
        "--augment",
        "heavy",
        "--height",
        "32",
        "--out",
        "o",
        "--progress",
        "False",
        cwd=tmp_path,
    )
    assert result == {"code": 0, "loaded": []}
    assert len(list((tmp_path / "o" / "images").iterdir())) == 6
    result, _ = run_without_extras("samples", "--out", "s", "--height", "32", cwd=tmp_path)
    assert result == {"code": 0, "loaded": []}


@pytest.mark.parametrize(
    ("argv", "module", "extra"),
    [
        (("train", "--dataroot", "d", "--name", "n"), "torch", "gan"),
        (("generate", "--count", "2", "--height", "32", "--lmdb", "--out", "o"), "lmdb", "lmdb"),
        (("generate", "--count", "2", "--translate", "g.pt", "--out", "o"), "torch", "gan"),
        (("merge", "a", "b", "--lmdb", "--out", "o"), "lmdb", "lmdb"),
        (("generate", "--count", "2", "--format", "parquet", "--out", "o"), "pyarrow", "parquet"),
        (
            ("generate", "--count", "2", "--scheduler", "tcp://127.0.0.1:1", "--out", "o"),
            "distributed",
            "dask",
        ),
        (("translate", "--name", "n", "--input", "i", "--out", "t"), "torch", "gan"),
        (
            ("evaluate", "realism", "--generated", "a", "--real", "b", "--out", "r"),
            "torch",
            "gan",
        ),
    ],
)
def test_a_command_that_needs_an_extra_names_it_in_one_line(
    tmp_path: Path, argv: tuple[str, ...], module: str, extra: str
) -> None:
    result, stderr = run_without_extras(*argv, cwd=tmp_path)
    assert result["code"] == 2
    needing = next(
        (flag for flag in ("--lmdb", "--scheduler") if flag in argv),
        "--format parquet" if "parquet" in argv else "this",
    )
    assert stderr.splitlines() == [
        f"kplate {argv[0]}: error: {needing} needs the '{module}' package: "
        f"pip install 'kplate[{extra}]'"
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_config_with_a_critic_names_the_extra_before_anything_is_written(
    tmp_path: Path,
) -> None:
    """A fitted config's realism critic is a torch CNN: without the extra, generate says
    so in one line and writes nothing."""
    work = tmp_path / "work"
    work.mkdir()
    config = tmp_path / "fitted.yaml"
    config.write_text("preset: light\ncritic: {file: fitted.critic.npz}\n", encoding="utf-8")
    argv = ("generate", "--count", "2", "--augment-config", str(config), "--out", "o")
    result, stderr = run_without_extras(*argv, cwd=work)
    assert result["code"] == 2
    assert stderr.splitlines() == [
        "kplate generate: error: a config with a critic needs the 'torch' package: "
        "pip install 'kplate[gan]'"
    ]
    assert list(work.iterdir()) == []


def test_the_public_api_imports_from_the_package_root_without_optional_packages(
    tmp_path: Path,
) -> None:
    code = (
        HIDE_EXTRAS.split("from kplate.cli import main")[0]
        + "import kplate\n"
        + "from kplate import render_plate, generate, GenerateConfig, build_augmenter\n"
        + "plate = render_plate('12가3456', height=40)\n"
        + "image, entry = next(iter(generate(GenerateConfig(count=1, seed=2, augment='heavy'))))\n"
        + "assert plate.image.shape[0] == 40 and entry['text'] and image.ndim == 3\n"
        + "assert callable(build_augmenter('light'))\n"
        + "assert set(kplate.__all__) >= {'render_plate', 'generate', 'GenerateConfig'}\n"
        + "print(json.dumps({'code': 0, 'loaded': sorted(m for m in sys.modules "
        + "if m.split('.')[0] in HIDDEN)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"code": 0, "loaded": []}


def test_every_public_name_resolves() -> None:
    import kplate

    assert sorted(kplate.__all__) == sorted([*kplate._EXPORTS, "__version__"])
    for name in kplate._EXPORTS:
        assert getattr(kplate, name) is not None


@pytest.mark.slow
def test_a_fresh_base_install_draws_and_augments_without_torch(tmp_path: Path) -> None:
    """`pip install kplate` with no extras, in a new virtual environment: torch is not
    there, `generate --augment heavy` works, and `train` names the extra to install."""
    repo = Path(__file__).resolve().parents[1]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python, kplate = venv / "bin" / "python", venv / "bin" / "kplate"
    install = [str(python), "-m", "pip", "install", "--quiet", "-c", str(repo / "constraints.txt")]
    subprocess.run([*install, str(repo)], check=True, timeout=900, capture_output=True)
    probe = "import importlib.util as u; print([m for m in ('torch', 'lmdb') if u.find_spec(m)])"
    found = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
    argv = ["generate", "--count", "5", "--augment", "heavy", "--height", "32", "--out", "o"]
    done = subprocess.run([str(kplate), *argv], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "o" / "images").iterdir())) == 5
    refused = subprocess.run(
        [str(kplate), "train", "--dataroot", "d", "--name", "n"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "kplate train: error: this needs the 'torch' package: pip install 'kplate[gan]'"
    ]
