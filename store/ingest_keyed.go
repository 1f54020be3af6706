package store

import (
	"bytes"
	"encoding/json"

	"jukiterm/store/record"
)

// keyedSet gathers the personal keys of a batch's lines (住民票コード, new 住民票コード,
// 個人番号) for the operation log, each value once per field, in order of arrival.
type keyedSet struct {
	list []Keyed
	seen map[Keyed]bool
}

func (k *keyedSet) add(field, value string) {
	if value == "" || len(value) > maxKeyedValue {
		return
	}
	e := Keyed{Field: field, Value: value}
	if k.seen == nil {
		k.seen = map[Keyed]bool{}
	}
	if !k.seen[e] {
		k.seen[e] = true
		k.list = append(k.list, e)
	}
}

// maxKeyedValue bounds a value taken from a line that failed to parse.
const maxKeyedValue = 64

// addLine adds the keys of one line: from the parsed notification n, or, when the line
// did not parse, from whatever of them it carries as strings (a probe need not be a
// valid notification to be found by audit lookup).
func (k *keyedSet) addLine(n *record.Notification, text []byte) {
	if n == nil {
		n = looseCodes(text)
	}
	k.add("resident_code", n.ResidentCode)
	if n.NewResidentCode != nil {
		k.add("new_resident_code", *n.NewResidentCode)
	}
	if n.MyNumber != nil {
		k.add("my_number", *n.MyNumber)
	}
}

// looseCodes reads the codes of a line that failed record.Parse, when it is a JSON
// object carrying them as strings.
func looseCodes(text []byte) *record.Notification {
	var c struct {
		ResidentCode    any `json:"resident_code"`
		NewResidentCode any `json:"new_resident_code"`
		MyNumber        any `json:"my_number"`
	}
	n := &record.Notification{}
	if len(text) > record.MaxLine || json.Unmarshal(bytes.TrimSpace(text), &c) != nil {
		return n
	}
	n.ResidentCode, _ = c.ResidentCode.(string)
	if v, ok := c.NewResidentCode.(string); ok {
		n.NewResidentCode = &v
	}
	if v, ok := c.MyNumber.(string); ok {
		n.MyNumber = &v
	}
	return n
}
