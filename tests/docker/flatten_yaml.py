#!/usr/bin/env python3
"""Prints one YAML document (a file, or stdin when the path is -) as `path=value` lines, one per
scalar, so that tests/examples.rs can check a compose file or a Kubernetes manifest without a YAML
parser of its own: `services.web.cap_drop.0=ALL`, `spec.replicas=1`. Booleans print as true/false,
null as null. Exits 2 when PyYAML is missing, 1 when the file is not one YAML document."""
import sys

try:
    import yaml
except ImportError:
    print("flatten_yaml.py: PyYAML is missing (pip install pyyaml)", file=sys.stderr)
    sys.exit(2)


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    return str(v)


def walk(prefix, node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            walk(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(f"{prefix}.{i}" if prefix else str(i), v, out)
    else:
        out.append(f"{prefix}={scalar(node)}")


def main():
    if len(sys.argv) != 2:
        print("usage: flatten_yaml.py FILE|-", file=sys.stderr)
        return 1
    text = sys.stdin.read() if sys.argv[1] == "-" else open(sys.argv[1]).read()
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        print(f"flatten_yaml.py: {e}", file=sys.stderr)
        return 1
    out = []
    walk("", doc, out)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
