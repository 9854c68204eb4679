"""Regenerate (or check) the committed Python stubs of every .proto under protos/.

    python -m protos.gen          # write *_pb2.py, *_pb2.pyi, *_pb2_grpc.py next to each .proto
    python -m protos.gen --check  # generate into a temp dir; exit 1 listing stale stubs

Imports inside the .proto files are relative to the repository root
(`import "protos/mvccpb/kv.proto";`), so the generated modules import each other as
`from protos.mvccpb import kv_pb2`. The stubs are committed; the check keeps them in
step with the .proto sources and with the pinned grpcio-tools version.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

PROTOS_DIR = Path(__file__).resolve().parent
REPO_ROOT = PROTOS_DIR.parent
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def proto_files() -> list[Path]:
    """All .proto sources, as paths relative to the repository root."""
    return sorted(p.relative_to(REPO_ROOT) for p in PROTOS_DIR.rglob("*.proto"))


def expected_outputs(protos: list[Path]) -> list[Path]:
    """The generated files the sources imply, relative to the repository root."""
    out: list[Path] = []
    for proto in protos:
        stem = proto.with_suffix("")
        out.extend(stem.parent / (stem.name + suffix) for suffix in GENERATED_SUFFIXES)
    return out


def committed_outputs() -> list[Path]:
    """Generated-looking files currently under protos/, relative to the repository root."""
    return sorted(
        p.relative_to(REPO_ROOT)
        for p in PROTOS_DIR.rglob("*_pb2*")
        if p.is_file() and p.name.endswith(GENERATED_SUFFIXES)
    )


def generate(out_dir: Path) -> list[Path]:
    """Run protoc over every source into out_dir; return the generated files (relative)."""
    from grpc_tools import protoc  # imported lazily: only the generator needs grpc_tools

    protos = proto_files()
    if not protos:
        raise SystemExit("no .proto files under protos/")
    well_known = str(resources.files("grpc_tools") / "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{REPO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *(str(p) for p in protos),
    ]
    rc = protoc.main(args)
    if rc != 0:
        raise SystemExit(f"protoc failed with exit code {rc}")
    outputs = expected_outputs(protos)
    missing = [p for p in outputs if not (out_dir / p).is_file()]
    if missing:
        raise SystemExit(f"protoc did not produce: {', '.join(map(str, missing))}")
    return outputs


# lines that only stamp the generator's version: a newer grpcio-tools patch release on a
# fresh machine must not make the committed stubs "stale"
_VERSION_STAMPS = ("GRPC_GENERATED_VERSION = ", "# Protobuf Python Version: ")


def _normalized(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines()
            if not line.startswith(_VERSION_STAMPS)]


def stale_files() -> list[str]:
    """Generate into a temp dir and list committed stubs that differ, are missing or orphaned."""
    with tempfile.TemporaryDirectory(prefix="kubemu-protos-") as tmp:
        outputs = generate(Path(tmp))
        stale = []
        for rel in outputs:
            committed = REPO_ROOT / rel
            if not committed.is_file():
                stale.append(f"{rel} (missing)")
            elif _normalized(committed) != _normalized(Path(tmp) / rel):
                stale.append(f"{rel} (differs)")
        expected = set(outputs)
        stale.extend(f"{rel} (no .proto source)" for rel in committed_outputs() if rel not in expected)
        return stale


def write() -> list[Path]:
    """Regenerate the stubs in place (and remove orphaned ones)."""
    with tempfile.TemporaryDirectory(prefix="kubemu-protos-") as tmp:
        outputs = generate(Path(tmp))
        for rel in outputs:
            dest = REPO_ROOT / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.is_file() or not filecmp.cmp(dest, Path(tmp) / rel, shallow=False):
                shutil.copyfile(Path(tmp) / rel, dest)
    expected = set(outputs)
    for rel in committed_outputs():
        if rel not in expected:
            (REPO_ROOT / rel).unlink()
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m protos.gen", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the committed stubs are up to date")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        if stale:
            print("stale generated stubs (run `python -m protos.gen`):", file=sys.stderr)
            for line in stale:
                print(f"  {line}", file=sys.stderr)
            return 1
        print("generated stubs are up to date")
        return 0
    for rel in write():
        print(rel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
