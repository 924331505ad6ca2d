#!/usr/bin/env python3
"""Independent offline check of a Vigil export (docs/export.md).

Uses only the Python standard library and the formulas in docs/storage.md,
to show an auditor can verify an export without Vigil's code, store or
daemon. It streams the file line by line: memory stays bounded whatever
its size (only the bookkeeping of pruned bodies grows, as seq ranges).

Usage: verify_export.py EXPORT [--key FILE]

Exit status 0 and one `ok: ...` line when the export verifies; 1 and one
`FAILED at seq S: <problem>: <detail>` (or `FAILED at line L: ...` for a
line that is not an entry) when it does not; 2 for a usage error (missing
file, unreadable key). The key is never printed.

It decodes only the bodies the chain needs (genesis, epoch, checkpoint and
retention entries) and trusts `body`, never `event`: the `event` and `kind`
fields are renderings it does not read (`vigilctl verify --export` checks them).
The first failure in the order of the lines is reported: a change to an entry
line fails at that seq.
"""
import argparse
import base64
import hashlib
import hmac
import json
import struct
import sys

EXPORT_VERSION = 1
ZERO = bytes(32)
U64_MAX = (1 << 64) - 1
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1
MAX_EPOCHS = 10_000_000  # as the Rust verifier: never derive keys past this

GENESIS, EPOCH, CHECKPOINT, RETENTION = 1, 2, 3, 24
CHAIN_KINDS = (GENESIS, EPOCH, CHECKPOINT)  # never pruned, never left out
FULL_KINDS = CHAIN_KINDS + (RETENTION,)  # always exported in full
KIND_NAMES = {
    1: "genesis", 2: "epoch", 3: "checkpoint", 16: "ingest", 17: "collect",
    18: "auth", 19: "notify", 20: "config", 21: "key", 22: "secret",
    23: "incident", 24: "retention", 25: "custom", 26: "system", 27: "silence",
}
# Event variant index -> kind code (docs/storage.md, "Bodies";
# store/src/event/mod.rs for the variants appended since).
VARIANT_KIND = {
    0: 1, 1: 2, 2: 3, 3: 16, 4: 16, 5: 17, 6: 17, 7: 18, 8: 18, 9: 19,
    10: 20, 11: 21, 12: 22, 13: 23, 14: 24, 15: 25, 16: 26, 17: 27,
    18: 27, 19: 19, 20: 24, 21: 26, 22: 17, 23: 17, 24: 24, 25: 24,
}
V_GENESIS, V_EPOCH, V_CHECKPOINT, V_RETENTION_RUN, V_BODIES_PRUNED = 0, 1, 2, 14, 20
BODY_FORMAT = 1


def kind_name(code):
    return KIND_NAMES.get(code, f"kind {code}")


class Failed(Exception):
    """The export does not verify: where, and what is wrong."""

    def __init__(self, problem, detail, seq=None, line=None):
        super().__init__(detail)
        self.problem, self.detail, self.seq, self.line = problem, detail, seq, line

    def __str__(self):
        where = f"seq {self.seq}" if self.seq is not None else f"line {self.line}"
        return f"FAILED at {where}: {self.problem}: {self.detail}"


