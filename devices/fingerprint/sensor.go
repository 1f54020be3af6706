package fingerprint

import "jukiterm/devices/usb"

// Sensor describes a reader model that speaks this protocol: how to find it on the
// bus and which interface and endpoints carry the frames. It holds nothing about a
// particular reader, so the daemon can keep a list of approved models.
type Sensor struct {
	Model               string
	VendorID, ProductID uint16
	Interface           int   // interface number (alternate setting 0), vendor class
	Out, In             uint8 // bulk endpoint addresses for commands and replies
}

// SimulatedSensor is the model hwsim/fingerprint presents and that
// devices/usb/testdata/reader.umockdev describes: a vendor-class interface 0 with bulk
// endpoints 0x01 (OUT) and 0x81 (IN). Its VID:PID (06cb:00bd) is the descriptor layout
// of a real match-on-sensor reader, used as a stand-in: a real model must implement
// this protocol and be approved (docs/fingerprint.md).
var SimulatedSensor = Sensor{
	Model:    "match-on-sensor reader, jukiterm protocol v1",
	VendorID: 0x06cb, ProductID: 0x00bd,
	Interface: 0, Out: 0x01, In: 0x81,
}

// DefaultSensors are the models Open looks for when no WithSensors option is given.
var DefaultSensors = []Sensor{SimulatedSensor}

// Matches reports whether d is this model, with the interface and bulk endpoints the
// protocol needs.
func (s Sensor) Matches(d usb.DeviceInfo) bool {
	if d.VendorID != s.VendorID || d.ProductID != s.ProductID {
		return false
	}
	in, ok := d.Interface(s.Interface)
	if !ok || in.Class != usb.ClassVendor {
		return false
	}
	o, ok1 := in.Endpoint(s.Out)
	i, ok2 := in.Endpoint(s.In)
	return ok1 && ok2 && o.Type == usb.Bulk && i.Type == usb.Bulk && s.Out&0x80 == 0 && s.In&0x80 != 0
}
