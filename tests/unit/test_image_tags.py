"""``--image-tag``: one tag for every service, or SERVICE=TAG for each; malformed values in one sentence."""

from __future__ import annotations

import pytest

from pytest_ecsdeploy.context import RunOptions
from pytest_ecsdeploy.errors import ConfigError
from pytest_ecsdeploy.options import parse_image_tags

SERVICES = ("web", "api")


@pytest.mark.parametrize(("items", "expected"), [
    ([], (None, {})),
    (["1.4.2"], ("1.4.2", {})),
    (["web=1.4.2", "api=2.0.1"], (None, {"web": "1.4.2", "api": "2.0.1"})),
    (["1.4.2", "api=2.0.1"], ("1.4.2", {"api": "2.0.1"})),
    (["web=1.4.2", "web=1.4.2"], (None, {"web": "1.4.2"})),  # said twice alike: no conflict
])
def test_image_tags_bare_and_per_service(items: list[str], expected: tuple[str | None, dict[str, str]]) -> None:
    assert parse_image_tags(items, "--image-tag", SERVICES) == expected


@pytest.mark.parametrize(("items", "message"), [
    ([" "], "--image-tag expects a value, got an empty string."),
    (["=1.4.2"], "--image-tag expects TAG or SERVICE=TAG, got '=1.4.2' (no service before '=')."),
    (["web="], "--image-tag expects TAG or SERVICE=TAG, got 'web=': '' is not a valid image tag (letters, digits, "
               "_ . -, up to 128, not starting with . or -)."),
    (["web=1.4.2=x"], "--image-tag expects TAG or SERVICE=TAG, got 'web=1.4.2=x': '1.4.2=x' is not a valid image "
                      "tag (letters, digits, _ . -, up to 128, not starting with . or -)."),
    (["-rc1"], "--image-tag expects TAG or SERVICE=TAG, got '-rc1': '-rc1' is not a valid image tag (letters, "
               "digits, _ . -, up to 128, not starting with . or -)."),
    (["wbe=1.4.2"], "--image-tag names service 'wbe', which is not in the configuration; did you mean 'web'?"),
    (["db=1.4.2"], "--image-tag names service 'db', which is not in the configuration; its services: web, api."),
    (["web=1", "web=2"], "--image-tag gives service 'web' two tags ('1' and '2'); give one."),
    (["1", "2"], "--image-tag was given two tags for every service ('1' and '2'); give one, or SERVICE=TAG for each "
                 "service."),
])
def test_malformed_image_tags_are_one_sentence(items: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_image_tags(items, "--image-tag", SERVICES)
    assert str(raised.value) == message


def test_each_service_gets_its_own_tag_else_the_bare_one() -> None:
    options = RunOptions(image_tag="1.4.2", image_tags={"api": "2.0.1"})
    assert (options.tag_for("web"), options.tag_for("api"), options.tags_label()) == ("1.4.2", "2.0.1",
                                                                                      "api=2.0.1,*=1.4.2")
    assert (RunOptions().tag_for("web"), RunOptions().tags_label()) == (None, "-")
