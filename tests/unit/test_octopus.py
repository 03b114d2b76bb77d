"""octopus.py: service messages read back with a parser that follows Calamari's own rules.

``CalamariParser`` below is Calamari's ``ServiceMessageParser`` (OctopusDeploy/Calamari, Calamari.Common) in Python: a character state
machine that finds the literal ``##octopus`` (case-sensitive, state kept from one line to the next, as
Calamari calls ``Parse(line)`` once per line), reads up to the first ``]``, trims, strips leading ``[``,
removes CR/LF, parses ``<text/>`` as an XML element, decodes every attribute as Base64 of UTF-8 into a
dictionary whose keys ignore case, and drops the message when anything fails.
"""

from __future__ import annotations

import base64
import binascii
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_ecsdeploy.checks import Check
from pytest_ecsdeploy.report.octopus import (
    OctopusReporter,
    ServiceMessages,
    image_digest,
    octopus_signal,
    service_message,
)
from pytest_ecsdeploy.report.record import Rollback, RunRecord, ServiceRecord

LABEL = "##octopus"


@dataclass
class Message:
    name: str
    attributes: dict[str, str]  # keys lower-cased: Calamari looks them up ignoring case

    def __getitem__(self, key: str) -> str:
        return self.attributes[key.lower()]

    def get(self, key: str) -> str | None:
        return self.attributes.get(key.lower())


@dataclass
class CalamariParser:
    """Calamari's ServiceMessageParser, rule for rule; ``dropped`` keeps what a failed decode threw away."""

    messages: list[Message] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    _state: str = "default"
    _buffer: str = ""

    def parse(self, line: str) -> None:
        for c in line:
            if self._state == "default":
                if c == "#":
                    self._state, self._buffer = "possible", c
            elif self._state == "possible":
                self._buffer += c
                if self._buffer == LABEL:
                    self._state, self._buffer = "in", ""
                elif not LABEL.startswith(self._buffer):
                    self._state, self._buffer = "default", ""
            elif c == "]":
                self._process(self._buffer)
                self._state, self._buffer = "default", ""
            else:
                self._buffer += c

    def _process(self, text: str) -> None:
        text = text.strip().lstrip("[").replace("\r", "").replace("\n", "")
        try:
            element = ET.fromstring(f"<{text}/>")
            values: dict[str, str] = {}
            for key, value in element.attrib.items():
                if key.lower() in values:  # ToDictionary with OrdinalIgnoreCase throws on a duplicate
                    raise ValueError(key)
                values[key.lower()] = base64.b64decode(value, validate=True).decode("utf-8", errors="replace")
        except (ET.ParseError, ValueError, binascii.Error):
            self.dropped.append(text)
            return
        self.messages.append(Message(element.tag, values))

    def parse_all(self, lines: list[str]) -> list[Message]:
        for line in lines:
            self.parse(line)
        return self.messages


def parse(lines: list[str]) -> list[Message]:
    """Every message in ``lines``; fails when one was dropped or a line holds anything but one whole message."""
    parser = CalamariParser()
    messages = parser.parse_all(lines)
    assert parser.dropped == []
    assert parser._state == "default", "a message was left open at the end of the output"
    for line in lines:
        if LABEL in line:
            assert line.startswith(LABEL) and line.endswith("]") and line.count(LABEL) == 1, line
    return messages


def variables(messages: list[Message]) -> dict[str, Message]:
    return {m["name"]: m for m in messages if m.name == "setVariable"}


class Lines(list[str]):
    def __call__(self, line: str) -> None:
        assert "\n" not in line and "\r" not in line, f"one line at a time: {line!r}"
        self.append(line)


@pytest.fixture
def out() -> Lines:
    return Lines()


@pytest.fixture
def messages(out: Lines) -> ServiceMessages:
    return ServiceMessages(out)


# -- the format, byte for byte ----------------------------------------------------------------------------


def test_byte_exact_samples_from_calamaris_tests(out: Lines, messages: ServiceMessages) -> None:
    assert not os.path.exists("/home/file.txt")  # the sample's length '0' is the length of a missing file
    messages.set_variable("TestA", "World!")
    messages.progress(50, "Half Way")
    messages.create_artifact("/home/file.txt")
    messages.result_message("Custom failure message")
    assert out == [
        "##octopus[setVariable name='VGVzdEE=' value='V29ybGQh']",
        "##octopus[progress percentage='NTA=' message='SGFsZiBXYXk=']",
        "##octopus[stdout-verbose]",
        "Artifact file.txt will be collected from /home/file.txt after this step completes",
        "##octopus[stdout-default]",
        "##octopus[createArtifact path='L2hvbWUvZmlsZS50eHQ=' name='ZmlsZS50eHQ=' length='MA==']",
        "##octopus[resultMessage message='Q3VzdG9tIGZhaWx1cmUgbWVzc2FnZQ==']",
    ]


