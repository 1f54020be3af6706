package record

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"jukiterm/store/kana"
)

// MaxText is the longest name, address or district code accepted, in characters.
const MaxText = 200

// Date bounds: 明治 onwards, and nothing absurdly far ahead.
const (
	minDate = "1868-01-01"
	maxDate = "2199-12-31"
)

// ValidDate reports whether s is a real calendar date written YYYY-MM-DD within the
// bounds the file accepts.
func ValidDate(s string) bool {
	if len(s) != 10 || s < minDate || s > maxDate {
		return false
	}
	t, err := time.Parse(time.DateOnly, s)
	return err == nil && t.Format(time.DateOnly) == s
}

// Check runs every check that needs no other record, in a fixed order: required keys,
// reason, fields the reason allows and needs, each item's form, and the dates against
// each other. On success it normalises the notification in place (kana to storage
// form, name separators to one full-width space).
func Check(n *Notification, p *Prefecture) *Violation {
	if v := CheckKeys(n); v != nil {
		return v
	}
	rule, ok := Reasons[n.Reason]
	if !ok {
		return violate(RuleBadReason, "異動事由 (reason for change) %q is not one of the known reasons", n.Reason)
	}
	present := n.Present()
	for _, f := range present {
		if !slices.Contains(rule.Allowed, f) {
			return violate(RuleFieldNotAllowed, "%s may not carry %q", n.Reason, f)
		}
	}
	for _, f := range rule.Required {
		if !slices.Contains(present, f) {
			return violate(RuleMissingField, "%s requires %q", n.Reason, f)
		}
	}
	if rule.AnyOf && len(present) == 0 {
		return violate(RuleMissingField, "%s carries no item to correct", n.Reason)
	}
	if v := checkItems(n, p); v != nil {
		return v
	}
	if n.ChangedOn > n.NotifiedOn {
		return violate(RuleChangedAfterNotified, "異動年月日 (date of change) %s is after 通知を受けた年月日 (date notified) %s", n.ChangedOn, n.NotifiedOn)
	}
	if n.Reason == Shussei && *n.Birth != n.ChangedOn {
		return violate(RuleBirthMismatch, "出生 with 異動年月日 %s but 生年月日 %s: they must be the same day", n.ChangedOn, *n.Birth)
	}
	return nil
}

func checkItems(n *Notification, p *Prefecture) *Violation {
	if !ValidMunicipalityCode(n.Municipality) {
		return violate(RuleBadMunicipality, "市町村コード %q is not 6 digits with a valid check digit", n.Municipality)
	}
	if _, ok := p.Lookup(n.Municipality); !ok {
		return violate(RuleBadMunicipality, "市町村コード %s is not a municipality of %s", n.Municipality, p.Name)
	}
	if !ValidResidentCode(n.ResidentCode) {
		return violate(RuleBadResidentCode, "住民票コード %q is not 11 digits", n.ResidentCode)
	}
	if n.NewResidentCode != nil && !ValidResidentCode(*n.NewResidentCode) {
		return violate(RuleBadResidentCode, "new 住民票コード %q is not 11 digits", *n.NewResidentCode)
	}
	for _, d := range []struct {
		name string
		v    *string
	}{{"changed_on", &n.ChangedOn}, {"notified_on", &n.NotifiedOn}, {"birth", n.Birth}} {
		if d.v != nil && !ValidDate(*d.v) {
			return violate(RuleBadDate, "%s %q is not a real date written YYYY-MM-DD (1868 onwards)", d.name, *d.v)
		}
	}
	if n.MyNumber != nil && !ValidMyNumber(*n.MyNumber) {
		return violate(RuleBadMyNumber, "個人番号 is not 12 digits with a valid check digit")
	}
	for _, k := range []struct {
		name string
		v    *string
	}{{"name_kana", n.NameKana}, {"former_surname_kana", n.FormerSurnameKana}} {
		if k.v == nil {
			continue
		}
		norm, err := kana.Normalize(*k.v)
		if err != nil {
			return violate(RuleBadKana, "%s must be katakana or hiragana (surname and given name separated by a space)", k.name)
		}
		*k.v = norm
	}
	if n.Sex != nil && *n.Sex != 1 && *n.Sex != 2 {
		return violate(RuleBadSex, "性別 (sex) must be 1 (男) or 2 (女), not %d", *n.Sex)
	}
	for _, t := range []struct {
		name string
		v    *string
	}{{"name", n.Name}, {"address", n.Address}, {"district_code", n.DistrictCode}, {"former_surname", n.FormerSurname}} {
		if t.v == nil {
			continue
		}
		s := NormalizeText(*t.v)
		if s == "" && t.name != "district_code" {
			return violate(RuleBadFormat, "%s is empty", t.name)
		}
		if utf8.RuneCountInString(s) > MaxText || strings.ContainsFunc(s, unicode.IsControl) {
			return violate(RuleBadFormat, "%s is longer than %d characters or holds control characters", t.name, MaxText)
		}
		*t.v = s
	}
	for _, g := range []struct {
		name string
		v    *int
	}{{"name_gaiji", n.NameGaiji}, {"address_gaiji", n.AddressGaiji}, {"former_surname_gaiji", n.FormerSurnameGaiji}} {
		if g.v != nil && (*g.v < 0 || *g.v > MaxText) {
			return violate(RuleBadFormat, "%s must be a count between 0 and %d", g.name, MaxText)
		}
	}
	return nil
}

// CheckKeys checks that the fields every notification needs are present.
func CheckKeys(n *Notification) *Violation {
	for _, k := range []struct{ name, v string }{{"id", n.ID}, {"municipality", n.Municipality},
		{"reason", n.Reason}, {"changed_on", n.ChangedOn}, {"notified_on", n.NotifiedOn},
		{"resident_code", n.ResidentCode}} {
		if strings.TrimSpace(k.v) == "" {
			return violate(RuleMissingField, "required field %q is missing", k.name)
		}
	}
	return nil
}

// NormalizeText trims a name or address and turns every run of spaces (ASCII or
// full-width) into one full-width space, so that 「秋田 太郎」 and 「秋田　太郎」 are one name.
func NormalizeText(s string) string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\u3000' || r == '\t' })
	return strings.Join(f, kana.Sep)
}
