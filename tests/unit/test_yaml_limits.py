"""Hostile YAML gives a finding, not a hang or a crash."""

from labctl.model.load import MAX_VALUES, ModelErrors, load_text

import pytest


def test_alias_bomb_is_refused_with_a_finding():
    levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    names = "abcdefgh"
    for prev, name in zip(names, names[1:]):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(ModelErrors) as caught:
        load_text("\n".join(levels) + "\n", "bomb.yml")
    (finding,) = caught.value.findings
    assert f"more than {MAX_VALUES:,} values" in finding.message and finding.file == "bomb.yml"
