package synth

import (
	"math/bits"
	"math/rand/v2"

	"jukiterm/store/record"
)

// space is the number of 11-digit values: 住民票コード are 11 digits, and 個人番号 are 11
// digits and a check digit.
const space = 100_000_000_000

// perm is a seeded permutation of [0, space): affine, digits reversed, affine again.
// Distinct indices give distinct values, so codes are unique by construction.
type perm struct{ a1, b1, a2, b2 uint64 }

func newPerm(seed, salt uint64) perm {
	r := rand.New(rand.NewPCG(seed, salt))
	unit := func() uint64 { // a multiplier invertible mod 10^11: odd and not a multiple of 5
		for {
			if a := r.Uint64N(space); a%2 != 0 && a%5 != 0 {
				return a
			}
		}
	}
	return perm{a1: unit(), b1: r.Uint64N(space), a2: unit(), b2: r.Uint64N(space)}
}

func (p perm) at(x uint64) uint64 {
	x = mulAdd(p.a1, x%space, p.b1)
	x = reverseDigits(x)
	return mulAdd(p.a2, x, p.b2)
}

// mulAdd returns (a·x + b) mod space without overflow.
func mulAdd(a, x, b uint64) uint64 {
	hi, lo := bits.Mul64(a, x)
	lo, carry := bits.Add64(lo, b, 0)
	return bits.Rem64(hi+carry, lo, space)
}

// reverseDigits reverses the 11 decimal digits of x (leading zeros included).
func reverseDigits(x uint64) uint64 {
	var y uint64
	for range 11 {
		y = y*10 + x%10
		x /= 10
	}
	return y
}

// Salts keep the permutations of one seed apart.
const (
	saltCode   = 0x636f6465 // 住民票コード
	saltNumber = 0x6e756d62 // 個人番号
	saltPerson = 0x70657273 // per-person random stream
	saltStream = 0x73747265 // the notification stream
)

// ids hands out 住民票コード and 個人番号 by index.
type ids struct{ code, number perm }

func newIDs(seed uint64) ids {
	return ids{code: newPerm(seed, saltCode), number: newPerm(seed, saltNumber)}
}

// appendCode appends the 11-digit 住民票コード of index i.
func (g ids) appendCode(b []byte, i uint64) []byte {
	return appendPadded(b, g.code.at(i), 11)
}

// appendNumber appends the 12-digit 個人番号 of index i, check digit included.
func (g ids) appendNumber(b []byte, i uint64) []byte {
	start := len(b)
	b = appendPadded(b, g.number.at(i), 11)
	return append(b, byte('0'+record.MyNumberCheckDigit(string(b[start:]))))
}

func (g ids) codeOf(i uint64) string {
	var b [11]byte
	return string(g.appendCode(b[:0], i))
}

func (g ids) numberOf(i uint64) string {
	var b [12]byte
	return string(g.appendNumber(b[:0], i))
}

// mix64 scrambles an index into a well-spread seed (SplitMix64's finaliser).
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
