"""Reads ``template.yaml``: the one source of the local stack's routes, tables and function environment."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (``!Ref X`` → ``{"Ref": "X"}``, ``!GetAtt`` → ``Fn::GetAtt``…)."""


def _tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tag)


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: str
    handler: str
    environment: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str
    function: FunctionSpec
    # The JWT authorizer guarding the route, or None for a public route.
    authorizer: str | None = None

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters when ``method path`` is this route, as API Gateway matches it; else None."""
        if self.method not in (method, "ANY"):
            return None
        pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.path))
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class Template:
    root: Path
    resources: dict[str, Any]
    parameters: dict[str, Any]
    global_environment: dict[str, Any]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v.get("Properties", {}) for k, v in self.resources.items() if v["Type"] == resource_type}

    @property
    def tables(self) -> dict[str, dict[str, Any]]:
        return self.of_type("AWS::DynamoDB::Table")

    @property
    def functions(self) -> dict[str, FunctionSpec]:
        return {
            name: FunctionSpec(name, props["CodeUri"], props["Handler"],
                               self.global_environment | props.get("Environment", {}).get("Variables", {}))
            for name, props in self.of_type("AWS::Serverless::Function").items()
        }

    def _default_authorizer(self, api: Any) -> str | None:
        api_id = api["Ref"] if isinstance(api, dict) else api
        return self.resources.get(api_id, {}).get("Properties", {}).get("Auth", {}).get("DefaultAuthorizer")

    @property
    def http_routes(self) -> list[HttpRoute]:
        routes = []
        for name, function in self.functions.items():
            events = self.resources[name]["Properties"].get("Events", {})
            for event in events.values():
                if event["Type"] == "HttpApi":
                    props = event["Properties"]
                    authorizer = props.get("Auth", {}).get("Authorizer") or self._default_authorizer(props.get("ApiId"))
                    routes.append(HttpRoute(props["Method"].upper(), props["Path"], function,
                                            None if authorizer == "NONE" else authorizer))
        # API Gateway prefers the most specific route: literal paths before parameters, greedy last.
        return sorted(routes, key=lambda r: (r.path.count("+}"), r.path.count("{"), -len(r.path)))

    @property
    def stream_mappings(self) -> list[tuple[FunctionSpec, str, dict[str, Any]]]:
        """``(function, table logical id, event properties)`` for every DynamoDB stream event source."""
        mappings = []
        for name, function in self.functions.items():
            for event in self.resources[name]["Properties"].get("Events", {}).values():
                if event["Type"] == "DynamoDB":
                    table = event["Properties"]["Stream"]["Fn::GetAtt"][0]
                    mappings.append((function, table, event["Properties"]))
        return mappings

    def resolve(self, value: Any, table_names: dict[str, str]) -> str:
        """A plain string for an environment value: tables by local name, parameters by default."""
        if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            return re.sub(r"\$\{([\w:]+)\}", lambda m: self.resolve({"Ref": m[1]}, table_names), value["Fn::Sub"])
        if isinstance(value, dict) and "Ref" in value:
            ref = value["Ref"]
            if ref in table_names:
                return table_names[ref]
            if ref == "AWS::StackName":
                return "lapor-local"
            if ref in self.parameters:
                return str(self.parameters[ref].get("Default", ""))
            if ref in self.resources:  # a queue or bus the local stack stands in for (the outbox, say)
                return f"local-{ref}"
            raise ValueError(f"cannot resolve !Ref {ref} locally")
        return str(value)


def load_template(path: Path) -> Template:
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 (safe loader subclass)
    return Template(
        root=path.parent,
        resources=document["Resources"],
        parameters=document.get("Parameters", {}),
        global_environment=document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}),
    )


def create_table_request(table_name: str, props: dict[str, Any]) -> dict[str, Any]:
    """boto3 ``create_table`` arguments for a template's ``AWS::DynamoDB::Table``."""
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return request


def create_tables(client: Any, template: Template, table_names: dict[str, str] | None = None) -> list[str]:
    """Create every table of the template (named by logical id unless ``table_names`` says otherwise)."""
    names = table_names or {logical_id: logical_id for logical_id in template.tables}
    for logical_id, props in template.tables.items():
        client.create_table(**create_table_request(names[logical_id], props))
    return list(names.values())
