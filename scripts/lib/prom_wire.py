"""Prometheus remote-write 1.0 bodies by hand (protobuf wire format, no generated code):
what the crash rounds send and what the fuzz seeds start from."""

import struct


def varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def write_request(samples) -> bytes:
    """An uncompressed prometheus.WriteRequest: one TimeSeries per (labels dict, t ms, value)."""
    body = b""
    for labels, t, v in samples:
        series = b"".join(field(1, field(1, k.encode()) + field(2, val.encode())) for k, val in sorted(labels.items()))
        sample = varint(1 << 3 | 1) + struct.pack("<d", v) + varint(2 << 3) + varint(t)
        body += field(1, series + field(2, sample))
    return body
