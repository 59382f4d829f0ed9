#!/usr/bin/env python3
"""Offline lint of a SAM template: translate to CloudFormation, then cfn-lint both.

cfn-lint alone checks SAM resources against a schema only, so a wrong Runtime, Architectures,
BatchSize or FunctionResponseTypes value passes. Expanding the template with samtranslator
first and linting the generated CloudFormation catches those (docs: aws-lambda-rust.md §2, §7).

Usage: lint_template.py [--strict] [--region REGION] template.yaml
Exit status: 0 clean (warnings are printed), 1 on any error (or any warning with --strict).
Needs no network and no AWS credentials.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# samtranslator resolves pseudo parameters through botocore, which wants a region; the value
# does not matter offline. Set before samtranslator is imported.
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")

from cfnlint.decode import decode  # noqa: E402
from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

# Properties holding a local path that `sam package` would upload; translation needs S3 URIs.
LOCAL_URI_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::Api": "DefinitionUri",
    "AWS::Serverless::HttpApi": "DefinitionUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}
PLACEHOLDER_URI = "s3://bucket/key"


class NoManagedPolicies:
    """Managed-policy loader that never calls IAM: names stay as written."""

    def load(self) -> dict[str, str]:
        return {}


def is_local(uri: Any) -> bool:
    return isinstance(uri, str) and not uri.startswith("s3://")


def with_s3_uris(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of the template whose local code and definition paths point at S3."""
    template = copy.deepcopy(template)
    globals_function = template.get("Globals", {}).get("Function", {})
    if is_local(globals_function.get("CodeUri")):
        globals_function["CodeUri"] = PLACEHOLDER_URI
    for resource in template.get("Resources", {}).values():
        if not isinstance(resource, dict):
            continue
        prop = LOCAL_URI_PROPERTIES.get(resource.get("Type", ""))
        props = resource.get("Properties")
        if prop is None or not isinstance(props, dict):
            continue
        if is_local(props.get(prop)):
            props[prop] = PLACEHOLDER_URI
        elif (
            resource["Type"] == "AWS::Serverless::Function"
            and prop not in props
            and "InlineCode" not in props
            and props.get("PackageType") != "Image"
            and "CodeUri" not in globals_function
        ):
            # SAM CLI defaults CodeUri to the template's directory.
            props[prop] = PLACEHOLDER_URI
    return template


def has_sam_transform(template: dict[str, Any]) -> bool:
    declared = template.get("Transform", [])
    return SAM_TRANSFORM in (declared if isinstance(declared, list) else [declared])


def cfn_lint(path: Path, label: str, region: str | None, show_lines: bool) -> tuple[bool, bool]:
    """Runs cfn-lint on one file and prints its findings; returns (errors, warnings)."""
    cmd = [str(Path(sys.executable).parent / "cfn-lint"), "--format", "json"]
    if region:
        cmd += ["--regions", region]
    cmd.append(str(path))
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        findings = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        # Not a findings list: cfn-lint itself failed; show what it said.
        print(f"--- cfn-lint {label}: could not run (exit {result.returncode})")
        print((result.stdout + result.stderr).strip())
        return True, False
    print(f"--- cfn-lint {label}: " + (f"{len(findings)} finding(s)" if findings else "clean"))
    for f in findings:
        where = "/".join(str(p) for p in f["Location"]["Path"])
        # Line numbers of the translated file mean nothing once it is gone; its path does.
        if show_lines:
            where += f" (line {f['Location']['Start']['LineNumber']})"
        print(f"  {f['Level']:<13} {f['Rule']['Id']} {where}: {f['Message']}")
    if result.stderr.strip():
        print(result.stderr.strip())
    levels = {f["Level"] for f in findings}
    # Exit code bit 1 without findings means cfn-lint crashed.
    crashed = bool(result.returncode & 1) and not findings
    return "Error" in levels or crashed, "Warning" in levels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", type=Path)
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.add_argument("--region", help="region(s) cfn-lint checks against (its default if unset)")
    args = parser.parse_args()

    if not args.template.is_file():
        print(f"lint_template: {args.template} not found", file=sys.stderr)
        return 1

    # cfn-lint's own loader understands the short-form intrinsics (!Ref, !GetAtt, !Sub);
    # the JSON round trip turns its position-carrying nodes into plain dicts and strings.
    decoded, problems = decode(str(args.template))
    if problems or decoded is None:
        for problem in problems:
            print(problem)
        print(f"lint_template: {args.template} could not be parsed", file=sys.stderr)
        return 1
    template = json.loads(json.dumps(decoded))

    failed = False
    warned = False

    errors, warnings = cfn_lint(args.template, f"{args.template} (SAM source)", args.region, True)
    failed |= errors
    warned |= warnings

    if not has_sam_transform(template):
        print(f"--- {args.template} has no {SAM_TRANSFORM} transform; nothing to translate")
    else:
        try:
            translated = transform(with_s3_uris(template), {}, NoManagedPolicies())
        except InvalidDocumentException as e:
            print(f"--- samtranslator: {args.template} is not a valid SAM template")
            for cause in e.causes:
                print(f"    {cause.message}")
            return 1
        with tempfile.TemporaryDirectory(prefix="ctpvx-lint-") as tmp:
            out = Path(tmp) / "translated.json"
            out.write_text(json.dumps(translated, indent=1))
            errors, warnings = cfn_lint(out, "translated CloudFormation", args.region, False)
            failed |= errors
            warned |= warnings

    if failed or (args.strict and warned):
        print(f"lint_template: {args.template} FAILED", file=sys.stderr)
        return 1
    print(f"lint_template: {args.template} OK" + (" (with warnings)" if warned else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