def test_service_message_takes_name_as_an_attribute_and_keeps_order() -> None:
    assert service_message("setVariable", name="TestA", value="World!") == (
        "##octopus[setVariable name='VGVzdEE=' value='V29ybGQh']"
    )
    assert service_message("stdout-warning") == "##octopus[stdout-warning]"
    assert service_message("m", b="x", a="y") == "##octopus[m b='eA==' a='eQ==']"


def test_base64_is_not_wrapped() -> None:
    long_value = "x" * 500
    line = service_message("setVariable", name="n", value=long_value)
    assert "\n" not in line
    assert parse([line])[0]["value"] == long_value


@pytest.mark.parametrize("bad", ["set Variable", "a]b", "", "1st", "<x"])
def test_service_message_rejects_a_name_that_is_no_xml_name(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a service message name"):
        service_message(bad)


def test_service_message_rejects_a_value_that_is_not_a_string() -> None:
    with pytest.raises(TypeError, match="attribute 'value' must be a string, got int"):
        service_message("setVariable", name="n", value=3)  # type: ignore[arg-type]


# -- values survive the round trip ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "Zürich – 東京 🚀",
        "ends with ] and [ starts",
        "]]]",
        "single ' and double \" quotes",
        "line one\nline two\r\nline three",
        "<tag attr='1'>&amp;</tag>",
        "##octopus[setVariable name='eA==' value='eQ==']",
        "   padded   ",
        "",
    ],
)
def test_values_round_trip_through_calamaris_parser(out: Lines, messages: ServiceMessages, value: str) -> None:
    messages.set_variable(f"EcsDeploy.web.{value}", value)
    [message] = parse(out)
    assert message.name == "setVariable"
    assert message["Name"] == f"EcsDeploy.web.{value}"
    assert message["value"] == value
    assert message.get("sensitive") is None


def test_sensitive_flag(out: Lines, messages: ServiceMessages) -> None:
    messages.set_variable("Token", "s3cr3t", sensitive=True)
    assert out == ["##octopus[setVariable name='VG9rZW4=' value='czNjcjN0' sensitive='VHJ1ZQ==']"]
    assert parse(out)[0]["sensitive"] == "True"


def test_empty_value_is_written_as_an_empty_attribute(out: Lines, messages: ServiceMessages) -> None:
    messages.set_variable("Empty", "")
    assert out == ["##octopus[setVariable name='RW1wdHk=' value='']"]
    assert parse(out)[0]["value"] == ""


def test_a_variable_needs_a_name(messages: ServiceMessages) -> None:
    with pytest.raises(ValueError, match="needs a name"):
        messages.set_variable("", "x")


# -- the parser follows Calamari's rules (so the tests above mean something) -----------------------------


def test_parser_drops_a_message_whose_value_is_not_base64() -> None:
    parser = CalamariParser()
    parser.parse_all(["##octopus[setVariable name='not base64!' value='eA==']", "##octopus[mask value='eA==']"])
    assert [m.name for m in parser.messages] == ["mask"]
    assert parser.dropped == ["setVariable name='not base64!' value='eA=='"]


def test_parser_finds_a_message_anywhere_in_a_line_and_ignores_attribute_case() -> None:
    parser = CalamariParser()
    parser.parse('some text ##octopus[setVariable NAME="eA==" Value="eQ=="] more')
    assert parser.messages == [Message("setVariable", {"name": "x", "value": "y"})]


def test_parser_misses_a_message_after_a_line_ending_in_a_hash() -> None:
    # Calamari keeps its state between lines: "#" at the end of one line swallows the "#" of the next.
    parser = CalamariParser()
    parser.parse_all(["see issue #", service_message("stdout-default")])
    assert parser.messages == []


# -- artifacts ------------------------------------------------------------------------------------------


