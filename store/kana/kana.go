// Package kana normalises ふりがな (kana names) for storage and search.
//
// Storage form: full-width katakana with one ideographic space (U+3000) between
// surname and given name. Search form (清音化かな氏名): see Seion.
package kana

import (
	"errors"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Sep is the separator between surname and given name.
const Sep = "\u3000"

// ErrNotKana is returned when the input holds characters that are not kana.
var ErrNotKana = errors.New("not a kana name")

// Normalize returns the storage form of a kana name: half-width katakana widened and
// voiced marks composed (NFKC), hiragana turned into katakana, and any run of spaces
// (ASCII or ideographic) made one ideographic space, trimmed at both ends. It fails
// with ErrNotKana if anything else than kana, ー, ・ and spaces remains, or nothing does.
func Normalize(s string) (string, error) {
	if !utf8.ValidString(s) || strings.ContainsFunc(s, notKanaInput) {
		return "", ErrNotKana
	}
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space, letters := false, 0
	for _, r := range s {
		switch {
		case r == ' ' || r == '\u3000':
			space = true
			continue
		case r >= 'ぁ' && r <= 'ゖ', r == 'ゝ' || r == 'ゞ':
			r += 'ァ' - 'ぁ'
		case r == 'ゔ':
			r = 'ヴ'
		}
		if !isKatakana(r) {
			return "", ErrNotKana
		}
		if space && b.Len() > 0 {
			b.WriteString(Sep)
		}
		space = false
		b.WriteRune(r)
		if r != 'ー' && r != '・' {
			letters++
		}
	}
	if letters == 0 {
		return "", ErrNotKana
	}
	return b.String(), nil
}

// notKanaInput reports a character that may not stand in a kana name before
// normalisation: only kana (full or half width), voiced marks, ー, ・ and spaces may,
// so that compatibility characters such as ㋐ or ㌀ are not read as kana.
func notKanaInput(r rune) bool {
	switch {
	case r >= 'ぁ' && r <= 'ゖ', r >= '\u3099' && r <= 'ゞ', r >= 'ァ' && r <= 'ヾ',
		r >= 'ｦ' && r <= 'ﾟ', r == '･', r == ' ', r == '\u3000', r >= 'ㇰ' && r <= 'ㇿ':
		return false
	}
	return true
}

func isKatakana(r rune) bool {
	return (r >= 'ァ' && r <= 'ヺ') || r == 'ー' || r == 'ヽ' || r == 'ヾ' || r == '・' || (r >= 'ㇰ' && r <= 'ㇿ')
}

// seionMap maps small kana and archaic kana to their plain large forms.
var seionMap = map[rune]rune{
	'ァ': 'ア', 'ィ': 'イ', 'ゥ': 'ウ', 'ェ': 'エ', 'ォ': 'オ',
	'ッ': 'ツ', 'ャ': 'ヤ', 'ュ': 'ユ', 'ョ': 'ヨ', 'ヮ': 'ワ',
	'ヵ': 'カ', 'ヶ': 'ケ', 'ヰ': 'イ', 'ヱ': 'エ', 'ヲ': 'オ',
}

// Seion returns the 清音化 form of a kana name (DOMAIN.md, our choice): the storage
// form with voiced and semi-voiced marks removed, small kana made large, ヰヱヲ made
// イエオ, and ー and spaces removed. Input that is not kana gives ErrNotKana.
func Seion(s string) (string, error) {
	n, err := Normalize(s)
	if err != nil {
		return "", err
	}
	return seionOf(n), nil
}

// seionOf applies the 清音化 rules to a name already in storage form.
func seionOf(n string) string {
	d := norm.NFD.String(n) // ガ → カ + U+3099, パ → ハ + U+309A, ヴ → ウ + U+3099
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		switch r {
		case '\u3099', '\u309a', 'ー', '\u3000':
			continue
		case 'ヾ':
			r = 'ヽ'
		}
		if m, ok := seionMap[r]; ok {
			r = m
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Split returns the surname and given name of a name in storage form; given is empty
// when the name has no separator.
func Split(n string) (surname, given string) {
	surname, given, _ = strings.Cut(n, Sep)
	return surname, given
}

// SurnameSeion returns the 清音化 form of the surname of a name in storage form.
func SurnameSeion(n string) string {
	s, _ := Split(n)
	return seionOf(s)
}

// StorageSeion returns the 清音化 form of a name already in storage form.
func StorageSeion(n string) string { return seionOf(n) }
