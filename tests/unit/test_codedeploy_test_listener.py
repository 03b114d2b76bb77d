"""The test listener URL of a CODE_DEPLOY service (actions/codedeploy.py ``url_of_test_traffic_route``) on stubbed CodeDeploy
and ELBv2 answers (botocore checks each against the services' shapes): the configured deployment group's
testTrafficRoute listener on its load balancer's DNS name, and a sentence saying to set test_url when there is no
group, no test route, or no such listener."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fakes import stubbed

from pytest_ecsdeploy.actions.codedeploy import url_of_test_traffic_route
from pytest_ecsdeploy.actions.smoke import Smoke
from pytest_ecsdeploy.config import Environment, Service
from pytest_ecsdeploy.context import PrintLog, RunOptions, ServiceContext
from pytest_ecsdeploy.errors import ConfigError
from pytest_ecsdeploy.report.record import ServiceRecord

ELB = "arn:aws:elasticloadbalancing:eu-west-1:111122223333"
BALANCER = f"{ELB}:loadbalancer/app/web/3333333333333333"
PROD = f"{ELB}:listener/app/web/3333333333333333/1111111111111111"
TEST = f"{ELB}:listener/app/web/3333333333333333/2222222222222222"
CONFIG = Service(name="web", service_name="web", codedeploy_application="app", codedeploy_deployment_group="dg")


class Clients:
    def __init__(self, **clients: Any) -> None:
        self.clients = clients

    def client(self, service: str, region: str | None = None) -> Any:
        return self.clients[service]


@pytest.fixture
def stubs() -> Iterator[tuple[Clients, Any, Any]]:
    with stubbed("codedeploy") as (codedeploy, cd), stubbed("elbv2") as (elbv2, elb):
        yield Clients(codedeploy=codedeploy, elbv2=elbv2), cd, elb


def answer_group(cd: Any, routes: dict[str, Any], services: str = "web") -> None:
    cd.add_response("get_deployment_group", {"deploymentGroupInfo": {
        "ecsServices": [{"clusterName": "prod", "serviceName": services}],
        "loadBalancerInfo": {"targetGroupPairInfoList": [{
            "targetGroups": [{"name": "blue"}, {"name": "green"}], **routes}]}}},
        {"applicationName": "app", "deploymentGroupName": "dg"})


@pytest.mark.parametrize(("protocol", "port", "url"), [
    ("HTTP", 8080, "http://web-123.eu-west-1.elb.amazonaws.com:8080"),
    ("HTTP", 80, "http://web-123.eu-west-1.elb.amazonaws.com"),
    ("HTTPS", 443, "https://web-123.eu-west-1.elb.amazonaws.com"),
    ("HTTPS", 9443, "https://web-123.eu-west-1.elb.amazonaws.com:9443"),
])
def test_the_url_is_the_test_traffic_routes_listener_on_its_load_balancers_name(
        stubs: tuple[Clients, Any, Any], protocol: str, port: int, url: str) -> None:
    aws, cd, elb = stubs
    answer_group(cd, {"prodTrafficRoute": {"listenerArns": [PROD]}, "testTrafficRoute": {"listenerArns": [TEST]}})
    elb.add_response("describe_listeners", {"Listeners": [
        {"ListenerArn": TEST, "LoadBalancerArn": BALANCER, "Port": port, "Protocol": protocol}]},
        {"ListenerArns": [TEST]})
    elb.add_response("describe_load_balancers", {"LoadBalancers": [
        {"LoadBalancerArn": BALANCER, "DNSName": "web-123.eu-west-1.elb.amazonaws.com"}]},
        {"LoadBalancerArns": [BALANCER]})
    assert url_of_test_traffic_route(aws, CONFIG, "prod", "web", who="smoke") == url  # type: ignore[arg-type]


def test_a_group_without_a_test_traffic_route_asks_for_test_url(stubs: tuple[Clients, Any, Any]) -> None:
    aws, cd, _ = stubs
    answer_group(cd, {"prodTrafficRoute": {"listenerArns": [PROD]}})
    with pytest.raises(ConfigError, match=r"^service 'web': deployment group 'dg' of application 'app' has no "
                                          r"testTrafficRoute listener .*; set test_url in \[services\.web\]"):
        url_of_test_traffic_route(aws, CONFIG, "prod", "web", who="smoke")  # type: ignore[arg-type]


def test_a_group_of_another_service_asks_for_test_url(stubs: tuple[Clients, Any, Any]) -> None:
    aws, cd, _ = stubs
    answer_group(cd, {"testTrafficRoute": {"listenerArns": [TEST]}}, services="api")
    with pytest.raises(ConfigError, match=r"^service 'web' has no test listener .*deploys prod:api, not prod:web.*"
                                          r"or set test_url in \[services\.web\]"):
        url_of_test_traffic_route(aws, CONFIG, "prod", "web", who="smoke")  # type: ignore[arg-type]


def test_no_group_found_asks_for_test_url(stubs: tuple[Clients, Any, Any]) -> None:
    aws, cd, _ = stubs
    cd.add_response("list_applications", {"applications": []})
    with pytest.raises(ConfigError, match=r"^service 'web' has no test listener .*no CodeDeploy deployment group "
                                          r"names prod:web.*or set test_url"):
        url_of_test_traffic_route(aws, Service(name="web", service_name="web"), "prod", "web",  # type: ignore[arg-type]
                          who="smoke")


def test_a_test_listener_that_is_gone_asks_for_test_url(stubs: tuple[Clients, Any, Any]) -> None:
    aws, cd, elb = stubs
    answer_group(cd, {"testTrafficRoute": {"listenerArns": [TEST]}})
    elb.add_response("describe_listeners", {"Listeners": []}, {"ListenerArns": [TEST]})
    with pytest.raises(ConfigError, match=r"^service 'web': test listener .* was not found; set test_url"):
        url_of_test_traffic_route(aws, CONFIG, "prod", "web", who="smoke")  # type: ignore[arg-type]


class Green(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = f"green {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
        pass


def test_smoke_through_the_test_listener_of_a_code_deploy_service_finds_it_once(
        stubs: tuple[Clients, Any, Any]) -> None:
    aws, cd, elb = stubs
    server = ThreadingHTTPServer(("127.0.0.1", 0), Green)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with stubbed("ecs") as (ecs, stubber):
            aws.clients["ecs"] = ecs
            stubber.add_response("describe_services", {"services": [{
                "serviceName": "web", "status": "ACTIVE", "deploymentController": {"type": "CODE_DEPLOY"}}]},
                {"cluster": "prod", "services": ["web"]})
            answer_group(cd, {"testTrafficRoute": {"listenerArns": [TEST]}})
            elb.add_response("describe_listeners", {"Listeners": [{
                "ListenerArn": TEST, "LoadBalancerArn": BALANCER, "Port": server.server_address[1],
                "Protocol": "HTTP"}]}, {"ListenerArns": [TEST]})
            elb.add_response("describe_load_balancers", {"LoadBalancers": [
                {"LoadBalancerArn": BALANCER, "DNSName": "127.0.0.1"}]}, {"LoadBalancerArns": [BALANCER]})
            environment = Environment(name="prod", backend="aws", cluster="prod", region="eu-west-1")
            ctx = ServiceContext(environment=environment, service=CONFIG, aws=aws,  # type: ignore[arg-type]
                                 options=RunOptions(), record=ServiceRecord(service="web", environment="prod",
                                                                            cluster="prod"), log=PrintLog("[web] "))
            checker = Smoke(ctx)
            url = f"http://127.0.0.1:{server.server_address[1]}"
            assert checker.http("/version", contains="green", traffic="test").url == f"{url}/version"
            assert checker.http("/health", traffic="test").body == "green /health"  # no second look-up
    finally:
        server.shutdown()
        server.server_close()
