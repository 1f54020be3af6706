// Package synth generates synthetic, deterministic data for demos, tests and benchmarks:
// a resident population as entering notifications (Residents, EachResident) and a stream
// of change notifications against it, valid and invalid (NewStream). Every name, number
// and address is made up; the same seed always gives the same data.
package synth

import "math/rand/v2"

// Reference is the fixed date ages and dates of the generated residents are computed
// against: nobody is born, and no resident's change happens, after it.
const Reference = "2026-04-01"

// day is a date as the number of days since 1970-01-01.
type day int32

var (
	refDay  = mustDay(Reference)
	minDay  = mustDay("1868-01-01") // the earliest date the file accepts
	maxBorn = 105                   // oldest age drawn
)

// dayOf returns the day of a civil date (proleptic Gregorian calendar).
func dayOf(y, m, d int) day {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return day(era*146097 + doe - 719468)
}

// civil returns the year, month and day of d.
func (d day) civil() (y, m, dd int) {
	z := int(d) + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	dd = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	y = yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m, dd
}

func (d day) year() int {
	y, _, _ := d.civil()
	return y
}

// appendTo appends d written YYYY-MM-DD.
func (d day) appendTo(b []byte) []byte {
	y, m, dd := d.civil()
	b = appendPadded(b, uint64(y), 4)
	b = append(b, '-')
	b = appendPadded(b, uint64(m), 2)
	b = append(b, '-')
	return appendPadded(b, uint64(dd), 2)
}

func (d day) String() string {
	var b [10]byte
	return string(d.appendTo(b[:0]))
}

// parseDay reads a YYYY-MM-DD date; ok is false if s is not a real date in that form.
func parseDay(s string) (d day, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	num := func(t string) int {
		v := 0
		for i := 0; i < len(t); i++ {
			if t[i] < '0' || t[i] > '9' {
				return -1
			}
			v = v*10 + int(t[i]-'0')
		}
		return v
	}
	y, m, dd := num(s[:4]), num(s[5:7]), num(s[8:])
	if y < 0 || m < 1 || m > 12 || dd < 1 || dd > daysInMonth(y, m) {
		return 0, false
	}
	return dayOf(y, m, dd), true
}

func mustDay(s string) day {
	d, ok := parseDay(s)
	if !ok {
		panic("synth: bad date " + s)
	}
	return d
}

func daysInMonth(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// yearsBefore returns the same calendar day years before d (28 February for 29 February).
func yearsBefore(d day, years int) day {
	y, m, dd := d.civil()
	y -= years
	return dayOf(y, m, min(dd, daysInMonth(y, m)))
}

// ageWeights approximates Japan's population by five-year age group (thousands),
// 0–4 to 100–105 (the last group has six ages).
var ageWeights = []int{4100, 4900, 5300, 5500, 6200, 6400, 6600, 7400, 8200, 9600, 9500,
	8200, 7400, 7400, 9200, 7200, 5800, 3800, 1900, 530, 110}

// ageCum holds cumulative weights per single year of age 0..maxBorn.
var ageCum = func() []int {
	cum := make([]int, maxBorn+1)
	total := 0
	for a := range cum {
		g := min(a/5, len(ageWeights)-1)
		per := 5
		if g == len(ageWeights)-1 {
			per = 6
		}
		total += ageWeights[g] * 100 / per
		cum[a] = total
	}
	return cum
}()

// drawBirth draws an age from the pyramid and a birth date giving that age on today.
func drawBirth(r *rand.Rand, today day) (birth day, age int) {
	age = pickCum(r, ageCum)
	hi := yearsBefore(today, age)
	lo := yearsBefore(today, age+1)
	return lo + 1 + day(r.IntN(int(hi-lo))), age
}

// appendPadded appends v in decimal, zero-padded to width digits (v must fit).
func appendPadded(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	for i := width - 1; i >= 0; i-- {
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[:width]...)
}
