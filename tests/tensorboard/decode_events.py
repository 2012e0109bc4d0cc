#!/usr/bin/python3
"""Independent check of TensorBoard event files.

Decodes every record of every event file under LOGDIR without any Descent code: the TFRecord framing
and both masked CRC32C checksums are verified with a table-driven CRC written here, the payloads are
parsed by python3-protobuf against descriptors that Debian's protoc compiles from the .proto files in
src/Descent/Logging/TensorBoard/Proto, and PNG images are checked with zlib (signature, chunk CRCs,
IHDR size, inflated IDAT length). Prints one JSON document describing every file, record and value;
exits 1 with a message on the first problem.

Needs: protobuf-compiler and python3-protobuf (apt-get install protobuf-compiler python3-protobuf).

    /usr/bin/python3 tests/tensorboard/decode_events.py LOGDIR
"""

import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "src", "Descent.TensorBoard", "Proto"))


def fail(message):
    print(f"decode_events: {message}", file=sys.stderr)
    sys.exit(1)


def crc32c_table():
    table = []
    for byte in range(256):
        value = byte
        for _ in range(8):
            value = (value >> 1) ^ (0x82F63B78 if value & 1 else 0)
        table.append(value)
    return table


CRC32C_TABLE = crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc = CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def message_classes():
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, struct_pb2
    except ImportError:
        fail("python3-protobuf is missing (apt-get install python3-protobuf)")
    protoc = shutil.which("protoc")
    if protoc is None:
        fail("protoc is missing (apt-get install protobuf-compiler)")
    with tempfile.TemporaryDirectory() as tmp:
        # The well-known struct.proto comes from python3-protobuf's own descriptor, so that protoc
        # needs no include files beyond the ones in PROTO_DIR.
        well_known = descriptor_pb2.FileDescriptorSet()
        struct_pb2.DESCRIPTOR.CopyToProto(well_known.file.add())
        well_known_path = os.path.join(tmp, "struct.pb")
        with open(well_known_path, "wb") as f:
            f.write(well_known.SerializeToString())
        out_path = os.path.join(tmp, "descent_tb.pb")
        protos = sorted(p for p in os.listdir(PROTO_DIR) if p.endswith(".proto"))
        result = subprocess.run(
            [protoc, f"--descriptor_set_in={well_known_path}", f"-I{PROTO_DIR}", "--include_imports",
             f"--descriptor_set_out={out_path}", *protos],
            cwd=PROTO_DIR, capture_output=True, text=True)
        if result.returncode != 0:
            fail(f"protoc could not compile {PROTO_DIR}: {result.stderr.strip()}")
        with open(out_path, "rb") as f:
            compiled = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for file_proto in compiled.file:
        pool.Add(file_proto)

    def cls(name):
        descriptor = pool.FindMessageTypeByName(name)
        if hasattr(message_factory, "GetMessageClass"):
            return message_factory.GetMessageClass(descriptor)
        return message_factory.MessageFactory(pool).GetPrototype(descriptor)

    return cls("tensorboard.Event"), cls("tensorboard.hparams.HParamsPluginData"), cls("tensorboard.TextPluginData")


def read_records(path):
    with open(path, "rb") as f:
        data = f.read()
    offset = 0
    while offset < len(data):
        if len(data) - offset < 12:
            fail(f"{path}: {len(data) - offset} stray bytes at offset {offset}")
        header = data[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[offset + 8:offset + 12])
        if length_crc != masked_crc32c(header):
            fail(f"{path}: length CRC mismatch at offset {offset}")
        end = offset + 12 + length + 4
        if end > len(data):
            fail(f"{path}: truncated record at offset {offset}")
        payload = data[offset + 12:offset + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[end - 4:end])
        if payload_crc != masked_crc32c(payload):
            fail(f"{path}: payload CRC mismatch at offset {offset}")
        yield offset, payload
        offset = end


