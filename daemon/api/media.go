package api

import "jukiterm/store"

// MediaRequest is a change to the issued-media ledger (貸与).
type MediaRequest struct {
	Serial string `json:"serial"`
	// register: the model, as on the stick's descriptor ("VVVV:PPPP"), and a label.
	Model string `json:"model,omitempty"`
	Label string `json:"label,omitempty"`
	// issue: the staff member it is lent to, and the day it is due back (optional).
	To  string `json:"to,omitempty"`
	Due string `json:"due,omitempty"`
	// retire: why (lost, broken…).
	Reason string `json:"reason,omitempty"`
}

// MediaList is the ledger and the devices connected now.
type MediaList struct {
	Media     []store.Medium `json:"media"`
	Connected []Connected    `json:"connected"`
}

// Connected is a stick on the bus with the media policy's verdict for the caller.
type Connected struct {
	Serial     string  `json:"serial"`
	Model      string  `json:"model"` // VVVV:PPPP
	Product    string  `json:"product,omitempty"`
	Interfaces []uint8 `json:"interfaces"` // interface classes
	Allowed    bool    `json:"allowed"`
	Code       string  `json:"code,omitempty"`   // why refused, stable (e.g. "not-issued-to-you")
	Reason     string  `json:"reason,omitempty"` // why refused, for people
}
