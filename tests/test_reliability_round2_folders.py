"""Issue #13, failures 1 and 5 and the output-folder weak spots: `--overwrite` removes only
what an earlier run of the same command wrote; an output overlapping an input is refused by
every command; dataset, train and evaluate outputs are locked like generate's; refused runs
leave nothing behind (no lock file, no empty folder, no `.building` copy); an unfinished
generate output is refused as an input; every file follows the user's umask.

Concurrent runs are real subprocesses that stop themselves (SIGSTOP) at an exact point, so
the overlap with the second run is certain and no timing is involved.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from helpers import TINY_TRAIN as TRAIN
from helpers import TRAIN_STARTUP as STARTUP
from helpers import one_error_line, tree_bytes
from killpoint import KILLPOINT
from kplate.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from test_dataset import make_image, make_plain
from test_gan_train import make_dataroot
from test_translate import make_model

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
ENV["PYTHONWARNINGS"] = "ignore"
GEN = ["--height", "32", "--progress", "False"]
APART = "choose an output folder apart from every input"


def snapshot(root: Path) -> dict[str, object]:
    """Everything under `root`, hidden files and links included: what a refused command
    must leave exactly as it was."""
    found: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            found[rel] = "dir"
        else:
            found[rel] = path.read_bytes()
    return found


def generate(out: Path, count: int = 4, *extra: str) -> Path:
    assert main(["generate", "--count", str(count), "--seed", "1", *GEN, "--out", str(out),
                 *extra]) == 0  # fmt: skip
    return out


def photos_folder(root: Path) -> Path:
    """A user's folder: photos, their own labels.csv, a sub-folder with notes."""
    root.mkdir(parents=True)
    for index in range(2):
        make_image(root / f"IMG_000{index}.jpg", 40 + index)
    make_image(root / "images" / "IMG_0100.jpg", 50)
    (root / "labels.csv").write_text("file,text\nIMG_0000.jpg,12가3456\n", encoding="utf-8")
    (root / "notes").mkdir()
    (root / "notes" / "todo.txt").write_text("label the rest", encoding="utf-8")
    return root


def stop_at(argv: list[str], target: str, at: int) -> subprocess.Popen:
    """`kplate ARGV` in a subprocess that stops itself (SIGSTOP) right before the `at`-th
    call of `target`; returns once it has stopped."""
    spec = {"target": target, "at": at, "after": False, "signal": "SIGSTOP"}
    process = subprocess.Popen([sys.executable, "-c", KILLPOINT, json.dumps(spec), *argv],
                               env=ENV, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)  # fmt: skip
    _, status = os.waitpid(process.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), "the first run did not stop where intended"
    return process


def finish(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGCONT)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()[-2000:]


def kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("generated") / "out", 6)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return make_model(tmp_path_factory.mktemp("model") / "checkpoints")


def translate_args(model: Path, source: Path, out: Path, *extra: str) -> list[str]:
    return ["translate", "--checkpoint", str(model), "--input", str(source), "--out", str(out),
            "--device", "cpu", "--batch-size", "4", *extra]  # fmt: skip


# -- failure 1: --overwrite removes only what the same command wrote -----------------------


@pytest.mark.parametrize("overwrite", [False, True])
def test_generate_into_the_users_photos_and_labels_is_refused_and_they_survive(
    tmp_path: Path, capsys, overwrite: bool
) -> None:
    """The issue's case: `kplate generate --out DIR --overwrite` on a folder of the user's
    photos and labels.csv deleted them. Now refused, with or without --overwrite, with no
    advice to pass --overwrite, and nothing written (not even a lock file)."""
    folder = photos_folder(tmp_path / "photos")
    before = snapshot(folder)
    argv = ["generate", "--count", "3", *GEN, "--out", str(folder)]
    assert main([*argv, "--overwrite"] if overwrite else argv) == 2
    line = one_error_line(capsys, "generate")
    assert "IMG_0000.jpg" in line and "which kplate did not write" in line
    assert "--overwrite" not in line
    assert snapshot(folder) == before


def test_generate_overwrite_keeps_what_the_user_added_to_a_kplate_output(
    tmp_path: Path, capsys
) -> None:
    out = generate(tmp_path / "out")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    make_image(out / "images" / "holiday.jpg", 7)
    before = snapshot(out)
    assert main(["generate", "--count", "5", *GEN, "--out", str(out), "--overwrite"]) == 2
    line = one_error_line(capsys, "generate")
    assert "images/holiday.jpg" in line and "notes.txt" in line and "--overwrite" not in line
    assert snapshot(out) == before


