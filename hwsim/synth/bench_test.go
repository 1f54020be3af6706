package synth

import (
	"testing"

	"jukiterm/store/record"
)

func BenchmarkResidents(b *testing.B) {
	p := record.Akita()
	b.ReportAllocs()
	b.ResetTimer()
	count := 0
	EachResident(1, b.N, p, func(int, record.Notification) { count++ })
	b.ReportMetric(float64(count)/b.Elapsed().Seconds(), "persons/s")
}

func BenchmarkStream(b *testing.B) {
	p := record.Akita()
	s := NewStream(1, Residents(1, 10_000, p), p, StreamOptions{Invalid: 0.1})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.Next()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}
