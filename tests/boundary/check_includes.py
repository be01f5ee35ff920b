#!/usr/bin/env python3
"""The control-dataplane boundary, checked on the sources' #include lines.

- src/control, src/cli, src/cni and src/client include from src/dataplane
  only the headers listed in src/dataplane/control_face.txt;
- src/dataplane includes nothing of the project outside src/dataplane and
  src/common;
- src/common includes nothing of the project outside src/common.

Usage: check_includes.py SOURCE_ROOT. Prints each violation as
FILE:LINE: message and exits 1 if there is any.
"""
import pathlib
import re
import sys

PROJECT_DIRS = ("common", "control", "dataplane", "cli", "cni", "client")
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')


def face(root: pathlib.Path) -> set[str]:
    listed = set()
    path = root / "src/dataplane/control_face.txt"
    for line in path.read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            listed.add(name)
    return listed


def project_includes(path: pathlib.Path):
    """(line number, included path) for each include of a project header."""
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = INCLUDE.match(line)
        if m and m.group(1).split("/", 1)[0] in PROJECT_DIRS:
            yield n, m.group(1)


def sources(root: pathlib.Path, folder: str):
    return sorted(p for p in (root / "src" / folder).rglob("*") if p.suffix in (".h", ".cpp"))


def check(root: pathlib.Path) -> list[str]:
    problems = []
    allowed = face(root)
    for name in sorted(allowed):
        if not (root / "src/dataplane" / name).is_file():
            problems.append(f"src/dataplane/control_face.txt: lists {name}, which does not exist")
    for folder in ("control", "cli", "cni", "client"):
        for path in sources(root, folder):
            for n, inc in project_includes(path):
                top, _, rest = inc.partition("/")
                if top == "dataplane" and rest not in allowed:
                    problems.append(f"{path.relative_to(root)}:{n}: includes {inc}, which is not in the "
                                    "dataplane's control face (src/dataplane/control_face.txt)")
    for folder, may in (("dataplane", {"dataplane", "common"}), ("common", {"common"})):
        for path in sources(root, folder):
            for n, inc in project_includes(path):
                if inc.split("/", 1)[0] not in may:
                    problems.append(f"{path.relative_to(root)}:{n}: includes {inc}; src/{folder} may include "
                                    f"only {' and '.join('src/' + d for d in sorted(may))}")
    return problems


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = pathlib.Path(sys.argv[1])
    problems = check(root)
    for p in problems:
        print(p)
    counted = sum(1 for f in PROJECT_DIRS for _ in sources(root, f))
    print(f"boundary: {counted} files checked, {len(problems)} violations")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