def test_generate_overwrite_replaces_exactly_the_earlier_runs_files(tmp_path: Path) -> None:
    """An earlier run with other names (label names, type folders) is replaced by the new
    one, and the folder then equals a fresh run's, file for file."""
    out = generate(tmp_path / "out", 6, "--filenames", "label", "--format", "png")
    (out / "summary.json").unlink()  # an earlier run that was killed before its end
    (out / "images" / ".000009.png.tmp").write_bytes(b"torn")
    generate(out, 3, "--overwrite")
    fresh = generate(tmp_path / "fresh", 3)
    assert snapshot(out).keys() == snapshot(fresh).keys()
    assert tree_bytes(out) == tree_bytes(fresh)


def test_overwrite_never_crosses_commands(tmp_path: Path, generated: Path, model: Path, capsys):
    """run.json records the command: generate --overwrite does not replace a translate
    output, nor translate a generate output; a run.json written before the command was
    recorded is recognised by its keys."""
    translated = tmp_path / "translated"
    assert main(translate_args(model, generated, translated)) == 0
    mine = generate(tmp_path / "mine", 3)
    for legacy in (False, True):
        if legacy:
            for folder in (translated, mine):
                record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
                del record["command"]
                (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")
        capsys.readouterr()
        before = snapshot(translated)
        assert main(["generate", "--count", "2", *GEN, "--out", str(translated),
                     "--overwrite"]) == 2  # fmt: skip
        line = one_error_line(capsys, "generate")
        assert "holds a kplate translate output" in line and "--overwrite" not in line
        assert snapshot(translated) == before
        before = snapshot(mine)
        assert main(translate_args(model, generated, mine, "--overwrite")) == 2
        line = one_error_line(capsys, "translate")
        assert "holds a kplate generate output" in line and "--overwrite" not in line
        assert snapshot(mine) == before


@pytest.mark.parametrize("where", ["same", "inside", "around"])
def test_translate_input_as_out_is_refused_and_the_input_is_intact(
    tmp_path: Path, model: Path, capsys, where: str
) -> None:
    """The issue's case `kplate translate --input D --out D --overwrite` deleted its own
    input, then failed; an --out inside or around D is refused the same way."""
    source = generate(tmp_path / "data" / "D")
    out = {"same": source, "inside": source / "translated", "around": source.parent}[where]
    before = snapshot(tmp_path / "data")
    assert main(translate_args(model, source, out, "--overwrite")) == 2
    assert APART in one_error_line(capsys, "translate")
    assert snapshot(tmp_path / "data") == before


def _build(synthetic: Path, real: Path, out: Path, *extra: str) -> int:
    return main(["dataset", "--synthetic", str(synthetic), "--real", str(real), "--out",
                 str(out), *extra])  # fmt: skip


def test_dataset_into_the_dataroot_its_inputs_lie_in_is_refused(
    tmp_path: Path, generated: Path, capsys
) -> None:
    """The issue's case: `kplate dataset --synthetic R/trainA --real R/trainB --out R
    --overwrite --mode link` deleted the dataroot and left links into itself, exit 0."""
    real = make_plain(tmp_path / "real", 6)
    root = tmp_path / "R"
    assert _build(generated, real, root) == 0
    before, listing = snapshot(root), sorted(os.listdir(tmp_path))
    capsys.readouterr()
    assert _build(root / "trainA", root / "trainB", root, "--overwrite", "--mode", "link") == 2
    assert APART in one_error_line(capsys, "dataset")
    assert snapshot(root) == before and sorted(os.listdir(tmp_path)) == listing


def test_dataset_overwrite_removes_only_what_dataset_json_lists(
    tmp_path: Path, generated: Path, capsys
) -> None:
    real = make_plain(tmp_path / "real", 6)
    root = tmp_path / "R"
    assert _build(generated, real, root) == 0
    (root / "notes.txt").write_text("mine", encoding="utf-8")
    make_image(root / "trainB" / "extra.jpg", 99)
    before = snapshot(root)
    capsys.readouterr()
    assert _build(generated, real, root, "--seed", "5", "--overwrite") == 2
    line = one_error_line(capsys, "dataset")
    assert "notes.txt" in line and "trainB/extra.jpg" in line and "--overwrite" not in line
    assert snapshot(root) == before
    (root / "notes.txt").unlink()
    (root / "trainB" / "extra.jpg").unlink()
    assert _build(generated, real, root, "--seed", "5", "--overwrite") == 0
    fresh = tmp_path / "fresh"
    assert _build(generated, real, fresh, "--seed", "5") == 0
    assert snapshot(root).keys() == snapshot(fresh).keys()
    assert sorted(os.listdir(tmp_path)) == ["R", "fresh", "real"]


def _overlap_cases(tmp: Path, generated: Path, model: Path) -> dict[str, list[str]]:
    """For each command that writes, an --out that is, lies inside or contains an input."""
    plates = tmp / "plates"
    plates.mkdir()
    (plates / "plates.csv").write_text("plate\n12가3456\n", encoding="utf-8")
    glyphs = tmp / "glyphs"
    (glyphs / "digits").mkdir(parents=True)
    fonts = tmp / "fonts"
    fonts.mkdir()
    (fonts / "plate.ttf").write_bytes(b"not really a font")
    config = tmp / "configs" / "aug.yaml"
    config.parent.mkdir()
    config.write_text("preset: light\n", encoding="utf-8")
    real = make_plain(tmp / "real", 6)
    dataroot = make_dataroot(tmp / "dataroot")
    shutil.copytree(dataroot / "trainA", dataroot / "testA")
    checkpoint = str(model)
    run_dir = str(model.parent)
    g = ["generate", "--count", "2", *GEN]
    rec = ["evaluate", "recognition", "--steps", "1", "--test", str(generated)]
    return {
        "generate --csv": [*g[:1], *GEN, "--csv", str(plates / "plates.csv"), "--out", str(plates)],
        "generate --glyph-dir": [*g, "--glyph-dir", str(glyphs), "--out", str(glyphs / "out")],
        "generate --font": [*g, "--font", str(fonts / "plate.ttf"), "--out", str(fonts)],
        "generate --augment-config": [*g, "--augment-config", str(config), "--out", str(tmp)],
        "generate --translate": [*g, "--translate", checkpoint, "--out", run_dir],
        "translate --input": translate_args(model, generated, generated / "t"),
        "dataset --synthetic": [
            "dataset",
            "--synthetic",
            str(generated),
            "--real",
            str(real),
            "--out",
            str(generated / "root"),
        ],
        "dataset --real": [
            "dataset",
            "--synthetic",
            str(generated),
            "--real",
            str(real),
            "--out",
            str(tmp),
        ],
        "train --dataroot": [
            "train",
            "--dataroot",
            str(dataroot),
            "--name",
            "run",
            "--checkpoints-dir",
            str(dataroot / "checkpoints"),
            *TRAIN,
        ],
        "evaluate recognition": [*rec, "--train", str(generated), "--out", str(generated / "r")],
        "evaluate realism": [
            "evaluate",
            "realism",
            "--steps",
            "1",
            "--generated",
            str(generated),
            "--real",
            str(real),
            "--out",
            str(real),
        ],
        "evaluate preservation": [
            "evaluate",
            "preservation",
            "--steps",
            "1",
            "--source",
            str(generated),
            "--translated",
            str(generated),
            "--out",
            str(generated.parent),
        ],
        "samples": ["samples", "--glyph-dir", str(glyphs), "--out", str(glyphs)],
        "preview": [
            "preview",
            "--count",
            "1",
            "--real",
            str(real),
            "--out",
            str(real / "sheet.png"),
        ],
        "test": [
            "test",
            "--dataroot",
            str(dataroot),
            "--name",
            model.parent.name,
            "--checkpoints_dir",
            str(model.parent.parent),
            "--results_dir",
            str(dataroot / "results"),
            "--gpu_ids",
            "-1",
        ],
        "export": ["export", "--checkpoint", checkpoint, "--out", checkpoint],
    }


@pytest.mark.parametrize(
    "case",
    ["generate --csv", "generate --glyph-dir", "generate --font", "generate --augment-config",
     "generate --translate", "translate --input", "dataset --synthetic", "dataset --real",
     "train --dataroot", "evaluate recognition", "evaluate realism", "evaluate preservation",
     "samples", "preview", "test", "export"],
)  # fmt: skip
def test_every_command_refuses_an_out_that_overlaps_an_input(
    tmp_path_factory, generated: Path, model: Path, capsys, one_thread, case: str
) -> None:
    tmp = tmp_path_factory.mktemp("overlap")
    # The shared fixtures are copied, so that a command that wrongly writes cannot spoil
    # the other cases.
    source = Path(shutil.copytree(generated, tmp / "generated"))
    checkpoint = Path(shutil.copytree(model.parent.parent, tmp / "checkpoints"))
    argv = _overlap_cases(tmp, source, checkpoint / model.parent.name / model.name)[case]
    before = snapshot(tmp)
    capsys.readouterr()
    assert main(argv) == 2
    line = one_error_line(capsys, argv[0], ignore=STARTUP)
    assert APART in line
    assert snapshot(tmp) == before


# -- failure 5: the same lock for dataset, train and evaluate --------------------------------


def test_a_second_dataset_build_into_one_out_is_refused(
    tmp_path: Path, generated: Path, capsys
) -> None:
    """Two builds into one --out both reported success before. The first stops itself in
    the middle of its build; the second is refused and writes nothing; the first then
    finishes, and its dataroot is there with no leftovers beside it."""
    real = make_plain(tmp_path / "real", 6)
    root = tmp_path / "R"
    argv = ["dataset", "--synthetic", str(generated), "--real", str(real), "--out", str(root)]
    first = stop_at(argv, "kplate.dataset.build.decode", 4)
    try:
        before = snapshot(tmp_path)
        assert main([*argv, "--seed", "2"]) == 2
        assert "another kplate process is writing here" in one_error_line(capsys, "dataset")
        assert snapshot(tmp_path) == before
        finish(first)
    finally:
        if first.poll() is None:
            kill_group(first)
    assert sorted(os.listdir(tmp_path)) == ["R", "real"]
    assert json.loads((root / "dataset.json").read_text(encoding="utf-8"))["options"]["seed"] == 0


def test_train_runs_on_one_name_are_refused_while_one_is_training(
    tmp_path: Path, capsys, one_thread
) -> None:
    """`--mode cut` and `--mode fastcut` on one --name both succeeded, and a `--resume`
    started while the first was training lost its steps from train.jsonl. The first run
    stops itself right before its step-4 save (the step-2 checkpoint is on disk, or, for
    the second mode, before its first save); the others are refused; the first finishes
    with one log line per step."""
    dataroot = make_dataroot(tmp_path / "dataroot")
    checkpoints = tmp_path / "checkpoints"
    argv = ["train", "--dataroot", str(dataroot), "--name", "run", "--checkpoints-dir",
            str(checkpoints), *TRAIN]  # fmt: skip
    run = checkpoints / "run"
    for at, second in ((1, [*argv, "--mode", "fastcut"]), (2, [*argv, "--resume"])):
        shutil.rmtree(checkpoints, ignore_errors=True)
        first = stop_at(argv, "kplate.gan.train.save_checkpoint", at)
        try:
            before = snapshot(run)
            assert main(second) == 2
            line = one_error_line(capsys, "train", ignore=STARTUP)
            assert "another kplate process is writing here" in line
            assert snapshot(run) == before
            finish(first)
        finally:
            if first.poll() is None:
                kill_group(first)
        steps = [json.loads(x)["step"] for x in (run / "train.jsonl").read_text().splitlines()]
        assert steps == [1, 2, 3, 4]


def test_evaluate_refuses_a_report_folder_another_process_is_writing(
    tmp_path: Path, generated: Path, capsys
) -> None:
    from kplate.io.lock import DirectoryLock

    real = make_plain(tmp_path / "real", 6)
    report = tmp_path / "report"
    report.mkdir()
    with DirectoryLock(report):
        assert main(["evaluate", "realism", "--steps", "1", "--generated", str(generated),
                     "--real", str(real), "--out", str(report)]) == 2  # fmt: skip
        assert "another kplate process is writing here" in one_error_line(capsys, "evaluate")
        assert [p.name for p in report.iterdir()] == [".kplate.lock"]


# -- weak spots: nothing left behind, clear lines, unfinished inputs, permissions --------------


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "--count", "2", *GEN, "--out", ""],
        ["dataset", "--synthetic", "S", "--real", "R", "--out", ""],
        ["evaluate", "realism", "--generated", "S", "--real", "R", "--out", ""],
        ["samples", "--out", ""],
        ["preview", "--out", ""],
    ],
    ids=lambda argv: argv[0],
)
def test_an_empty_out_is_refused_and_the_working_directory_untouched(
    tmp_path: Path, monkeypatch, capsys, argv: list[str]
) -> None:
    """`--out ''` meant the working directory (a `.kplate.lock` was left there)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.txt").write_text("x", encoding="utf-8")
    assert main(argv) == 2
    assert "--out: empty" in one_error_line(capsys, argv[0])
    assert sorted(os.listdir(tmp_path)) == ["mine.txt"]


def test_an_empty_translate_out_is_refused(tmp_path: Path, generated: Path, model, monkeypatch,
                                           capsys) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    argv = ["translate", "--checkpoint", str(model), "--input", str(generated), "--out", ""]
    assert main(argv) == 2
    assert "--out: empty" in one_error_line(capsys, "translate")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("command", ["generate", "dataset", "evaluate", "samples"])
def test_a_dangling_symlink_out_is_one_clear_line(
    tmp_path: Path, generated: Path, capsys, command: str
) -> None:
    """It said "File exists"."""
    out = tmp_path / "out"
    os.symlink(tmp_path / "gone", out)
    real = make_plain(tmp_path / "real", 6)
    argv = {
        "generate": ["generate", "--count", "2", *GEN, "--out", str(out)],
        "dataset": [
            "dataset",
            "--synthetic",
            str(generated),
            "--real",
            str(real),
            "--out",
            str(out),
        ],
        "evaluate": [
            "evaluate",
            "realism",
            "--steps",
            "1",
            "--generated",
            str(generated),
            "--real",
            str(real),
            "--out",
            str(out),
        ],
        "samples": ["samples", "--out", str(out)],
    }[command]
    assert main(argv) == 2
    line = one_error_line(capsys, command)
    assert f"a symbolic link to {tmp_path / 'gone'}, which does not exist" in line
    assert out.is_symlink() and sorted(os.listdir(tmp_path)) == ["out", "real"]


def test_refused_realism_and_samples_leave_no_empty_folder(
    tmp_path: Path, generated: Path, capsys
) -> None:
    """A report refused after its inputs were read (too few images) and samples at a height
    that cannot be drawn left an empty folder."""
    few = tmp_path / "few"
    few.mkdir()
    for index in range(2):
        make_image(few / f"{index}.jpg", index)
    report = tmp_path / "report"
    assert main(["evaluate", "realism", "--steps", "1", "--generated", str(generated),
                 "--real", str(few), "--out", str(report)]) == 2  # fmt: skip
    assert "at least 4" in one_error_line(capsys, "evaluate")
    assert main(["samples", "--height", "1", "--out", str(tmp_path / "samples")]) == 2
    one_error_line(capsys, "samples")
    assert sorted(os.listdir(tmp_path)) == ["few"]


def test_a_killed_dataset_build_leaves_nothing_after_the_next_run(
    tmp_path: Path, generated: Path
) -> None:
    """kill -9 in the middle of a build left its `.R.building-*` copy forever; a kill
    between the two renames of an --overwrite left the old dataroot beside a missing R.
    The next run cleans what those builds owned (and puts the old dataroot back)."""
    real = make_plain(tmp_path / "real", 6)
    root = tmp_path / "R"
    argv = ["dataset", "--synthetic", str(generated), "--real", str(real), "--out", str(root)]
    spec = {"target": "kplate.dataset.build.decode", "at": 5, "after": False}
    process = subprocess.run([sys.executable, "-c", KILLPOINT, json.dumps(spec), *argv],
                             env=ENV, capture_output=True, timeout=300)  # fmt: skip
    assert process.returncode == -signal.SIGKILL
    assert any(name.startswith(".R.building-") for name in os.listdir(tmp_path))
    assert main(argv) == 0
    assert sorted(os.listdir(tmp_path)) == ["R", "real"]
    # killed after the old dataroot was moved aside, before the new one took its place
    before = snapshot(root)
    aside = tmp_path / ".R.old-k1ll3d"
    aside.mkdir()
    os.replace(root, aside / "dataroot")
    assert main(argv) == 0
    assert sorted(os.listdir(tmp_path)) == ["R", "real"] and snapshot(root) == before


def test_an_unfinished_generate_output_is_refused_as_an_input(
    tmp_path: Path, model: Path, capsys
) -> None:
    """A generate output killed before its end (no summary.json) was taken by translate,
    dataset and evaluate without a word."""
    source = generate(tmp_path / "gen", 6)
    (source / "summary.json").unlink()
    real = make_plain(tmp_path / "real", 6)
    before = snapshot(tmp_path)
    for argv in (
        translate_args(model, source, tmp_path / "t"),
        ["dataset", "--synthetic", str(source), "--real", str(real), "--out", str(tmp_path / "d")],
        [
            "evaluate",
            "recognition",
            "--steps",
            "1",
            "--train",
            str(source),
            "--test",
            str(source),
            "--out",
            str(tmp_path / "r"),
        ],
    ):
        assert main(argv) == 2
        line = one_error_line(capsys, argv[0])
        assert f"{source}: an unfinished kplate generate output (no summary.json)" in line
        assert "re-running the same kplate generate command" in line
        assert snapshot(tmp_path) == before


def test_every_output_follows_the_umask(tmp_path: Path, generated: Path, model: Path) -> None:
    """labels.csv, gt.txt, run.json, summary.json, dataset.json and generator.pt were 0600
    (mkstemp's mode) while images were 0644, and a dataroot folder was 0700."""
    from kplate.gan.checkpoint import atomic_torch_save

    previous = os.umask(0o027)
    try:
        out = generate(tmp_path / "gen", 3)
        real = make_plain(tmp_path / "real", 6)
        assert _build(generated, real, tmp_path / "R") == 0
        atomic_torch_save({"x": 1}, tmp_path / "generator.pt")
        assert main(["samples", "--types", "private_2digit", "--height", "32", "--out",
                     str(tmp_path / "samples")]) == 0  # fmt: skip
    finally:
        os.umask(previous)
    files = [out / n for n in ("labels.csv", "gt.txt", "run.json", "summary.json",
                               "metadata.jsonl", "images/000000.jpg")]  # fmt: skip
    files += [tmp_path / "R" / "dataset.json", tmp_path / "generator.pt"]
    files += [tmp_path / "samples" / "contact_sheet.png"]
    modes = {str(f.relative_to(tmp_path)): stat.S_IMODE(f.stat().st_mode) for f in files}
    assert modes == dict.fromkeys(modes, 0o640)
    folders = [out, out / "images", tmp_path / "R", tmp_path / "R" / "trainA"]
    modes = {str(f.relative_to(tmp_path)): stat.S_IMODE(f.stat().st_mode) for f in folders}
    assert modes == dict.fromkeys(modes, 0o750)
    assert Image.open(out / "images" / "000000.jpg").size[1] == 32


@pytest.mark.parametrize("damage", ["metadata.jsonl is a folder", "images is a file",
                                    "run.json is not a record"])  # fmt: skip
def test_a_damaged_run_folder_is_one_line_and_never_replaced(
    tmp_path: Path, capsys, damage: str
) -> None:
    """What kplate does not write (a folder where it writes a file, a file where it writes
    a folder, a run.json it cannot read) is refused in one line, --overwrite or not."""
    out = generate(tmp_path / "out")
    (out / "summary.json").unlink()
    if damage == "metadata.jsonl is a folder":
        (out / "metadata.jsonl").unlink()
        (out / "metadata.jsonl").mkdir()
    elif damage == "images is a file":
        shutil.rmtree(out / "images")
        (out / "images").write_bytes(b"x")
    else:
        (out / "run.json").write_text("{not json", encoding="utf-8")
    before = snapshot(out)
    for extra in ([], ["--overwrite"]):
        assert main(["generate", "--count", "4", "--seed", "1", *GEN, "--out", str(out),
                     *extra]) == 2  # fmt: skip
        line = one_error_line(capsys, "generate")
        assert "choose another --out" in line and "--overwrite" not in line
        assert snapshot(out) == before


def test_a_run_json_without_the_command_key_still_resumes(tmp_path: Path) -> None:
    """Folders written before run.json recorded its command are known by their keys: the
    same command resumes them and ends identical to an uninterrupted run."""
    reference = generate(tmp_path / "reference", 8)
    out = generate(tmp_path / "out", 8)
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    del record["command"]
    (out / "run.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    (out / "summary.json").unlink()
    lines = (out / "metadata.jsonl").read_bytes().splitlines(keepends=True)
    (out / "metadata.jsonl").write_bytes(b"".join(lines[:3]))
    generate(out, 8)
    assert tree_bytes(out) == tree_bytes(reference)
