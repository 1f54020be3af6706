package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPingSeesAWedgedWriter(t *testing.T) {
	s := openTemp(t)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock() // a write that never ends
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := s.Ping(ctx)
	s.mu.Unlock()
	if !errors.Is(err, ErrWedged) {
		t.Fatalf("Ping with the writer held: %v", err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping once free again: %v", err)
	}
}
