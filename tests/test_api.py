"""The public API a user can guess: `from kplate import ...`, typed samples, objects as
well as names."""

from __future__ import annotations

import numpy as np

from kplate import GenerateConfig, Renderer, Sample, build_augmenter, generate


def test_generate_yields_typed_samples_that_unpack_as_image_and_entry() -> None:
    config = GenerateConfig(count=4, seed=3, augment="heavy", height=40)
    samples = list(generate(config))
    assert all(isinstance(s, Sample) for s in samples)
    for index, sample in enumerate(samples):
        image, entry = sample
        assert image is sample.image and image.shape[0] == 40 and image.dtype == np.uint8
        assert entry == sample.to_dict()
        assert entry["index"] == sample.index == index
        assert entry["augment"] == sample.augment and sample.augment is not None
        assert entry["text"] == sample.record.text
        assert [c["box"] for c in entry["chars"]] == [list(c.box) for c in sample.record.chars]


def test_generate_takes_an_augmenter_and_a_renderer_object() -> None:
    """An object given replaces the config's name: the cctv augmenter object gives what
    the config naming cctv gives, byte for byte; a config with no augmentation stays clean."""
    named = GenerateConfig(count=3, seed=5, augment="cctv", height=40)
    clean = GenerateConfig(count=3, seed=5, height=40)
    by_name = list(generate(named))
    by_object = list(generate(clean, augmenter=build_augmenter("cctv"), renderer=Renderer()))
    for a, b in zip(by_name, by_object, strict=True):
        assert np.array_equal(a.image, b.image)
        assert a.to_dict() == b.to_dict()
    assert all(s.augment is None for s in generate(clean))


def test_library_errors_name_parameters_and_the_cli_names_flags(tmp_path, capsys) -> None:
    import pytest

    from kplate.cli import main
    from kplate.dataset import DatasetOptions
    from kplate.errors import OptionError

    with pytest.raises(OptionError, match=r"^count must be 0 or more, got -1$"):
        GenerateConfig(count=-1)
    with pytest.raises(OptionError, match=r"^weights 1,-2: must be non-negative"):
        GenerateConfig(count=1, types=GenerateConfig().types[:2], weights=(1.0, -2.0))
    with pytest.raises(OptionError, match=r"^max_images must be 1 or more, got 0$"):
        DatasetOptions(synthetic=tmp_path, real=tmp_path, out=tmp_path / "o", max_images=0)
    assert main(["generate", "--count", "-1", "--out", str(tmp_path / "g")]) == 2
    assert capsys.readouterr().err == "kplate generate: error: --count must be 0 or more, got -1\n"
    # The earlier project's spelling of the flag reaches the same parameter: the message
    # names the flag's first spelling.
    assert main(["generate", "--number_of_plates", "-1", "--out", str(tmp_path / "g")]) == 2
    assert "--count must be 0 or more" in capsys.readouterr().err
