package store

import (
	"errors"
	"fmt"
	"strings"

	"jukiterm/store/kana"
	"jukiterm/store/record"
)

// Query is a search of the file (FORMATS.md §4): by 住民票コード, by 個人番号, or by a
// combination of the 4情報 (name, kana, birth, sex, address) and municipality.
type Query struct {
	Code           string `json:"code,omitempty"`
	Number         string `json:"number,omitempty"`
	Kana           string `json:"kana,omitempty"`
	Name           string `json:"name,omitempty"`
	Birth          string `json:"birth,omitempty"`
	Sex            int    `json:"sex,omitempty"`
	Address        string `json:"address,omitempty"`
	Municipality   string `json:"municipality,omitempty"`
	IncludeRemoved bool   `json:"include_removed,omitempty"`
	Limit          int    `json:"limit,omitempty"`
	// Application is the 申請 the search is done under; the store does not use it,
	// the daemon records it with the search.
	Application string `json:"application,omitempty"`
}

// DefaultLimit is the number of results a search returns unless told otherwise.
const DefaultLimit = 100

// MaxLimit bounds --limit.
const MaxLimit = 10000

// ErrBadQuery wraps every reason a query is refused before it runs.
var ErrBadQuery = errors.New("search not accepted")

func badQuery(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadQuery, fmt.Sprintf(format, args...))
}

// Normalize checks the query and puts its values in the stored form. It enforces the
// rule that a 4情報 search names the kana or kanji name, or the birth date together
// with one other item.
func (q *Query) Normalize(p *record.Prefecture) error {
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return badQuery("--limit must be between 1 and %d", MaxLimit)
	}
	fourInfo := q.Kana != "" || q.Name != "" || q.Birth != "" || q.Sex != 0 || q.Address != "" || q.Municipality != ""
	switch {
	case q.Code != "" && (q.Number != "" || fourInfo), q.Number != "" && fourInfo:
		return badQuery("search by --code, by --number, or by 4情報 items, one kind at a time")
	case q.Code != "":
		if !record.ValidResidentCode(q.Code) {
			return badQuery("住民票コード %q is not 11 digits", q.Code)
		}
		return nil
	case q.Number != "":
		if !record.ValidMyNumber(q.Number) {
			return badQuery("個人番号 %q is not 12 digits with a valid check digit", q.Number)
		}
		return nil
	}
	return q.normalize4(p)
}

func (q *Query) normalize4(p *record.Prefecture) error {
	others := 0
	for _, set := range []bool{q.Kana != "", q.Name != "", q.Sex != 0, q.Address != "", q.Municipality != ""} {
		if set {
			others++
		}
	}
	if q.Kana == "" && q.Name == "" && (q.Birth == "" || others == 0) {
		return badQuery("give --kana or --name, or --birth together with another item (--sex, --address, --municipality)")
	}
	if q.Kana != "" {
		n, err := kana.Normalize(q.Kana)
		if err != nil {
			return badQuery("--kana %q is not a kana name (katakana or hiragana)", q.Kana)
		}
		q.Kana = n
	}
	q.Name = record.NormalizeText(q.Name)
	q.Address = record.NormalizeText(q.Address)
	if q.Birth != "" && !record.ValidDate(q.Birth) {
		return badQuery("--birth %q is not a real date (write it YYYY-MM-DD, e.g. 1990-01-15)", q.Birth)
	}
	if q.Sex != 0 && q.Sex != 1 && q.Sex != 2 {
		return badQuery("--sex must be 1 (男) or 2 (女)")
	}
	if q.Municipality != "" {
		if _, ok := p.Lookup(q.Municipality); !ok {
			return badQuery("--municipality %q is not a 市町村コード of %s", q.Municipality, p.Name)
		}
	}
	return nil
}

// where builds the SQL condition of a normalised query on blind indexes and clear
// columns; match then checks the decrypted records exactly.
func (q *Query) where(kr *keyring) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	blind := func(col, kind, value string) {
		add(kr.eq(col), kr.blinds(kind, value)...)
	}
	switch {
	case q.Code != "":
		blind("code_idx", ixCode, q.Code)
	case q.Number != "":
		blind("number_idx", ixNumber, q.Number)
	}
	if q.Kana != "" {
		if surname, given := kana.Split(q.Kana); given == "" {
			blind("kana_surname_idx", ixKanaSurname, kana.StorageSeion(surname))
		} else {
			blind("kana_idx", ixKana, kana.StorageSeion(q.Kana))
		}
	}
	if q.Name != "" {
		if _, given := kana.Split(q.Name); given == "" {
			add("("+kr.eq("name_surname_idx")+" OR "+kr.eq("name_idx")+")",
				append(kr.blinds(ixNameSurname, q.Name), kr.blinds(ixName, q.Name)...)...)
		} else {
			blind("name_idx", ixName, q.Name)
		}
	}
	if q.Birth != "" {
		blind("birth_idx", ixBirth, q.Birth)
	}
	if q.Municipality != "" {
		add("municipality = ?", q.Municipality)
	}
	if !q.IncludeRemoved {
		add("removed = 0")
	}
	return strings.Join(conds, " AND "), args
}

// match checks a decrypted record against every item of the query.
func (q *Query) match(r *record.Record) bool {
	switch {
	case q.Code != "" && r.ResidentCode != q.Code, q.Number != "" && r.MyNumber != q.Number:
		return false
	case q.Birth != "" && r.Birth != q.Birth, q.Sex != 0 && r.Sex != q.Sex:
		return false
	case q.Address != "" && !strings.HasPrefix(r.Address, q.Address):
		return false
	case q.Municipality != "" && r.Municipality != q.Municipality, !q.IncludeRemoved && r.Removed:
		return false
	}
	if q.Kana != "" {
		if surname, given := kana.Split(q.Kana); given == "" {
			if kana.SurnameSeion(r.NameKana) != kana.StorageSeion(surname) {
				return false
			}
		} else if r.NameKanaSeion != kana.StorageSeion(q.Kana) {
			return false
		}
	}
	if q.Name != "" {
		surname, _ := kana.Split(r.Name)
		if _, given := kana.Split(q.Name); given == "" {
			return surname == q.Name || r.Name == q.Name
		}
		return r.Name == q.Name
	}
	return true
}

// Keys names the kinds of key a query uses (never their values), for logs.
func (q *Query) Keys() []string {
	var k []string
	for _, c := range []struct {
		name string
		set  bool
	}{{"code", q.Code != ""}, {"number", q.Number != ""}, {"kana", q.Kana != ""}, {"name", q.Name != ""},
		{"birth", q.Birth != ""}, {"sex", q.Sex != 0}, {"address", q.Address != ""}, {"municipality", q.Municipality != ""}} {
		if c.set {
			k = append(k, c.name)
		}
	}
	return k
}

// Keyed lists the personal values of the query, and the 住民票コード of its results,
// for the operation log (which keeps them as keyed HMACs).
func (q Query) Keyed(resultCodes []string) []Keyed {
	var k []Keyed
	add := func(field, v string) {
		if v != "" {
			k = append(k, Keyed{Field: field, Value: v})
		}
	}
	add("resident_code", q.Code)
	add("my_number", q.Number)
	add("name_kana", q.Kana)
	add("name", q.Name)
	add("birth", q.Birth)
	add("address", q.Address)
	for _, c := range resultCodes {
		add("result_resident_code", c)
	}
	return k
}
