#!/usr/bin/env python3
"""Self-test of check_includes.py: a tiny source tree that keeps the boundary
passes, and each kind of violation is reported with its file and line."""
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import check_includes  # noqa: E402


def tree(files: dict[str, str]) -> pathlib.Path:
    root = pathlib.Path(tempfile.mkdtemp(prefix="pl-boundary-"))
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


BASE = {
    "src/dataplane/control_face.txt": "# face\nsnapshot.h  # published\n",
    "src/dataplane/snapshot.h": '#include "common/net.h"\n#include <vector>\n',
    "src/dataplane/worker_only.h": '#include "dataplane/snapshot.h"\n',
    "src/common/net.h": "#include <cstdint>\n",
    "src/control/agent.cpp": '#include "dataplane/snapshot.h"\n#include "control/x.h"\n',
}


def expect(files: dict[str, str], want: list[str]) -> None:
    got = check_includes.check(tree({**BASE, **files}))
    assert len(got) == len(want), got
    for g, w in zip(got, want):
        assert g.startswith(w), (g, w)


def main() -> int:
    expect({}, [])
    expect({"src/control/ports.cpp": '\n#include "dataplane/worker_only.h"\n'}, ["src/control/ports.cpp:2: "])
    expect({"src/cli/main.cpp": '#include <dataplane/worker_only.h>\n'}, ["src/cli/main.cpp:1: "])
    expect({"src/dataplane/route.h": '#include "control/config.h"\n'}, ["src/dataplane/route.h:1: "])
    expect({"src/common/x.h": '#include "dataplane/snapshot.h"\n'}, ["src/common/x.h:1: "])
    expect({"src/dataplane/control_face.txt": "snapshot.h\ngone.h\n"}, ["src/dataplane/control_face.txt: lists gone.h"])
    print("boundary self-test: 6 cases passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
