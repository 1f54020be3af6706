package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// MaxLine is the longest notification line accepted, in bytes.
const MaxLine = 64 << 10

// Notification is one change notification from a municipality (FORMATS.md §1).
// Optional item fields are pointers: nil means the field is absent.
type Notification struct {
	ID                 string  `json:"id"`
	Municipality       string  `json:"municipality"`
	Reason             string  `json:"reason"`
	ChangedOn          string  `json:"changed_on"`
	NotifiedOn         string  `json:"notified_on"`
	ResidentCode       string  `json:"resident_code"`
	NewResidentCode    *string `json:"new_resident_code,omitempty"`
	MyNumber           *string `json:"my_number,omitempty"`
	Name               *string `json:"name,omitempty"`
	NameKana           *string `json:"name_kana,omitempty"`
	NameGaiji          *int    `json:"name_gaiji,omitempty"`
	Birth              *string `json:"birth,omitempty"`
	Sex                *int    `json:"sex,omitempty"`
	Address            *string `json:"address,omitempty"`
	AddressGaiji       *int    `json:"address_gaiji,omitempty"`
	DistrictCode       *string `json:"district_code,omitempty"`
	FormerSurname      *string `json:"former_surname,omitempty"`
	FormerSurnameKana  *string `json:"former_surname_kana,omitempty"`
	FormerSurnameGaiji *int    `json:"former_surname_gaiji,omitempty"`
}

// Parse decodes one notification line strictly: one JSON object, no unknown field, no
// wrong type, nothing after it. Any failure is a bad-format violation.
func Parse(line []byte) (*Notification, *Violation) {
	if len(line) > MaxLine {
		return nil, violate(RuleBadFormat, "line is longer than %d KiB", MaxLine>>10)
	}
	if !utf8.Valid(line) {
		return nil, violate(RuleBadFormat, "line is not valid UTF-8")
	}
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, violate(RuleBadFormat, "line is not a JSON object")
	}
	if v := checkKeysExact(trimmed); v != nil {
		return nil, v
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	var n Notification
	if err := dec.Decode(&n); err != nil {
		return nil, violate(RuleBadFormat, "%s", describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, violate(RuleBadFormat, "text after the JSON object")
	}
	return &n, nil
}

// fieldNames are the notification's field names, exactly as FORMATS.md §1 spells them.
var fieldNames = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeOf(Notification{})
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = true
	}
	return m
}()

// checkKeysExact walks the object's keys: encoding/json alone would accept "ID" for
// "id" (it matches case-insensitively), the last of two equal keys, and null.
func checkKeysExact(obj []byte) *Violation {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		return violate(RuleBadFormat, "%s", describeJSONError(err))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return violate(RuleBadFormat, "%s", describeJSONError(err))
		}
		key, _ := tok.(string)
		switch {
		case !fieldNames[key]:
			return violate(RuleBadFormat, "unknown field %q (field names are lower case, see FORMATS §1)", key)
		case seen[key]:
			return violate(RuleBadFormat, "field %q appears twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return violate(RuleBadFormat, "%s", describeJSONError(err))
		}
		if string(raw) == "null" {
			return violate(RuleBadFormat, "field %q is null: leave an absent field out", key)
		}
	}
	return nil
}

func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has the wrong type (%s where %s is expected)", te.Field, te.Value, jsonType(te.Type.String()))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("not valid JSON at byte %d: %v", se.Offset, err)
	}
	return "not a valid notification: " + err.Error()
}

func jsonType(goType string) string {
	switch goType {
	case "int":
		return "a whole number"
	case "string":
		return "a string"
	}
	return goType
}

// Hash is the SHA-256 of the notification's canonical JSON: two lines with the same
// fields and values hash the same whatever their spacing or field order.
func (n *Notification) Hash() [32]byte {
	b, err := json.Marshal(n)
	if err != nil {
		panic(err) // a struct of strings and ints always marshals
	}
	return sha256.Sum256(b)
}

// Present returns the item fields the notification carries, in ItemFields order.
func (n *Notification) Present() []string {
	var out []string
	add := func(ok bool, f string) {
		if ok {
			out = append(out, f)
		}
	}
	add(n.NewResidentCode != nil, FNewResidentCode)
	add(n.MyNumber != nil, FMyNumber)
	add(n.Name != nil, FName)
	add(n.NameKana != nil, FNameKana)
	add(n.NameGaiji != nil, FNameGaiji)
	add(n.Birth != nil, FBirth)
	add(n.Sex != nil, FSex)
	add(n.Address != nil, FAddress)
	add(n.AddressGaiji != nil, FAddressGaiji)
	add(n.DistrictCode != nil, FDistrictCode)
	add(n.FormerSurname != nil, FFormerSurname)
	add(n.FormerSurnameKana != nil, FFormerSurnameKana)
	add(n.FormerSurnameGaiji != nil, FFormerSurnameGaiji)
	return out
}

// Kind returns the kind of the notification's reason (0 if the reason is unknown).
func (n *Notification) Kind() Kind { return Reasons[n.Reason].Kind }