def test_artifact_path_is_absolute_and_length_is_the_byte_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: Lines, messages: ServiceMessages
) -> None:
    report = tmp_path / "räport" / "ecsdeploy-report.json"
    report.parent.mkdir()
    report.write_text('{"service": "wéb ✓"}\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    messages.create_artifact(Path("räport") / "ecsdeploy-report.json")
    assert out[0] == "##octopus[stdout-verbose]"
    assert out[1] == f"Artifact ecsdeploy-report.json will be collected from {report} after this step completes"
    assert out[2] == "##octopus[stdout-default]"
    [_, _, artifact] = parse(out)
    assert artifact.name == "createArtifact"
    assert artifact["path"] == str(report)
    assert os.path.isabs(artifact["path"])
    assert artifact["name"] == "ecsdeploy-report.json"
    assert artifact["length"] == str(len('{"service": "wéb ✓"}\n'.encode())) == "24"  # bytes, not 21 characters


def test_artifact_with_its_own_name(tmp_path: Path, out: Lines, messages: ServiceMessages) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_bytes(b"<testsuites/>")
    messages.create_artifact(junit, name="web-junit.xml")
    assert out[1] == f"Artifact web-junit.xml will be collected from {junit} after this step completes"
    artifact = parse(out)[-1]
    assert (artifact["name"], artifact["length"]) == ("web-junit.xml", "13")


# -- progress, result, levels, mask ---------------------------------------------------------------------


def test_progress(out: Lines, messages: ServiceMessages) -> None:
    messages.progress(0, "starting")
    messages.progress(100, "web deployed; 1 of 1 services finished")
    assert [(m["percentage"], m["message"]) for m in parse(out)] == [
        ("0", "starting"),
        ("100", "web deployed; 1 of 1 services finished"),
    ]


@pytest.mark.parametrize("bad", [-1, 101, True, 50.5])
def test_progress_rejects_what_is_no_percentage(messages: ServiceMessages, bad: object) -> None:
    with pytest.raises(ValueError, match="integer from 0 to 100"):
        messages.progress(bad, "x")  # type: ignore[arg-type]


def test_result_message(out: Lines, messages: ServiceMessages) -> None:
    messages.result_message("web failed: tasks failed to start ]")
    assert parse(out)[0]["message"] == "web failed: tasks failed to start ]"


@pytest.mark.parametrize("level", ["warning", "verbose", "highlight"])
def test_levels_wrap_each_line_of_text(out: Lines, messages: ServiceMessages, level: str) -> None:
    getattr(messages, level)("first line\nsecond line")
    assert out == [f"##octopus[stdout-{level}]", "first line", "second line", "##octopus[stdout-default]"]
    assert [m.name for m in parse(out)] == [f"stdout-{level}", "stdout-default"]


def test_text_cannot_forge_a_service_message(out: Lines, messages: ServiceMessages) -> None:
    forged = service_message("setVariable", name="EcsDeploy.web.Outcome", value="deployed")
    messages.warning(f"(service web) said: {forged}\nand a line that ends in #")
    messages.verbose("##octopus")
    messages.set_variable("after", "still read")
    parsed = parse(out)
    assert [m.name for m in parsed] == [
        "stdout-warning", "stdout-default", "stdout-verbose", "stdout-default", "setVariable",
    ]
    assert parsed[-1]["name"] == "after"
    assert out[1] == f"(service web) said: # #octopus{forged[len(LABEL):]}"


def test_mask_goes_to_both_streams_and_ignores_an_empty_value(out: Lines) -> None:
    err = Lines()
    messages = ServiceMessages(out, write_stderr=err)
    messages.mask("")
    messages.mask("hunter2")
    assert out == err == ["##octopus[mask value='aHVudGVyMg==']"]
    assert parse(err)[0]["value"] == "hunter2"


# -- detection ------------------------------------------------------------------------------------------


def test_detected_by_calamaris_working_directory() -> None:
    environ = {"PATH": "/usr/bin", "OctopusCalamariWorkingDirectory": "/etc/octopus/Work/20260821-1"}
    assert octopus_signal(environ) == "OctopusCalamariWorkingDirectory"


def test_detected_by_a_tentacle_variable_and_ignoring_case() -> None:
    assert octopus_signal({"TENTACLEHOME": r"C:\Octopus"}) == "TENTACLEHOME"
    assert octopus_signal({"TentacleVersion": "8.1.0"}) == "TentacleVersion"


@pytest.mark.parametrize(
    "environ",
    [{}, {"PATH": "/usr/bin", "CI": "true"}, {"OctopusCalamariWorkingDirectory": ""},
     {"AgentProgramDirectoryPath": "/opt/agent"}],
)
def test_not_detected_elsewhere(environ: dict[str, str]) -> None:
    assert octopus_signal(environ) is None


# -- the reporter ---------------------------------------------------------------------------------------

ARN = "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:{}"
DIGEST = "sha256:" + "3f0c" * 16


def web(outcome: str = "deployed", reason: str | None = None) -> ServiceRecord:
    record = ServiceRecord(service="web", environment="prod", cluster="prod")
    record.revision_before = ARN.format(41)
    record.revision_after = ARN.format(42)
    record.image_before = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:" + "00" * 32
    record.image_after = f"111122223333.dkr.ecr.eu-west-1.amazonaws.com/web:1.4.2@{DIGEST}"
    record.deployment_id = "d-4J7QK2LMN"  # a CodeDeploy deployment's id
    record.set_outcome(outcome, reason)
    return record


def test_service_finished_writes_the_five_output_variables_and_progress(
    out: Lines, messages: ServiceMessages
) -> None:
    OctopusReporter(messages).service_finished(web(), done=1, total=2)
    parsed = parse(out)
    assert {name: m["value"] for name, m in variables(parsed).items()} == {
        "EcsDeploy.web.TaskDefinitionArn": ARN.format(42),
        "EcsDeploy.web.PreviousTaskDefinitionArn": ARN.format(41),
        "EcsDeploy.web.ImageDigest": DIGEST,
        "EcsDeploy.web.Outcome": "deployed",
        "EcsDeploy.web.DeploymentId": "d-4J7QK2LMN",
    }
    assert all(m.get("sensitive") is None for m in parsed)
    [progress] = [m for m in parsed if m.name == "progress"]
    assert progress["percentage"] == "50"
    assert progress["message"] == "web deployed (web:42); 1 of 2 services finished"


def test_unknown_values_are_empty_variables(out: Lines, messages: ServiceMessages) -> None:
    record = ServiceRecord(service="api", environment="prod", cluster="prod")
    record.image_after = "api:latest"  # no digest
    record.set_outcome("planned")
    OctopusReporter(messages).service_finished(record, done=3, total=3)
    parsed = parse(out)
    assert {name: m["value"] for name, m in variables(parsed).items()} == {
        "EcsDeploy.api.TaskDefinitionArn": "",
        "EcsDeploy.api.PreviousTaskDefinitionArn": "",
        "EcsDeploy.api.ImageDigest": "",
        "EcsDeploy.api.Outcome": "planned",
        "EcsDeploy.api.DeploymentId": "",
    }
    assert parsed[-1]["percentage"] == "100"
    assert parsed[-1]["message"] == "api planned; 3 of 3 services finished"


def test_image_digest() -> None:
    assert image_digest(f"web@{DIGEST}") == DIGEST
    assert image_digest(f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:1.4.2@{DIGEST}") == DIGEST
    assert image_digest("localhost:5000/web:1.4.2") == ""  # a registry's port is not a digest
    assert image_digest("web:1.4.2") == ""
    assert image_digest("") == ""
    assert image_digest(None) == ""


def test_reporter_warning(out: Lines, messages: ServiceMessages) -> None:
    OctopusReporter(messages).warning("web: 1 task stopped: Essential container in task exited")
    assert out == [
        "##octopus[stdout-warning]",
        "web: 1 task stopped: Essential container in task exited",
        "##octopus[stdout-default]",
    ]


def run_with(*records: ServiceRecord) -> RunRecord:
    run = RunRecord(environment="prod", backend="aws", region="eu-west-1", image_tag="1.4.2")
    for record in records:
        run.services[record.service] = record
    return run


def test_run_finished_announces_the_record_and_junit_file(
    tmp_path: Path, out: Lines, messages: ServiceMessages
) -> None:
    run = run_with(web())
    report = run.write(tmp_path / "ecsdeploy-report.json")
    junit = tmp_path / "junit.xml"
    junit.write_text("<testsuites/>", encoding="utf-8")
    OctopusReporter(messages).run_finished(run, report, junit, failed=False)
    artifacts = [m for m in parse(out) if m.name == "createArtifact"]
    assert [(a["path"], a["name"], a["length"]) for a in artifacts] == [
        (str(report), "ecsdeploy-report.json", str(report.stat().st_size)),
        (str(junit), "junit.xml", "13"),
    ]
    assert not [m for m in parse(out) if m.name == "resultMessage"]


def test_run_finished_without_files_writes_nothing_on_success(out: Lines, messages: ServiceMessages) -> None:
    OctopusReporter(messages).run_finished(run_with(web()), None, None, failed=False)
    assert out == []


def test_failed_run_ends_with_a_result_message_naming_service_and_reason(
    tmp_path: Path, out: Lines, messages: ServiceMessages
) -> None:
    rolled = web("rolled back", "ECS deployment circuit breaker: tasks failed to start.")
    rolled.rollback = Rollback(from_revision=ARN.format(42), to_revision=ARN.format(41), outcome="completed")
    api = ServiceRecord(service="api", environment="prod", cluster="prod")
    api.set_outcome("failed", "smoke: GET https://api.example.com/health: expected status 200\ngot 503")
    ok = ServiceRecord(service="worker", environment="prod", cluster="prod")
    ok.set_outcome("deployed")
    run = run_with(rolled, api, ok)
    report = run.write(tmp_path / "r.json")
    OctopusReporter(messages).run_finished(run, report, None, failed=True)
    parsed = parse(out)
    assert parsed[-1].name == "resultMessage"
    assert parsed[-1]["message"] == (
        "ecsdeploy (prod): web was rolled back to web:41: ECS deployment circuit breaker: tasks failed to start.; "
        "api failed: smoke: GET https://api.example.com/health: expected status 200 got 503"
    )


def test_failure_reason_falls_back_to_the_failed_check(out: Lines, messages: ServiceMessages) -> None:
    record = ServiceRecord(service="web", environment="prod", cluster="prod")
    record.checks.record(Check("ecr.image", "pre", "tag exists", "failed", "web:1.4.3 is not in repository web"))
    OctopusReporter(messages).run_finished(run_with(record), None, None, failed=True)
    assert parse(out)[0]["message"] == (
        "ecsdeploy (prod): web did not finish: ecr.image: tag exists — web:1.4.3 is not in repository web"
    )


def test_rollback_failed_names_both_reasons() -> None:
    record = web("rollback failed", "Reached deployment state: FAILED")
    record.rollback = Rollback(ARN.format(42), ARN.format(41), outcome="failed", reason="timed out after 600 s")
    assert OctopusReporter.failure_message(run_with(record)) == (
        "ecsdeploy (prod): web failed and its rollback failed too (timed out after 600 s): "
        "Reached deployment state: FAILED"
    )


def test_failure_without_a_failed_service_still_says_so() -> None:
    assert OctopusReporter.failure_message(run_with(web("unchanged"))) == (
        "ecsdeploy (prod): a step failed (web unchanged); see the task log."
    )
    assert OctopusReporter.failure_message(run_with()) == (
        "ecsdeploy (prod): the run failed before any service started; see the task log."
    )


def test_a_long_result_message_is_cut_to_one_thousand_characters(out: Lines, messages: ServiceMessages) -> None:
    OctopusReporter(messages).run_finished(run_with(web("failed", "x" * 5000)), None, None, failed=True)
    message = parse(out)[0]["message"]
    assert len(message) == 1000 and message.endswith("x…")


def test_everything_a_run_writes_is_read_back_whole(tmp_path: Path, out: Lines, messages: ServiceMessages) -> None:
    reporter = OctopusReporter(messages)
    records = [web(), web("rolled back", "(service web) failed container health checks. ##octopus[x]")]
    records[1].service = "wéb-ü]"
    for done, record in enumerate(records, 1):
        reporter.service_finished(record, done, len(records))
        reporter.warning(f"{record.service}: ]] ' \" ##octopus #")
    run = run_with(*records)
    reporter.run_finished(run, run.write(tmp_path / "record.json"), tmp_path / "junit.xml", failed=True)
    parser = CalamariParser()
    parsed = parser.parse_all(out)
    assert parser.dropped == []
    assert [m.name for m in parsed].count("setVariable") == 10
    assert variables(parsed)["EcsDeploy.wéb-ü].Outcome"]["value"] == "rolled back"
    assert parsed[-1].name == "resultMessage"
    assert "# #octopus[x]" in parsed[-1]["message"] and "##octopus" not in parsed[-1]["message"]
    assert [m["length"] for m in parsed if m.name == "createArtifact"][1] == "0"  # junit not written yet