def usage_error(message):
    print(f"verify_export.py: {message}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------- keys

def evolve(key, epoch):
    """K(epoch + 1) from K(epoch)."""
    return hmac.new(key, b"vigil-evolve" + struct.pack(">Q", epoch), hashlib.sha256).digest()


def fingerprint(k0):
    return hashlib.sha256(b"vigil-vk-fingerprint" + k0).hexdigest()


def read_key(path):
    """(store id, K(0)) from a `vigil-vk1:<id>:<K(0)>` file. Errors never echo it."""
    try:
        with open(path, "rb") as f:
            raw = f.read(4096)
    except OSError as e:
        usage_error(f"{path}: cannot read the verification key: {e.strerror}")
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        usage_error(f"{path}: not a Vigil verification key (not ASCII text)")
    parts = text.split(":")
    if len(parts) != 3:
        usage_error(f"{path}: expected one line `vigil-vk1:<store id>:<key>`")
    if parts[0] != "vigil-vk1":
        usage_error(f"{path}: not a Vigil verification key (missing `vigil-vk1:` prefix)")
    store_id, k0 = parse_hex(parts[1], 16), parse_hex(parts[2], 32)
    if store_id is None:
        usage_error(f"{path}: store id is not 32 hex digits")
    if k0 is None:
        usage_error(f"{path}: key is not 64 hex digits")
    return store_id, k0


def parse_hex(text, size):
    if not isinstance(text, str) or len(text) != 2 * size:
        return None
    if not all(c in "0123456789abcdefABCDEF" for c in text):
        return None  # bytes.fromhex would skip whitespace
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


class Keys:
    """K(e) for the epochs met, derived forward from K(0) one epoch at a time.

    Epochs never decrease along what is checked (a regression fails first),
    so only the latest key is kept.
    """

    def __init__(self, k0):
        self.k0, self.epoch, self.key = k0, 0, k0

    def tag_ok(self, seq, epoch, link, tag):
        # Every epoch opens with its own entry, so no entry's epoch exceeds
        # its seq: a larger claim is forged (and deriving it would only waste time).
        if epoch > seq or epoch > MAX_EPOCHS:
            return False
        if epoch < self.epoch:
            self.epoch, self.key = 0, self.k0
        while self.epoch < epoch:
            self.key = evolve(self.key, self.epoch)
            self.epoch += 1
        expected = hmac.new(self.key, link, hashlib.sha256).digest()
        return hmac.compare_digest(expected, tag)

    def header_sealed(self, epoch, header_line, tag):
        """Whether `tag` is HMAC(K(epoch), HEADER_SEAL_LABEL + header line)."""
        key = self.k0
        for e in range(epoch):
            key = evolve(key, e)
        expected = hmac.new(key, HEADER_SEAL_LABEL + header_line, hashlib.sha256).digest()
        return hmac.compare_digest(expected, tag)


# What a header's seal covers, before the header line's bytes (docs/export.md).
HEADER_SEAL_LABEL = b"vigil-export-header\n"
# A header is sealed at most this many epochs after its head's.
MAX_SEAL_EPOCHS_AFTER_HEAD = 1000


# ---------------------------------------------------------------- chain

def chain_link(prev, seq, time, kind, digest):
    return hashlib.sha256(prev + struct.pack(">QqH", seq, time, kind) + digest).digest()


# ---------------------------------------------------------------- postcard

class Undecodable(Exception):
    pass


class Reader:
    """Postcard, as much as the chain's own bodies need (docs/storage.md)."""

    def __init__(self, buf, at=0):
        self.buf, self.at = buf, at

    def byte(self):
        if self.at >= len(self.buf):
            raise Undecodable("the body ends early")
        b = self.buf[self.at]
        self.at += 1
        return b

    def varint(self, bits=64):
        """Unsigned LEB128, at most as wide as a u32 or u64."""
        value, shift = 0, 0
        for _ in range((bits + 6) // 7):
            b = self.byte()
            value |= (b & 0x7F) << shift
            if b < 0x80:
                if value >> bits:
                    raise Undecodable(f"a varint overflows u{bits}")
                return value
            shift += 7
        raise Undecodable(f"a varint is longer than a u{bits}'s")

    def i64(self):
        z = self.varint(64)
        return (z >> 1) ^ -(z & 1)

    def raw(self, n):
        if self.at + n > len(self.buf):
            raise Undecodable("the body ends early")
        out = self.buf[self.at:self.at + n]
        self.at += n
        return out

    def bytes_(self):
        return self.raw(self.varint(64))

    def string(self):
        try:
            return self.bytes_().decode("utf-8")
        except UnicodeDecodeError:
            raise Undecodable("a string is not UTF-8") from None

    def option(self, inner):
        tag = self.byte()
        if tag == 0:
            return None
        if tag == 1:
            return inner()
        raise Undecodable(f"an option's tag is {tag}, not 0 or 1")

    def end(self):
        if self.at != len(self.buf):
            raise Undecodable(f"{len(self.buf) - self.at} trailing bytes after the event")


def decode_structural(body):
    """(variant, fields) of a genesis, epoch, checkpoint or retention body."""
    r = Reader(body)
    fmt = r.byte() if body else None
    if fmt is None:
        raise Undecodable("empty body")
    if fmt != BODY_FORMAT:
        raise Undecodable(f"body format {fmt} is not supported (this reads {BODY_FORMAT})")
    variant = r.varint(32)
    if variant not in VARIANT_KIND:
        raise Undecodable(f"unknown event variant {variant}")
    fields = None
    if variant == V_GENESIS:
        fields = {"store_id": r.raw(16), "format": r.varint(32), "software": r.string()}
    elif variant == V_EPOCH:
        fields = {"epoch": r.varint(64), "reason": r.string()}
    elif variant == V_CHECKPOINT:
        fields = {
            "cut_seq": r.varint(64), "cut_time": r.i64(), "cut_epoch": r.varint(64),
            "cut_link": r.raw(32), "cut_tag": r.raw(32),
            "previous": r.option(lambda: r.varint(64)),
        }
        for _ in range(r.varint(64)):  # views: {view, version, state}
            r.string(), r.varint(32), r.bytes_()
    elif variant == V_RETENTION_RUN:
        r.string(), r.varint(64), r.option(lambda: r.varint(64)), r.varint(64), r.varint(64)
    elif variant == V_BODIES_PRUNED:
        ranges = [(r.varint(64), r.varint(64)) for _ in range(r.varint(64))]
        fields = {"ranges": ranges, "reason": r.string()}
    else:
        # Another kind's variant: the caller reports the mismatch.
        return variant, None
    r.end()
    return variant, fields


# ---------------------------------------------------------------- prunes

class PruneBook:
    """Pruned bodies no record named yet, as sorted disjoint [first, last] ranges.

    Records come after what they name, so a record only ever removes from
    what is already here.
    """

    def __init__(self):
        self.pending = []
        self.count = 0

    def note_pruned(self, seq):
        self.count += 1
        if self.pending and self.pending[-1][1] + 1 == seq:
            self.pending[-1][1] = seq
        else:
            self.pending.append([seq, seq])

    def note_record(self, ranges):
        for first, last in ranges:
            # The first pending range that ends at or after `first`.
            lo, hi = 0, len(self.pending)
            while lo < hi:
                mid = (lo + hi) // 2
                if self.pending[mid][1] < first:
                    lo = mid + 1
                else:
                    hi = mid
            i = lo
            while i < len(self.pending) and self.pending[i][0] <= last:
                a, b = self.pending[i]
                keep = []
                if a < first:
                    keep.append([a, first - 1])
                if b > last:
                    keep.append([last + 1, b])
                self.pending[i:i + 1] = keep
                i += len(keep)
                if b > last:
                    break

    def first_unaccounted(self):
        return self.pending[0][0] if self.pending else None

    def unresolved(self):
        return sum(b - a + 1 for a, b in self.pending)


# ---------------------------------------------------------------- lines

def is_int(v, lo, hi):
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def is_hash(v):
    return isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v)


def reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def parse_line(raw, number):
    try:
        text = raw.decode("utf-8")
        obj = json.loads(text, parse_constant=reject_constant)
    except (UnicodeDecodeError, ValueError) as e:
        raise Failed("bad_json", f"not a JSON line ({e})", line=number) from None
    if not isinstance(obj, dict):
        raise Failed("bad_json", "not a JSON object", line=number)
    return obj


def chain_fields(obj, what, fields, bad):
    """Checks the chain fields of a header part or an entry; `bad(detail)` raises."""
    out = {}
    for name in fields:
        v = obj.get(name)
        if name in ("seq", "epoch"):
            ok = is_int(v, 0, U64_MAX)
        elif name == "time":
            ok = is_int(v, I64_MIN, I64_MAX)
        elif name == "kind_code":
            ok = is_int(v, 0, 0xFFFF)
        else:
            ok = is_hash(v)
            if ok:
                v = bytes.fromhex(v)
        if not ok:
            bad(f"{what} `{name}` is missing or malformed" +
                (" (64 lowercase hex digits expected)" if name in ("digest", "link", "tag") else ""))
        out[name] = v
    return out


class Header:
    def __init__(self, obj):
        def bad(detail):
            raise Failed("bad_header", detail, line=1)

        if obj.get("record") != "header":
            bad("the first line is not the header")
        if obj.get("version") != EXPORT_VERSION or isinstance(obj.get("version"), bool):
            raise Failed("unsupported_version",
                         f"export version {obj.get('version')!r}, this reads {EXPORT_VERSION}",
                         line=1)
        self.store_id = parse_hex(obj.get("store_id"), 16)
        if self.store_id is None or obj["store_id"] != obj["store_id"].lower():
            bad("`store_id` is not 32 lowercase hex digits")
        self.first, self.last = obj.get("first"), obj.get("last")
        if not is_int(self.first, 1, U64_MAX):
            bad("`first` is missing or not a seq")
        if not is_int(self.last, self.first - 1, U64_MAX):
            bad("`last` is missing or before `first - 1`")
        before = obj.get("before")
        if self.first == 1:
            if before is not None:
                bad("`before` must be null when `first` is 1")
            self.before = None
        else:
            if not isinstance(before, dict):
                bad(f"`before` must give entry {self.first - 1}, which entry {self.first} links to")
            self.before = chain_fields(before, "`before`", ("seq", "time", "epoch", "link", "tag"), bad)
            if self.before["seq"] != self.first - 1:
                bad(f"`before` is entry {self.before['seq']}, not {self.first - 1}")
        head = obj.get("head")
        if not isinstance(head, dict):
            bad("`head` is missing")
        self.head = chain_fields(head, "`head`", ("seq", "time", "epoch", "link"), bad)
        if self.head["seq"] < self.last:
            bad(f"`last` ({self.last}) is past the head ({self.head['seq']})")
        fp = obj.get("key_fingerprint")
        if fp is not None and not is_hash(fp):
            bad("`key_fingerprint` is neither null nor 64 lowercase hex digits")
        self.key_fingerprint = fp
        flt = obj.get("filter")
        if not isinstance(flt, dict):
            bad("`filter` is missing")
        kinds, source = flt.get("kinds"), flt.get("source")
        if kinds is not None and not (isinstance(kinds, list) and all(isinstance(k, str) for k in kinds)):
            bad("`filter.kinds` is neither null nor a list of kind names")
        if source is not None and not isinstance(source, str):
            bad("`filter.source` is neither null nor a name")
        self.filter_kinds, self.filter_source = kinds, source

    def excludes(self, kind):
        """Whether the filter may leave this kind's bodies out (a source
        filter may leave out any kind: the source is in the body)."""
        if self.filter_source is not None:
            return True
        return self.filter_kinds is not None and kind_name(kind) not in self.filter_kinds

    @property
    def reaches_head(self):
        return self.last == self.head["seq"]


class Verifier:
    def __init__(self, header, key):
        self.header = header
        self.keys = Keys(key) if key is not None else None
        b = header.before
        if b is None:
            # The head of an empty chain (store/src/chain.rs, Head::EMPTY).
            self.prev = {"seq": 0, "time": I64_MIN, "epoch": 0, "link": ZERO}
        else:
            self.prev = {k: b[k] for k in ("seq", "time", "epoch", "link")}
        self.entries = self.bodies = self.omitted = 0
        self.prunes = PruneBook()

    def fail(self, seq, problem, detail):
        """The first failure, in the order of the lines: a change to an entry
        line fails at that seq, even when a prune before it is settled only
        by a record after it (docs/export.md)."""
        raise Failed(problem, detail, seq=seq)

    def check_before(self):
        b = self.header.before
        if b is not None and self.keys is not None:
            if not self.keys.tag_ok(b["seq"], b["epoch"], b["link"], b["tag"]):
                raise Failed("bad_tag",
                             f"the header's `before` (entry {b['seq']}, which the export "
                             f"starts after) does not carry epoch {b['epoch']}'s seal of its link",
                             seq=b["seq"])

    def entry(self, obj, number):
        prev = self.prev
        expected = prev["seq"] + 1
        seq = obj.get("seq")
        if not is_int(seq, 0, U64_MAX):
            raise Failed("bad_export", "an entry line without a valid `seq`", line=number)
        if seq != expected:
            self.fail(expected, "gap", f"entry {expected} is missing (the next line is seq {seq})")
        if seq > self.header.last:
            self.fail(seq, "bad_export", f"entry {seq} is past the header's last ({self.header.last})")

        def bad(detail):
            self.fail(seq, "bad_export", detail)

        e = chain_fields(obj, "the entry's", ("time", "kind_code", "epoch", "digest", "link", "tag"), bad)
        pruned, omitted = obj.get("pruned", False), obj.get("omitted", False)
        if not isinstance(pruned, bool) or not isinstance(omitted, bool):
            bad("`pruned` and `omitted` must be true or false")
        if pruned and omitted:
            bad("a line cannot be both pruned and omitted (a pruned entry is never a compact line)")
        body = obj.get("body")
        kind = e["kind_code"]
        if pruned or omitted:
            if body is not None:
                bad(f"a {'pruned' if pruned else 'compact'} line carries a body")
        else:
            if not isinstance(body, str):
                bad("the line has no body but is neither pruned nor omitted")
            try:
                body = base64.b64decode(body, validate=True)
            except ValueError:  # binascii.Error is one
                bad("`body` is not standard base64")
        if omitted and kind in FULL_KINDS:
            bad(f"the {kind_name(kind)} entry is left out, and the chain's own entries "
                "and retention records are always exported in full")
        if omitted and not self.header.excludes(kind):
            bad(f"a compact line, but the header says {kind_name(kind)} entries are exported in full")
        if omitted:
            self.omitted += 1

        # The entry rules (store/src/verify.rs, EntryRules::check), in order.
        epoch = e["epoch"]
        if epoch < prev["epoch"]:
            self.fail(seq, "epoch_regression", f"epoch went back from {prev['epoch']} to {epoch}")
        if epoch > prev["epoch"] + 1:
            self.fail(seq, "epoch_gap", f"epochs skipped from {prev['epoch']} to {epoch}")
        opens = GENESIS if seq == 1 else EPOCH
        if epoch == prev["epoch"] + 1 and kind != opens:
            self.fail(seq, "epoch_not_opened",
                      f"epoch {epoch} does not begin with its {kind_name(opens)} entry "
                      f"(this is a {kind_name(kind)} entry)")
        if e["time"] < prev["time"]:
            self.fail(seq, "time_regression", f"time went back from {prev['time']} to {e['time']}")
        if body is not None and hashlib.sha256(body).digest() != e["digest"]:
            self.fail(seq, "bad_digest", "the body does not hash to `digest` (altered)")
        if chain_link(prev["link"], seq, e["time"], kind, e["digest"]) != e["link"]:
            self.fail(seq, "broken_link",
                      "the entry does not chain to its predecessor "
                      "(altered, inserted, removed or reordered)")
        if self.keys is not None and not self.keys.tag_ok(seq, epoch, e["link"], e["tag"]):
            self.fail(seq, "bad_tag",
                      "the seal does not match (altered, or re-sealed with another epoch's key)")
        self.check_body(seq, kind, epoch, body, pruned)

        self.entries += 1
        self.prev = {"seq": seq, "time": e["time"], "epoch": epoch, "link": e["link"]}

    def check_body(self, seq, kind, epoch, body, pruned):
        if body is None:
            if kind in FULL_KINDS:  # retention's records account for the rest
                self.fail(seq, "pruned_chain_entry",
                          f"the body of this {kind_name(kind)} entry is gone, "
                          "and the chain's own entries are never pruned")
            if pruned:
                self.prunes.note_pruned(seq)
            return
        self.bodies += 1
        if kind not in FULL_KINDS:
            return  # the digest proved it is the body that was sealed
        try:
            variant, fields = decode_structural(body)
        except Undecodable as e:
            self.fail(seq, "undecodable", str(e))
        if VARIANT_KIND[variant] != kind:
            self.fail(seq, "kind_mismatch",
                      f"header says kind {kind} but the body is kind {VARIANT_KIND[variant]}")
        if variant == V_EPOCH and fields["epoch"] != epoch:
            self.fail(seq, "bad_body",
                      f"epoch entry names epoch {fields['epoch']} but is sealed in {epoch}")
        if variant == V_GENESIS and fields["store_id"] != self.header.store_id:
            self.fail(seq, "bad_body",
                      f"genesis names store {fields['store_id'].hex()} "
                      f"but this is store {self.header.store_id.hex()}")
        if variant == V_BODIES_PRUNED:
            after = 0
            for first, last in fields["ranges"]:
                if first > last or first <= after or last >= seq:
                    self.fail(seq, "bad_body",
                              f"the prune record names seqs {first}..={last} "
                              "out of order or not before itself")
                after = last
            self.prunes.note_record(fields["ranges"])

    def finish(self, trailer, number):
        """After the last entry line: the range, the head, prunes, the trailer."""
        h = self.header
        if self.prev["seq"] < h.last:
            expected = self.prev["seq"] + 1
            self.fail(expected, "gap",
                      f"entry {expected} is missing (the entries end before the header's last, {h.last})")
        if h.reaches_head:
            for field in ("link", "time", "epoch"):
                found, claimed = self.prev[field], h.head[field]
                if found != claimed:
                    if field == "link":
                        found, claimed = found.hex(), claimed.hex()
                    self.fail(h.last, "anchor_mismatch",
                              f"the export reaches the head but entry {h.last} has {field} "
                              f"{found}, not the head's {claimed}")
            # Every record that could name a prune is in the export.
            first = self.prunes.first_unaccounted()
            if first is not None:
                raise Failed("unaccounted_prune", UNACCOUNTED, seq=first)

        def bad(detail):
            raise Failed("bad_trailer", detail, line=number)

        count, last_seq, last_link = trailer.get("count"), trailer.get("last_seq"), trailer.get("last_link")
        if not is_int(count, 0, U64_MAX) or count != self.entries:
            bad(f"`count` is {count!r} but the export has {self.entries} entry lines")
        if not is_int(last_seq, 0, U64_MAX) or last_seq != self.prev["seq"]:
            bad(f"`last_seq` is {last_seq!r} but the last entry is {self.prev['seq']}")
        # An empty export has no last entry: its last link is `before`'s
        # (32 zero bytes when `first` is 1), as the writer puts it.
        if not (is_hash(last_link) and bytes.fromhex(last_link) == self.prev["link"]):
            whose = "the last entry's" if self.entries else "`before`'s (zeros when `first` is 1)"
            bad(f"`last_link` is {last_link!r} but {whose} link is {self.prev['link'].hex()}")
        seal = trailer.get("header_seal")
        if seal is not None and not (
            isinstance(seal, dict) and is_int(seal.get("epoch"), 0, U64_MAX) and is_hash(seal.get("tag"))
        ):
            bad("`header_seal` is neither null nor {epoch, tag}")
        self.header_seal = seal

    def check_header_seal(self, header_line):
        """With the key: the header's range, head and filter are the daemon's.
        Returns whether the header was sealed."""
        seal = self.header_seal
        if seal is None:
            return False
        epoch, head_epoch = seal["epoch"], self.header.head["epoch"]
        ok = (head_epoch <= epoch <= head_epoch + MAX_SEAL_EPOCHS_AFTER_HEAD
              and self.keys.header_sealed(epoch, header_line, bytes.fromhex(seal["tag"])))
        if not ok:
            raise Failed("bad_export",
                         "the header's seal does not match: its range, head or filter was changed",
                         line=1)
        return True


UNACCOUNTED = ("the body is gone and no retention entry names it "
               "(removed outside retention)")


def verify(path, key, allow_unsealed=False):
    """The summary line; raises Failed."""
    try:
        f = open(path, "rb")
    except OSError as e:
        usage_error(f"{path}: {e.strerror}")
    with f:
        lines = iter(f)
        number = 1
        first_line = next(lines, None)
        if first_line is None:
            raise Failed("bad_header", "the file is empty: no header", line=1)
        header = Header(parse_line(first_line, 1))
        if key is not None:
            key_store, k0 = key
            if key_store != header.store_id:
                raise Failed("wrong_key",
                             f"this key belongs to store {key_store.hex()}, "
                             f"not to store {header.store_id.hex()} (the export's)", line=1)
            if header.key_fingerprint is not None and fingerprint(k0) != header.key_fingerprint:
                raise Failed("wrong_key",
                             f"the key's fingerprint is {fingerprint(k0)} but the export names "
                             f"{header.key_fingerprint}: not the key of this store", line=1)
        v = Verifier(header, key[1] if key is not None else None)
        v.check_before()
        trailer = None
        for raw in lines:
            number += 1
            if trailer is not None:
                if raw.strip():
                    raise Failed("bad_export", "a line after the trailer", line=number)
                continue
            obj = parse_line(raw, number)
            record = obj.get("record")
            if record == "entry":
                v.entry(obj, number)
            elif record == "trailer":
                trailer = obj
                trailer_line = number
            elif record == "header":
                raise Failed("bad_export", "a second header", line=number)
            else:
                raise Failed("bad_export", f"unknown record {record!r}", line=number)
        if trailer is None:
            raise Failed("missing_trailer",
                         f"the file ends without its trailer after entry {v.prev['seq']} "
                         f"(the header's last is {header.last}): it was cut short",
                         line=number + 1)
        v.finish(trailer, trailer_line)
        header_sealed = None
        if key is not None:
            header_sealed = v.check_header_seal(first_line.rstrip(b"\r\n"))
            if not header_sealed and not allow_unsealed:
                raise Failed("unsealed_header",
                             "the header is not sealed, so its range, head and filter are claims "
                             "(an export made with --offline is never sealed: pass --allow-unsealed "
                             "for one, and compare its head with a chain anchor)", line=1)
    unresolved = v.prunes.unresolved()
    sealed = "yes" if key is not None else "no (no key)"
    if header_sealed is False:
        sealed += ", header not sealed (its range and filter are claims)"
    sealed += "; `event` renderings not checked (vigilctl verify --export checks them)"
    return (f"ok: {v.entries} entries ({header.first}..{header.last}), "
            f"{v.bodies} bodies checked, {v.omitted} left out by the filter, "
            f"{v.prunes.count} pruned ({unresolved} unresolved), "
            f"sealed: {sealed}")


def main():
    parser = argparse.ArgumentParser(
        description="Verify a Vigil export (JSON lines) offline, with the standard library only.")
    parser.add_argument("export", metavar="EXPORT", help="the export file (vigilctl export)")
    parser.add_argument("--key", metavar="FILE",
                        help="the verification key file (vigil-vk1:...); checks every seal")
    parser.add_argument("--allow-unsealed", action="store_true",
                        help="accept a header without a seal (an export made with --offline)")
    args = parser.parse_args()
    key = read_key(args.key) if args.key is not None else None
    try:
        summary = verify(args.export, key, args.allow_unsealed)
    except Failed as failure:
        print(failure)
        sys.exit(1)
    print(summary)


if __name__ == "__main__":
    main()
