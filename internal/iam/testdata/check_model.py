"""Checks IAM query-protocol responses against botocore's IAM model.

Usage: check_model.py DIR. Each DIR/<Operation>-<n>.xml is one response the
unit tests produced. Every element must be a member the model declares for
that operation's output (botocore silently drops unknown ones, so a typo
would otherwise go unnoticed), lists must use <member>, and timestamps,
booleans and integers must parse. Prints one line per problem and exits 1
if there is any; exits 0 with "skip" when botocore is not installed.
"""
import glob
import gzip
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

try:
    import botocore
except ImportError:
    print("skip: botocore is not installed")
    sys.exit(0)

# AWS answers GetUser and CreateAccessKey for the root user without the
# user name and path the model marks required.
ALLOWED = {
    "GetUser/User: missing required Path of User",
    "GetUser/User: missing required UserName of User",
    "CreateAccessKey/AccessKey: missing required UserName of AccessKey",
}

base = os.path.join(os.path.dirname(botocore.__file__), "data", "iam", "2010-05-08", "service-2.json")
model = json.load(gzip.open(base + ".gz")) if os.path.exists(base + ".gz") else json.load(open(base))
shapes = model["shapes"]
problems = set()


def local(tag):
    return tag.split("}", 1)[-1]


def walk(el, shape_name, path):
    shape = shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        for child in el:
            name = local(child.tag)
            member = shape["members"].get(name)
            if member is None:
                problems.add(f"{path}/{name}: unknown member of {shape_name}")
                continue
            walk(child, member["shape"], path + "/" + name)
        present = {local(c.tag) for c in el}
        for req in shape.get("required", []):
            if req not in present:
                problems.add(f"{path}: missing required {req} of {shape_name}")
    elif kind == "list":
        for child in el:
            if local(child.tag) != "member":
                problems.add(f"{path}/{local(child.tag)}: list item is not <member>")
            walk(child, shape["member"]["shape"], path + "/member")
    elif kind == "timestamp":
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", el.text or ""):
            problems.add(f"{path}: bad timestamp {el.text!r}")
    elif kind == "boolean":
        if el.text not in ("true", "false"):
            problems.add(f"{path}: bad boolean {el.text!r}")
    elif kind == "integer":
        if not re.fullmatch(r"-?\d+", el.text or ""):
            problems.add(f"{path}: bad integer {el.text!r}")
    elif len(el):
        problems.add(f"{path}: scalar {shape_name} has child elements")


files = sorted(glob.glob(os.path.join(sys.argv[1], "*.xml")))
for f in files:
    op = os.path.basename(f).rsplit("-", 1)[0]
    if op not in model["operations"]:
        problems.add(f"{op}: not an IAM operation")
        continue
    root = ET.parse(f).getroot()
    if local(root.tag) != op + "Response":
        problems.add(f"{op}: root element {local(root.tag)}")
    output = model["operations"][op].get("output")
    results = [c for c in root if local(c.tag) == op + "Result"]
    if output is None:
        if results:
            problems.add(f"{op}: Result element for an operation without output")
        continue
    if not results:
        if shapes[output["shape"]]["members"]:
            problems.add(f"{op}: no Result element")
        continue
    walk(results[0], output["shape"], op)

problems -= ALLOWED
for p in sorted(problems):
    print(p)
print(f"checked {len(files)} responses", file=sys.stderr)
sys.exit(1 if problems else 0)
