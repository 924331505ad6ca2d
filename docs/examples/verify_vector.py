#!/usr/bin/env python3
"""Independent check of the storage test vector in docs/storage.md.

Uses only the Python standard library and the formulas in that document, to
show a third party can verify Vigil's chain without Vigil's code.
Usage: verify_vector.py [path/to/storage.md]; exits 0 when every value matches.
"""
import hashlib
import hmac
import re
import struct
import sys


def vector_block(path):
    text = open(path, encoding="utf-8").read()
    match = re.search(r"```vector\n(.*?)```", text, re.S)
    if not match:
        sys.exit(f"{path}: no ```vector block")
    return match.group(1)


def parse(block):
    k0, entries = None, []
    for line in block.splitlines():
        if line.startswith("K0 "):
            k0 = bytes.fromhex(line.split()[1])
        elif line.startswith("seq="):
            fields = dict(part.split("=") for part in line.split())
            entries.append({k: int(v) for k, v in fields.items()})
        elif line.startswith("  "):
            name, value = line.split()
            entries[-1][name] = bytes.fromhex(value)
    return k0, entries


def evolve(key, epoch):
    return hmac.new(key, b"vigil-evolve" + struct.pack(">Q", epoch), hashlib.sha256).digest()


def decode_value(value):
    """The fixed 116-byte entry header, then the body."""
    fmt, flags, kind, epoch, time = struct.unpack(">BBHQq", value[:20])
    assert fmt == 1, "entry format"
    return dict(
        flags=flags, kind=kind, epoch=epoch, time=time,
        digest=value[20:52], link=value[52:84], tag=value[84:116], body=value[116:],
    )


def varint(buf, at):
    """Postcard's unsigned LEB128: returns (value, next offset)."""
    value, shift = 0, 0
    while True:
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


RETENTION_KIND = 24
BODIES_PRUNED = 20  # Event variant index


def prune_record(body):
    """The (first, last) ranges a BodiesPruned body names, or None."""
    assert body[0] == 1, "body format"
    variant, at = varint(body, 1)
    if variant != BODIES_PRUNED:
        return None
    count, at = varint(body, at)
    ranges = []
    for _ in range(count):
        first, at = varint(body, at)
        last, at = varint(body, at)
        ranges.append((first, last))
    return ranges


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "docs/storage.md"
    k0, entries = parse(vector_block(path))
    keys = [k0]
    prev_link = bytes(32)
    pruned, accounted = [], []
    for e in entries:
        while len(keys) <= e["epoch"]:
            keys.append(evolve(keys[-1], len(keys) - 1))
        digest = hashlib.sha256(e["body"]).digest()
        assert digest == e["digest"], f"seq {e['seq']}: digest"
        link = hashlib.sha256(
            prev_link + struct.pack(">QqH", e["seq"], e["time"], e["kind"]) + digest
        ).digest()
        assert link == e["link"], f"seq {e['seq']}: link"
        tag = hmac.new(keys[e["epoch"]], link, hashlib.sha256).digest()
        assert hmac.compare_digest(tag, e["tag"]), f"seq {e['seq']}: tag"
        if "value" in e:
            v = decode_value(e["value"])
            for name in ("time", "kind", "epoch", "digest", "link", "tag", "body"):
                assert v[name] == e[name], f"seq {e['seq']}: stored {name}"
            assert v["flags"] == 0
        if "pruned" in e:
            # The same entry after retention dropped its body: header only,
            # flag set, chain fields untouched.
            v = decode_value(e["pruned"])
            assert v["flags"] == 1 and v["body"] == b"", f"seq {e['seq']}: pruned value"
            for name in ("time", "kind", "epoch", "digest", "link", "tag"):
                assert v[name] == e[name], f"seq {e['seq']}: pruned {name}"
            pruned.append(e["seq"])
        if e["kind"] == RETENTION_KIND:
            ranges = prune_record(e["body"]) or []
            for first, last in ranges:
                assert first <= last < e["seq"], f"seq {e['seq']}: prune record range"
            accounted.extend(ranges)
        prev_link = link
    # Every missing body must be named by a sealed retention entry.
    for seq in pruned:
        assert any(a <= seq <= b for a, b in accounted), f"seq {seq}: unaccounted prune"
    print(f"ok: {len(entries)} entries verified, {len(pruned)} pruned bodies accounted for")


if __name__ == "__main__":
    main()
