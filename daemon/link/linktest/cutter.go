package linktest

import (
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Cutter is a TCP proxy to a target that cuts each of its first Cuts connections after
// a random number of bytes (up to MaxBytes, either way): a broken line.
type Cutter struct {
	Addr     string
	target   string
	l        net.Listener
	cuts     atomic.Int64
	MaxBytes int64
	r        *rand.Rand
	mu       sync.Mutex
	wg       sync.WaitGroup
	open     map[net.Conn]bool // closed at the end, so the pipes stop
}

// NewCutter proxies to target, cutting the first cuts connections.
func NewCutter(t testing.TB, target string, cuts int, maxBytes int64, seed uint64) *Cutter {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cutter{Addr: l.Addr().String(), target: target, l: l, MaxBytes: maxBytes, r: rand.New(rand.NewPCG(seed, 1)), open: map[net.Conn]bool{}}
	c.cuts.Store(int64(cuts))
	go c.serve()
	t.Cleanup(func() {
		l.Close()
		c.mu.Lock()
		for nc := range c.open {
			nc.Close()
		}
		c.mu.Unlock()
		c.wg.Wait()
	})
	return c
}

// Cut reports the cuts left.
func (c *Cutter) Left() int64 { return c.cuts.Load() }

func (c *Cutter) serve() {
	for {
		in, err := c.l.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", c.target)
		if err != nil {
			in.Close()
			continue
		}
		budget := int64(-1)
		c.mu.Lock()
		if c.cuts.Add(-1) >= 0 {
			budget = 1 + c.r.Int64N(c.MaxBytes)
		}
		c.open[in], c.open[out] = true, true
		c.mu.Unlock()
		var left atomic.Int64
		left.Store(budget)
		c.wg.Add(2)
		pipe := func(dst, src net.Conn) {
			defer c.wg.Done()
			defer func() {
				dst.Close()
				src.Close()
				c.mu.Lock()
				delete(c.open, dst)
				delete(c.open, src)
				c.mu.Unlock()
			}()
			buf := make([]byte, 4096)
			for {
				n, err := src.Read(buf)
				if n > 0 && budget >= 0 {
					if rest := left.Add(-int64(n)); rest < 0 {
						return // the line breaks here
					}
				}
				if n > 0 {
					if _, werr := dst.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					if err != io.EOF {
						return
					}
					return
				}
			}
		}
		go pipe(out, in)
		go pipe(in, out)
	}
}
