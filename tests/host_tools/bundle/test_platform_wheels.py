"""The unit's wheels for another platform: requirements with the target's markers, pip options."""

from pathlib import Path

import pytest

from host_tools.bundle import platform_wheels
from host_tools.bundle.build import BuildError
from host_tools.cli import main

AARCH64 = platform_wheels.platform("aarch64")


def _project(tmp_path: Path, device: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["pyserial>=3.5"]\n'
        f'[project.optional-dependencies]\ndevice = [{device}]\n', encoding="utf-8")
    return tmp_path


def test_markers_are_evaluated_for_the_target_not_this_machine(tmp_path: Path) -> None:
    project = _project(tmp_path, '"numpy>=1.26", '
                       '"ai-edge-litert>=1.2; platform_machine == \'aarch64\'", '
                       '"pywin32; sys_platform == \'win32\'"')
    assert platform_wheels.requirements(AARCH64, project) == [
        "pyserial>=3.5", "numpy>=1.26", "ai-edge-litert>=1.2"]


def test_the_real_device_extra_brings_litert_on_aarch64() -> None:
    names = [r.split(">")[0].split("=")[0] for r in platform_wheels.requirements(AARCH64)]
    assert {"ai-edge-litert", "numpy", "pillow", "cryptography", "pyserial"} <= set(names)
    assert all(";" not in r for r in platform_wheels.requirements(AARCH64))


def test_pip_is_given_every_manylinux_tag_up_to_bookworms_glibc() -> None:
    options = AARCH64.pip_options()
    # pip takes --platform literally: a wheel tagged only manylinux_2_28 needs that very tag.
    for tag in ("manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64",
                "manylinux_2_36_aarch64"):
        assert f"--platform={tag}" in options
    assert "--platform=manylinux_2_37_aarch64" not in options
    assert {"--python-version=3.11", "--implementation=cp", "--only-binary=:all:"} <= set(options)


def test_the_cache_key_follows_the_pins(tmp_path: Path) -> None:
    project = _project(tmp_path, '"numpy>=1.26"')
    pins = tmp_path / "constraints.txt"
    pins.write_text("numpy==2.4.6\n")
    first = platform_wheels.cache_key(AARCH64, project, pins)
    assert platform_wheels.cache_key(AARCH64, project, pins) == first
    pins.write_text("numpy==2.4.7\n")
    assert platform_wheels.cache_key(AARCH64, project, pins) != first


def test_unknown_platform_and_unreadable_project_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="unknown platform 'riscv64' -> one of aarch64"):
        platform_wheels.platform("riscv64")
    with pytest.raises(BuildError, match="cannot read the 'device' requirements"):
        platform_wheels.requirements(AARCH64, tmp_path)


def test_bundle_build_refuses_an_unknown_platform(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["bundle", "build", "--key", "k", "--out", "o", "--platform", "riscv64"])
    assert "invalid choice: 'riscv64'" in capsys.readouterr().err
