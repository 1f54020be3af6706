#!/usr/bin/env python3
"""Writes sticks.umockdev for TestGousbSticks.

Descriptors as in ../../usb/testdata/gen.py. Three sticks on bus 1, each with its
USB interfaces and the SCSI disk the kernel makes for its mass-storage interface:

  1-1 address 2  1209:0001 serial JKT0001, the simulated approved model: mass storage
                 only; disk sdb (8:16) with a medium (unlocked)
  1-2 address 3  1209:0001 serial JKT0002, the same IDs but also a keyboard (HID):
                 a composite stick; disk sdc (8:32) of size 0 (locked)
  1-3 address 4  0781:5567 (SanDisk Cruzer Blade), an unknown model without a serial
                 number; disk sdd (8:48) with one partition sdd1 (8:49)

The strings are sysfs attributes (as the kernel gives them), so no usbmon capture is
needed. Run: python3 gen.py (from this directory)."""
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

mass = lambda n: iface(n, 8, 6, 0x50, [ep(0x81, 2, 512), ep(0x02, 2, 512)])
keyboard = lambda n: iface(n, 3, 1, 1, [ep(0x83, 3, 8, 10)])

ROOT = '/devices/pci0000:00/0000:00:14.0/usb1'

def usb_device(port, devnum, desc, strings, ifaces):
    out = f"""P: {ROOT}/{port}
N: bus/usb/001/{devnum:03d}
E: SUBSYSTEM=usb
E: DEVTYPE=usb_device
E: DEVNAME=/dev/bus/usb/001/{devnum:03d}
E: BUSNUM=001
E: DEVNUM={devnum:03d}
A: busnum=1
A: devnum={devnum}
A: bConfigurationValue=1\\n
"""
    for k, v in strings.items():
        out += f"A: {k}={v}\\n\n"
    out += f"H: descriptors={desc.hex()}\n"
    for num, cls in ifaces:
        out += f"""
P: {ROOT}/{port}/{port}:1.{num}
E: SUBSYSTEM=usb
E: DEVTYPE=usb_interface
A: bInterfaceNumber={num:02x}\\n
A: bInterfaceClass={cls:02x}\\n
"""
    return out

def disk(port, host, name, dev, sectors, parts=()):
    base = f"{ROOT}/{port}/{port}:1.0/host{host}/target{host}:0:0/{host}:0:0:0/block/{name}"
    out = f"""
P: {base}
E: SUBSYSTEM=block
E: DEVTYPE=disk
E: DEVNAME=/dev/{name}
A: size={sectors}\\n
A: dev={dev}\\n
A: ro=0\\n
"""
    for pname, pdev, psectors, pnum in parts:
        out += f"""
P: {base}/{pname}
E: SUBSYSTEM=block
E: DEVTYPE=partition
E: DEVNAME=/dev/{pname}
A: size={psectors}\\n
A: dev={pdev}\\n
A: partition={pnum}\\n
"""
    return out

approved = dev_desc(0x1209, 0x0001, 0x0100, 0, 0, 0, 1, 2, 3) + cfg_desc([mass(0)])
composite = dev_desc(0x1209, 0x0001, 0x0100, 0, 0, 0, 1, 2, 3) + cfg_desc([mass(0), keyboard(1)])
unknown = dev_desc(0x0781, 0x5567, 0x0100, 0, 0, 0, 1, 2, 0) + cfg_desc([mass(0)])

strings = {'manufacturer': 'jukiterm', 'product': 'jukiterm sim secure stick'}
with open('sticks.umockdev', 'w') as f:
    f.write('\n'.join([
        usb_device('1-1', 2, approved, {**strings, 'serial': 'JKT0001'}, [(0, 8)]) + disk('1-1', 6, 'sdb', '8:16', 31293440),
        usb_device('1-2', 3, composite, {**strings, 'serial': 'JKT0002'}, [(0, 8), (1, 3)]) + disk('1-2', 7, 'sdc', '8:32', 0),
        usb_device('1-3', 4, unknown, {'manufacturer': 'SanDisk', 'product': 'Cruzer Blade'}, [(0, 8)])
        + disk('1-3', 8, 'sdd', '8:48', 15633408, [('sdd1', '8:49', 15631360, 1)]),
    ]))
print('wrote sticks.umockdev')
