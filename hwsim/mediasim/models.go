package mediasim

import (
	"context"
	"errors"
	"sort"

	"jukiterm/devices/usb"
)

// The simulated approved model. Its IDs are pid.codes' test IDs: vendor 0x1209 is
// pid.codes' open-source vendor ID, and product 0x0001 its "Test PID", reserved for
// testing and never in a shipped product. They must never be approved for real
// hardware (hardware = "real").
const (
	ApprovedVendorID     uint16 = 0x1209
	ApprovedProductID    uint16 = 0x0001
	ApprovedManufacturer        = "jukiterm"
	ApprovedProduct             = "jukiterm sim secure stick"
)

// DefaultCapacity is a simulated stick's capacity unless its StickSpec sets one.
const DefaultCapacity int64 = 16 << 30

// Approved is the simulated approved model: one mass-storage interface.
func Approved(serial string) StickSpec {
	return StickSpec{Serial: serial, VendorID: ApprovedVendorID, ProductID: ApprovedProductID,
		Manufacturer: ApprovedManufacturer, Product: ApprovedProduct, Interfaces: []int{int(usb.ClassMassStorage)}}
}

// Composite has the approved model's IDs and strings but also presents a keyboard (HID):
// what a stick made to type commands looks like. It must be refused.
func Composite(serial string) StickSpec {
	sp := Approved(serial)
	sp.Interfaces = []int{int(usb.ClassMassStorage), int(usb.ClassHID)}
	return sp
}

// CDC has the approved model's IDs and strings but also presents a serial port (CDC
// control and data interfaces). It must be refused.
func CDC(serial string) StickSpec {
	sp := Approved(serial)
	sp.Interfaces = []int{int(usb.ClassMassStorage), int(usb.ClassCDC), int(usb.ClassCDCData)}
	return sp
}

// Unknown is an ordinary stick of a model not approved (the IDs of a SanDisk Cruzer
// Blade), mass storage only.
func Unknown(serial string) StickSpec {
	return StickSpec{Serial: serial, VendorID: 0x0781, ProductID: 0x5567, Manufacturer: "SanDisk",
		Product: "Cruzer Blade", Interfaces: []int{int(usb.ClassMassStorage)}}
}

// Models are the presets by name, for `jukiterm sim usb plug --model`.
var Models = map[string]func(serial string) StickSpec{
	"approved":  Approved,
	"composite": Composite,
	"cdc":       CDC,
	"unknown":   Unknown,
}

// ModelNames are the names of Models, sorted.
func ModelNames() []string {
	var out []string
	for n := range Models {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// descriptor is what a stick shows on the bus: one interface per class of sp, with the
// endpoints a device of that class has.
func descriptor(sp StickSpec) usb.DeviceInfo {
	info := usb.DeviceInfo{VendorID: sp.VendorID, ProductID: sp.ProductID, Release: sp.Release,
		Manufacturer: sp.Manufacturer, Product: sp.Product, Serial: sp.Serial}
	if info.Release == 0 {
		info.Release = 0x0100
	}
	n := uint8(1) // next endpoint number
	bulkPair := func() []usb.EndpointInfo {
		defer func() { n += 2 }()
		return []usb.EndpointInfo{{Address: 0x80 | n, Type: usb.Bulk, MaxPacket: 512}, {Address: n + 1, Type: usb.Bulk, MaxPacket: 512}}
	}
	interruptIn := func(size int) []usb.EndpointInfo {
		defer func() { n++ }()
		return []usb.EndpointInfo{{Address: 0x80 | n, Type: usb.Interrupt, MaxPacket: size}}
	}
	for i, c := range sp.Interfaces {
		in := usb.InterfaceInfo{Number: i, Class: uint8(c)}
		switch uint8(c) {
		case usb.ClassMassStorage: // SCSI transparent command set, bulk-only transport
			in.SubClass, in.Protocol, in.Endpoints = 0x06, 0x50, bulkPair()
		case usb.ClassHID: // boot keyboard
			in.SubClass, in.Protocol, in.Endpoints = 0x01, 0x01, interruptIn(8)
		case usb.ClassCDC: // abstract control model, AT commands
			in.SubClass, in.Protocol, in.Endpoints = 0x02, 0x01, interruptIn(16)
		case usb.ClassCDCData, usb.ClassVendor:
			in.Endpoints = bulkPair()
		}
		info.Interfaces = append(info.Interfaces, in)
	}
	return info
}

// errNoTransfers: a simulated stick moves no data over the bus.
var errNoTransfers = errors.New("the simulated stick moves no data over USB: its volume is reached through media.Locator")

// gadget is a stick's device side on the simulated bus.
type gadget struct{}

func (gadget) Out(uint8, []byte) error                        { return errNoTransfers }
func (gadget) In(context.Context, uint8, []byte) (int, error) { return 0, errNoTransfers }
