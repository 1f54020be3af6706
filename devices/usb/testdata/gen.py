#!/usr/bin/env python3
"""Writes reader.umockdev, reader.pcap and stick.pcap for TestGousbAdapter.

Descriptors and pcap records as in ../../../../shared/recipes (usb-descriptors.py,
usb-strings-pcap.py). reader.umockdev describes two devices on bus 1: a SanDisk stick
(mass storage, class 08) at 1-1 address 2 and the vendor-class fingerprint reader
06cb:00bd at 1-2 address 3. stick.pcap answers the stick's manufacturer and product
string descriptors (its serial is in sysfs); reader.pcap answers one bulk OUT
transfer of b"ping" on endpoint 0x01 with b"pong" on 0x81.
Run: python3 gen.py (from this directory)."""
import struct

def dev_desc(vid, pid, bcd_dev, cls, sub, proto, iMan, iProd, iSer, nconf=1, bcdusb=0x0200, mps=64):
    return struct.pack('<BBHBBBBHHHBBBB', 18, 1, bcdusb, cls, sub, proto, mps, vid, pid, bcd_dev, iMan, iProd, iSer, nconf)

def cfg_desc(ifaces, maxpower=50, attrs=0x80):
    body = b''.join(ifaces)
    return struct.pack('<BBHBBBBB', 9, 2, 9 + len(body), len(ifaces), 1, 0, attrs, maxpower) + body

def iface(num, cls, sub, proto, eps):
    return struct.pack('<BBBBBBBBB', 9, 4, num, 0, len(eps), cls, sub, proto, 0) + b''.join(eps)

def ep(addr, attr, mps, interval=0):
    return struct.pack('<BBBBHB', 7, 5, addr, attr, mps, interval)

stick = dev_desc(0x0781, 0x5567, 0x0100, 0, 0, 0, 1, 2, 3) + cfg_desc([iface(0, 8, 6, 0x50, [ep(0x81, 2, 512), ep(0x02, 2, 512)])])
reader = dev_desc(0x06cb, 0x00bd, 0x0000, 0xff, 0x10, 0xff, 0, 0, 1) + cfg_desc(
    [iface(0, 0xff, 0, 0, [ep(0x01, 2, 64), ep(0x81, 2, 64), ep(0x83, 3, 8, 4)])], maxpower=50, attrs=0xa0)

def device(port, devnum, serial, desc):
    return f"""P: /devices/pci0000:00/0000:00:14.0/usb1/{port}
N: bus/usb/001/{devnum:03d}
E: SUBSYSTEM=usb
E: DEVTYPE=usb_device
E: DEVNAME=/dev/bus/usb/001/{devnum:03d}
E: BUSNUM=001
E: DEVNUM={devnum:03d}
A: busnum=1
A: devnum={devnum}
A: bConfigurationValue=1\\n
A: serial={serial}\\n
H: descriptors={desc.hex()}
"""

with open('reader.umockdev', 'w') as f:
    f.write(device('1-1', 2, '4C530001234567890123', stick) + '\n' + device('1-2', 3, 'a1b2c3d4e5f6', reader))

# usbmon pcap (DLT_USB_LINUX_MMAPPED = 220)
def hdr(urb_id, ev, ttype, epn, dev, bus, setup, data, status, urb_len, ts):
    setup_flag = 0 if setup is not None else ord('-')
    data_flag = 0 if data else ord('<' if ev == 'S' else '>')
    s = setup if setup is not None else b'\0' * 8
    return struct.pack('<QBBBBHBBqiiII8siiII', urb_id, ord(ev), ttype, epn, dev, bus, setup_flag, data_flag,
                       ts, 0, status, urb_len, len(data), s, 0, 0, 0, 0) + data

def write_pcap(path, recs):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 220))
        for i, r in enumerate(recs):
            f.write(struct.pack('<IIII', 1700000000 + i, 0, len(r), len(r)) + r)

def strdesc(s):
    b = s.encode('utf-16-le')
    return bytes([2 + len(b), 3]) + b

def strings_pcap(bus, dev, strings):
    recs, uid, ts = [], 0xffff880000000000, 1700000000
    def ctrl_in(wvalue, windex, wlen, reply):
        nonlocal uid, ts
        uid += 0x100; ts += 1
        setup = struct.pack('<BBHHH', 0x80, 6, wvalue, windex, wlen)
        recs.append(hdr(uid, 'S', 2, 0x80, dev, bus, setup, b'', -115, wlen, ts))
        reply = reply[:wlen]
        recs.append(hdr(uid, 'C', 2, 0x80, dev, bus, None, reply, 0, len(reply), ts))
    for idx, s in strings:
        ctrl_in(0x0300, 0, 4, bytes([4, 3, 0x09, 0x04]))
        ctrl_in(0x0300 | idx, 0x0409, 255, strdesc(s))
    return recs

def bulk_pcap(bus, dev, out_ep, out, in_ep, reply, in_len):
    uid, ts = 0xffff880000001000, 1700000100
    return [hdr(uid, 'S', 3, out_ep, dev, bus, None, out, -115, len(out), ts),
            hdr(uid, 'C', 3, out_ep, dev, bus, None, b'', 0, len(out), ts),
            hdr(uid + 0x100, 'S', 3, in_ep, dev, bus, None, b'', -115, in_len, ts + 1),
            hdr(uid + 0x100, 'C', 3, in_ep, dev, bus, None, reply, 0, len(reply), ts + 1)]

write_pcap('stick.pcap', strings_pcap(1, 2, [(1, 'SanDisk'), (2, 'Cruzer Blade')]))
write_pcap('reader.pcap', bulk_pcap(1, 3, 0x01, b'ping', 0x81, b'pong', 64))
print('wrote reader.umockdev, stick.pcap, reader.pcap')
