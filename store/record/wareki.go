package record

import (
	"fmt"
	"time"
)

var eras = []struct {
	name  string
	start string
}{
	{"令和", "2019-05-01"}, {"平成", "1989-01-08"}, {"昭和", "1926-12-25"}, {"大正", "1912-07-30"}, {"明治", "1868-01-01"},
}

// Wareki writes an ISO date (YYYY-MM-DD) in the Japanese era calendar, e.g.
// 1990-01-15 → 平成2年1月15日; the first year of an era is 元年. Dates it cannot read
// are returned unchanged.
func Wareki(iso string) string {
	t, err := time.Parse(time.DateOnly, iso)
	if err != nil {
		return iso
	}
	for _, e := range eras {
		if iso >= e.start {
			start, _ := time.Parse(time.DateOnly, e.start)
			y := t.Year() - start.Year() + 1
			ys := fmt.Sprint(y)
			if y == 1 {
				ys = "元"
			}
			return fmt.Sprintf("%s%s年%d月%d日", e.name, ys, int(t.Month()), t.Day())
		}
	}
	return iso
}