def check_png(encoded, width, height, where):
    if encoded[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{where}: not a PNG signature")
    at = 8
    idat = b""
    ihdr = None
    while at < len(encoded):
        (length,) = struct.unpack(">I", encoded[at:at + 4])
        kind = encoded[at + 4:at + 8]
        body = encoded[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", encoded[at + 8 + length:at + 12 + length])
        if crc != zlib.crc32(kind + body) & 0xFFFFFFFF:
            fail(f"{where}: CRC mismatch in PNG chunk {kind!r}")
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    if ihdr is None:
        fail(f"{where}: PNG without IHDR")
    png_width, png_height, depth, color_type = ihdr[:4]
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    if (png_width, png_height) != (width, height) or depth != 8:
        fail(f"{where}: PNG is {png_width}x{png_height} at {depth} bits, the record says {width}x{height}")
    raw = zlib.decompress(idat)
    if len(raw) != height * (1 + width * channels):
        fail(f"{where}: inflated IDAT has {len(raw)} bytes, expected {height * (1 + width * channels)}")
    return channels


def number(value):
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def decode_value(value, event, hparams_class, where):
    out = {"tag": value.tag, "step": event.step}
    plugin = value.metadata.plugin_data.plugin_name if value.HasField("metadata") else ""
    kind = value.WhichOneof("value")
    if plugin == "hparams":
        data = hparams_class.FromString(value.metadata.plugin_data.content)
        which = data.WhichOneof("data")
        out["kind"] = "hparams/" + which
        if which == "experiment":
            out["hparams"] = {h.name: h.type for h in data.experiment.hparam_infos}
            out["metrics"] = [m.name.tag for m in data.experiment.metric_infos]
        elif which == "session_start_info":
            out["hparams"] = {k: number(v.number_value) if v.WhichOneof("kind") == "number_value" else getattr(v, v.WhichOneof("kind"))
                              for k, v in data.session_start_info.hparams.items()}
        else:
            out["status"] = data.session_end_info.status
    elif kind == "simple_value":
        out["kind"] = "scalar"
        out["value"] = number(value.simple_value)
    elif kind == "tensor" and plugin == "scalars":
        out["kind"] = "scalar"
        if value.tensor.dtype != 1 or len(value.tensor.float_val) != 1 or len(value.tensor.tensor_shape.dim) != 0:
            fail(f"{where}: tag {value.tag}: a scalar tensor must be a rank-0 DT_FLOAT")
        out["value"] = number(value.tensor.float_val[0])
    elif kind == "histo":
        h = value.histo
        limits, counts = list(h.bucket_limit), list(h.bucket)
        if len(limits) != len(counts) or not limits:
            fail(f"{where}: tag {value.tag}: {len(limits)} bucket limits and {len(counts)} counts")
        if any(b <= a for a, b in zip(limits, limits[1:])):
            fail(f"{where}: tag {value.tag}: bucket limits are not increasing")
        if sum(counts) > h.num:
            fail(f"{where}: tag {value.tag}: buckets hold {sum(counts)} values but num is {h.num}")
        out.update(kind="histogram", num=h.num, min=number(h.min), max=number(h.max), sum=number(h.sum),
                   sum_squares=number(h.sum_squares), buckets=len(counts), counted=sum(counts))
    elif kind == "image":
        image = value.image
        channels = check_png(image.encoded_image_string, image.width, image.height, f"{where}: tag {value.tag}")
        if channels != image.colorspace:
            fail(f"{where}: tag {value.tag}: PNG has {channels} channels, colorspace says {image.colorspace}")
        out.update(kind="image", width=image.width, height=image.height, colorspace=image.colorspace)
    elif kind == "tensor" and plugin == "text":
        t = value.tensor
        if t.dtype != 7 or [d.size for d in t.tensor_shape.dim] != [1] or len(t.string_val) != 1:
            fail(f"{where}: tag {value.tag}: text must be a DT_STRING tensor of shape [1]")
        if value.metadata.plugin_data.content != b"":
            fail(f"{where}: tag {value.tag}: text plugin content must be empty (version 0)")
        out.update(kind="text", text=t.string_val[0].decode("utf-8"))
    else:
        fail(f"{where}: tag {value.tag}: unexpected value kind {kind} with plugin '{plugin}'")
    return out


def main():
    if len(sys.argv) != 2:
        fail("usage: decode_events.py LOGDIR")
    event_class, hparams_class, _ = message_classes()
    logdir = sys.argv[1]
    files = []
    for root, _, names in sorted(os.walk(logdir)):
        for name in sorted(n for n in names if "tfevents" in n):
            path = os.path.join(root, name)
            run = os.path.relpath(root, logdir).replace(os.sep, "/")
            records, values = 0, []
            for index, (offset, payload) in enumerate(read_records(path)):
                where = f"{path} at offset {offset}"
                event = event_class.FromString(payload)
                if event.SerializeToString() != payload:
                    fail(f"{where}: the payload does not re-encode to the same bytes")
                if not 1e9 < event.wall_time < 4e9:
                    fail(f"{where}: wall_time {event.wall_time} is not Unix seconds")
                if index == 0:
                    if event.WhichOneof("what") != "file_version" or event.file_version != "brain.Event:2" or len(payload) != 24:
                        fail(f"{where}: the first record must be the 24-byte file_version event")
                elif event.WhichOneof("what") == "summary":
                    for value in event.summary.value:
                        values.append(decode_value(value, event, hparams_class, where))
                else:
                    fail(f"{where}: unexpected event kind {event.WhichOneof('what')}")
                records += 1
            files.append({"run": run, "name": name, "records": records, "values": values})
    json.dump({"files": files}, sys.stdout, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
