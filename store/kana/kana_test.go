package kana

import (
	"errors"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"ヤマザキ　ジュンコ", "ヤマザキ　ジュンコ"},
		{"やまさき じゅんこ", "ヤマサキ　ジュンコ"},
		{"ﾔﾏｻﾞｷ ｼﾞｭﾝｺ", "ヤマザキ　ジュンコ"},
		{"  あきた　　たろう ", "アキタ　タロウ"},
		{"ゔぃくとる・ゆーご", "ヴィクトル・ユーゴ"},
		{"カ\u3099ク", "ガク"},
		{"ｱｷﾀ", "アキタ"},
		{"ㇰㇱ", "ㇰㇱ"},
	}
	for _, c := range cases {
		got, err := Normalize(c.in)
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	for _, in := range []string{"", "   ", "山田　太郎", "YAMADA", "ヤマダ1", "ヤマダ\x00", "\xff", "ヤマダ　☃", "㋐キタ", "㌀", "ｶﾀｶﾅ\uFF21"} {
		if got, err := Normalize(in); !errors.Is(err, ErrNotKana) {
			t.Errorf("Normalize(%q) = %q, %v; want ErrNotKana", in, got, err)
		}
	}
}

func TestSeion(t *testing.T) {
	cases := []struct{ in, want string }{
		{"ヤマザキ　ジュンコ", "ヤマサキシユンコ"},
		{"やまさき じゅんこ", "ヤマサキシユンコ"},
		{"パーマー", "ハマ"},
		{"ヴァイオリン", "ウアイオリン"},
		{"ヰヱヲ", "イエオ"},
		{"ッャュョヮァィゥェォヵヶ", "ツヤユヨワアイウエオカケ"},
		{"ﾊﾟﾋﾟﾌﾟ", "ハヒフ"},
		{"ヂヅ", "チツ"},
		{"ヸヹヺヷ", "イエオワ"},
	}
	for _, c := range cases {
		got, err := Seion(c.in)
		if err != nil || got != c.want {
			t.Errorf("Seion(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestSurnameSeion(t *testing.T) {
	if got := SurnameSeion("ヤマザキ　ジュンコ"); got != "ヤマサキ" {
		t.Fatalf("SurnameSeion = %q", got)
	}
	if got := SurnameSeion("ヤマザキ"); got != "ヤマサキ" {
		t.Fatalf("SurnameSeion without given name = %q", got)
	}
}

// FuzzNormalize checks the invariants of both forms on any input.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"ヤマザキ　ジュンコ", "やまさき じゅんこ", "ﾔﾏｻﾞｷ ｼﾞｭﾝｺ", "山田", "ゔ", "カ\u3099", "ー", "\xff", "・ ・"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if err != nil {
			if _, err2 := Seion(s); err2 == nil {
				t.Fatalf("Seion accepted %q that Normalize refused", s)
			}
			return
		}
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) gave invalid UTF-8", s)
		}
		again, err := Normalize(n)
		if err != nil || again != n {
			t.Fatalf("Normalize not idempotent: %q → %q → %q, %v", s, n, again, err)
		}
		sn, err := Seion(n)
		if err != nil {
			t.Fatalf("Seion(%q): %v", n, err)
		}
		s2, err := Seion(sn)
		if err != nil || s2 != sn {
			t.Fatalf("Seion not idempotent: %q → %q → %q, %v", n, sn, s2, err)
		}
		for _, r := range sn {
			switch r {
			case 'ー', '\u3000', ' ', 'ガ', 'パ', 'ッ', 'ャ', 'ヲ', 'ヴ':
				t.Fatalf("Seion(%q) = %q still holds %q", s, sn, r)
			}
		}
	})
}
