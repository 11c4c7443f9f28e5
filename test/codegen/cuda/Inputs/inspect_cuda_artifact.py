#!/usr/bin/env python3
"""Prints what a CUDA artifact carries, for FileCheck.

For each shared library: its NEEDED libraries, whether it exports the model
descriptor, and every image of every embedded fatbinary (kind, SM, bytes).
The fatbinary layout is the toolkit's: a 16-byte header (magic 0xBA55ED50,
version, header size, payload size) followed by entries whose header holds
the kind (1 = PTX, 2 = ELF cubin) at 0, the header size at 4, the payload
size at 8 and the SM number at 28.
"""
import struct
import subprocess
import sys

MAGIC = struct.pack("<I", 0xBA55ED50)


def fatbin_images(data):
    at = data.find(MAGIC)
    while at >= 0:
        _, _, header, size = struct.unpack_from("<IHHQ", data, at)
        entry, end = at + header, at + header + size
        while entry < end:
            kind, _, entry_header, payload = struct.unpack_from("<HHIQ", data, entry)
            (sm,) = struct.unpack_from("<I", data, entry + 28)
            yield {1: "ptx", 2: "elf"}.get(kind, "kind%d" % kind), sm, payload
            entry += entry_header + payload
        at = data.find(MAGIC, end)


def main():
    for path in sys.argv[1:]:
        print("artifact", path.rsplit("/", 1)[-1])
        dyn = subprocess.run(["readelf", "-d", "-W", path], capture_output=True,
                             text=True, check=True).stdout
        needed = sorted(l.split("[")[1].rstrip("]") for l in dyn.splitlines()
                        if "(NEEDED)" in l)
        print("needed", " ".join(needed))
        syms = subprocess.run(["nm", "-D", "--defined-only", path],
                              capture_output=True, text=True, check=True).stdout
        print("descriptor", "yes" if " kiln_model_descriptor" in syms else "no")
        with open(path, "rb") as f:
            data = f.read()
        for kind, sm, size in fatbin_images(data):
            print("image %s sm_%d %d bytes" % (kind, sm, size))
        print("end")


if __name__ == "__main__":
    main()
