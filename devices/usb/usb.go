// Package usb is jukiterm's small view of the USB bus: enumerate devices with their
// descriptors, open one, claim an interface and move bulk transfers. The real bus is
// libusb through gousb (gousb.go); hwsim/usbsim supplies a simulated one. Drivers
// (devices/fingerprint) and the media allowlist (issue #7) are written against these
// interfaces only, so they run unchanged on either.
package usb

import (
	"context"
	"errors"
	"fmt"
)

// Bus enumerates and opens devices.
type Bus interface {
	// Devices lists the devices present now, with their descriptors. It opens none.
	Devices() ([]DeviceInfo, error)
	// Open opens the device at info's bus and address. It fails with ErrGone when
	// that device is no longer there (or another device now has its address).
	Open(info DeviceInfo) (Device, error)
}

// Device is an open device.
type Device interface {
	// Info is the device's description, with the strings filled in where they could
	// be read.
	Info() DeviceInfo
	// Claim claims interface number iface in alternate setting alt for this process.
	Claim(iface, alt int) (Interface, error)
	// Close releases any claimed interface and closes the device. It is safe to call
	// after the device is gone and more than once.
	Close() error
}

// Interface is a claimed interface. Endpoint addresses include the direction bit
// (0x81 is IN endpoint 1, 0x01 is OUT endpoint 1).
type Interface interface {
	// Write sends b as one bulk OUT transfer on endpoint ep.
	Write(ctx context.Context, ep uint8, b []byte) (int, error)
	// Read receives one bulk IN transfer from endpoint ep into b. It waits until the
	// device sends or ctx ends (then it returns ctx.Err()).
	Read(ctx context.Context, ep uint8, b []byte) (int, error)
	// Release gives the interface back. It is safe to call after the device is gone
	// and more than once.
	Release() error
}

// Errors the implementations return (wrapped).
var (
	// ErrGone: the device was unplugged, or never was at that address.
	ErrGone = errors.New("usb: the device is not connected")
	// ErrBusy: another process or handle has claimed the interface.
	ErrBusy = errors.New("usb: the interface is claimed by someone else")
	// ErrClosed: the interface or device was released or closed by this process.
	ErrClosed = errors.New("usb: used after release or close")
)

// Interface classes (bInterfaceClass) the project looks at.
const (
	ClassCDC         uint8 = 0x02
	ClassHID         uint8 = 0x03
	ClassMassStorage uint8 = 0x08
	ClassHub         uint8 = 0x09
	ClassCDCData     uint8 = 0x0a
	ClassVendor      uint8 = 0xff
)

// TransferType is an endpoint's transfer type (bmAttributes bits 0–1).
type TransferType uint8

// Transfer types.
const (
	Control     TransferType = 0
	Isochronous TransferType = 1
	Bulk        TransferType = 2
	Interrupt   TransferType = 3
)

// DeviceInfo describes a device from its descriptors and, for the strings, sysfs or
// its string descriptors. Port identifies the socket it is plugged in, not the device:
// never decide on it (STYLE.md).
type DeviceInfo struct {
	Bus, Address              int
	Port                      string // sysfs name such as "1-2" ("" when unknown)
	VendorID, ProductID       uint16
	Class, SubClass, Protocol uint8
	Release                   uint16 // bcdDevice
	Manufacturer, Product     string // "" when the device has none or they were unreadable
	Serial                    string
	Interfaces                []InterfaceInfo // of the first configuration
}

// InterfaceInfo describes one interface alternate setting.
type InterfaceInfo struct {
	Number, Alternate         int
	Class, SubClass, Protocol uint8
	Endpoints                 []EndpointInfo
}

// EndpointInfo describes one endpoint.
type EndpointInfo struct {
	Address   uint8 // with the direction bit, 0x80 = IN
	Type      TransferType
	MaxPacket int
}

// String names the device for messages and logs: "06cb:00bd at bus 1 address 3".
func (d DeviceInfo) String() string {
	return fmt.Sprintf("%04x:%04x at bus %d address %d", d.VendorID, d.ProductID, d.Bus, d.Address)
}

// HasInterfaceClass reports whether any interface of the device has class c.
func (d DeviceInfo) HasInterfaceClass(c uint8) bool {
	for _, i := range d.Interfaces {
		if i.Class == c {
			return true
		}
	}
	return false
}

// Interface returns the setting of interface number n, alternate 0.
func (d DeviceInfo) Interface(n int) (InterfaceInfo, bool) {
	for _, i := range d.Interfaces {
		if i.Number == n && i.Alternate == 0 {
			return i, true
		}
	}
	return InterfaceInfo{}, false
}

// Endpoint returns the endpoint with address a.
func (i InterfaceInfo) Endpoint(a uint8) (EndpointInfo, bool) {
	for _, e := range i.Endpoints {
		if e.Address == a {
			return e, true
		}
	}
	return EndpointInfo{}, false
}
