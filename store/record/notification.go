package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
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

// Parse decodes one notification line strictly: one JSON object whose member names are
// exactly those of FORMATS.md §1 (case-sensitive, none twice), each of the right type
// and none null, with nothing after it. Any failure is a bad-format violation.
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
	var n Notification
	if err := jsonv2.Unmarshal(trimmed, &n, jsonv2.RejectUnknownMembers(true)); err != nil {
		return nil, violate(RuleBadFormat, "%s", describeJSONError(err))
	}
	if bytes.Contains(trimmed, []byte("null")) {
		if key := nullMember(trimmed); key != "" {
			return nil, violate(RuleBadFormat, "field %q is null: leave an absent field out", key)
		}
	}
	return &n, nil
}

// LooseKeys reads the id and municipality of a line that failed Parse, when it is an
// object that carries them as strings, so that the rejection can name them.
func LooseKeys(line []byte) (municipality, id string) {
	var k struct {
		ID           any `json:"id"`
		Municipality any `json:"municipality"`
	}
	if json.Unmarshal(bytes.TrimPrefix(bytes.TrimSpace(line), []byte("\uFEFF")), &k) != nil {
		return "", ""
	}
	municipality, _ = k.Municipality.(string)
	id, _ = k.ID.(string)
	if len(municipality) != 6 || !allDigits(municipality) {
		municipality = ""
	}
	if !plainID(id) {
		id = "" // a garbled line may hold anything there: keep only what looks like an id
	}
	return municipality, id
}

// plainID reports whether s looks like a notification id: 1 to 64 ASCII letters,
// digits and - _ . : / characters.
func plainID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("-_.:/", c) >= 0) {
			return false
		}
	}
	return true
}

// nullMember returns the name of the first member of a valid object whose value is
// null, or "".
func nullMember(obj []byte) string {
	dec := jsontext.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.ReadToken(); err != nil {
		return ""
	}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return ""
		}
		name := tok.String() // a token is void after the next read
		v, err := dec.ReadValue()
		if err != nil {
			return ""
		}
		if v.Kind() == 'n' {
			return name
		}
	}
	return ""
}

func describeJSONError(err error) string {
	var se *jsonv2.SemanticError
	if errors.As(err, &se) {
		field := strings.TrimPrefix(string(se.JSONPointer), "/")
		switch {
		case errors.Is(err, jsonv2.ErrUnknownName):
			if near := nearestField(field); near != "" {
				return fmt.Sprintf("unknown field %q: did you mean %q?", field, near)
			}
			return fmt.Sprintf("unknown field %q (notification fields are listed in docs/formats.md)", field)
		case se.GoType != nil:
			return fmt.Sprintf("field %q has the wrong type (%s where %s is expected)", field, kindName(se.JSONKind), goTypeName(se.GoType.String()))
		}
	}
	var xe *jsontext.SyntacticError
	if errors.As(err, &xe) {
		if errors.Is(err, jsontext.ErrDuplicateName) {
			return fmt.Sprintf("field %q appears twice", strings.TrimPrefix(string(xe.JSONPointer), "/"))
		}
		return fmt.Sprintf("the line is not valid JSON (the problem is at character %d: %v); the sending system must correct its output", xe.ByteOffset+1, xe.Err)
	}
	return "not a valid notification: " + err.Error()
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "true or false"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 'n':
		return "null"
	}
	return "a value"
}

func goTypeName(t string) string {
	switch strings.TrimPrefix(t, "*") {
	case "int":
		return "a whole number"
	case "string":
		return "a string"
	}
	return t
}

// Hash is the SHA-256 of the notification's canonical JSON: two lines with the same
// fields and values hash the same whatever their spacing or field order.
func (n *Notification) Hash() [32]byte { return sha256.Sum256(n.Canonical()) }

// Canonical is the notification's JSON with fields in a fixed order, as Hash uses it.
func (n *Notification) Canonical() []byte {
	b, err := json.Marshal(n)
	if err != nil {
		panic(err) // a struct of strings and ints always marshals
	}
	return b
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

// nearestField returns the notification field within two edits of name, if any.
func nearestField(name string) string {
	best, bestD := "", 3
	for _, f := range append([]string{"id", "municipality", "reason", "changed_on", "notified_on", "resident_code"}, ItemFields...) {
		if d := editDistance(strings.ToLower(name), f); d < bestD {
			best, bestD = f, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between two short ASCII names.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
