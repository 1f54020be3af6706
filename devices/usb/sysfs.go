package usb

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/google/gousb"
)

type sysfsDev struct{ port, manufacturer, product, serial string }

// sysfsStrings reads root/bus/usb/devices/*: the strings of each device, by bus and
// address. Interfaces (names with a colon) and unreadable entries are skipped.
func sysfsStrings(root string) map[[2]int]sysfsDev {
	dir := filepath.Join(root, "bus", "usb", "devices")
	ents, err := os.ReadDir(dir)
	out := map[[2]int]sysfsDev{}
	if err != nil {
		return out
	}
	attr := func(d, name string) string {
		b, err := os.ReadFile(filepath.Join(dir, d, name))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	for _, e := range ents {
		n := e.Name()
		if strings.Contains(n, ":") {
			continue
		}
		bus, err1 := strconv.Atoi(attr(n, "busnum"))
		dev, err2 := strconv.Atoi(attr(n, "devnum"))
		if err1 != nil || err2 != nil {
			continue
		}
		out[[2]int{bus, dev}] = sysfsDev{port: n, manufacturer: attr(n, "manufacturer"), product: attr(n, "product"), serial: attr(n, "serial")}
	}
	return out
}

// infoOf converts gousb's descriptor; interfaces are those of the lowest-numbered
// configuration.
func infoOf(d *gousb.DeviceDesc) DeviceInfo {
	info := DeviceInfo{
		Bus: d.Bus, Address: d.Address,
		VendorID: uint16(d.Vendor), ProductID: uint16(d.Product),
		Class: uint8(d.Class), SubClass: uint8(d.SubClass), Protocol: uint8(d.Protocol),
		Release: uint16(d.Device),
	}
	first := -1
	for n := range d.Configs {
		if first < 0 || n < first {
			first = n
		}
	}
	cfg, ok := d.Configs[first]
	if !ok {
		return info
	}
	for _, in := range cfg.Interfaces {
		for _, s := range in.AltSettings {
			ii := InterfaceInfo{Number: s.Number, Alternate: s.Alternate,
				Class: uint8(s.Class), SubClass: uint8(s.SubClass), Protocol: uint8(s.Protocol)}
			for a, e := range s.Endpoints {
				ii.Endpoints = append(ii.Endpoints, EndpointInfo{Address: uint8(a), Type: TransferType(e.TransferType), MaxPacket: e.MaxPacketSize})
			}
			slices.SortFunc(ii.Endpoints, func(a, b EndpointInfo) int { return int(a.Address) - int(b.Address) })
			info.Interfaces = append(info.Interfaces, ii)
		}
	}
	return info
}
