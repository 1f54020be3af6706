// Package nationalsim simulates the national server (全国サーバ) for the terminal's
// link (docs/links.md): it accepts the pinned terminal over the real TLS and protocol
// code, keeps every update it receives in its own SQLite file — deduplicating by
// 更新順番号, acknowledging each, and counting gaps and out-of-order arrivals — and
// answers queries from its own persons of other prefectures.
package nationalsim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"jukiterm/daemon/link"
	"jukiterm/daemon/link/linkpb"
	"jukiterm/store/record"
)

// Sim is a national server simulator.
type Sim struct {
	db       *sql.DB
	mu       sync.Mutex
	stats    Stats
	Identity link.Identity
	Pins     *link.PinSet
	Log      *slog.Logger
	// OnUpdate, when set, sees the 更新順番号 of every update kept, as it is kept
	// (benchmarks).
	OnUpdate func(seq int64)
}

// Stats is what the simulator saw.
type Stats struct {
	Received   int64 `json:"received"`     // distinct updates kept
	Duplicates int64 `json:"duplicates"`   // updates received again (acknowledged again)
	Gaps       int64 `json:"gaps"`         // an update whose 更新順番号 skipped some after the first
	OutOfOrder int64 `json:"out_of_order"` // an update older than the newest, not received before
	Newest     int64 `json:"newest"`
	Queries    int64 `json:"queries"`
	// Connections counts the terminal's links accepted.
	Connections int64 `json:"connections"`
}

// Open opens (creating) the simulator's file.
func Open(path string) (*Sim, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS received (update_seq INTEGER PRIMARY KEY, record BLOB NOT NULL, received_at TEXT NOT NULL);
		CREATE TABLE IF NOT EXISTS persons (resident_code TEXT PRIMARY KEY, my_number TEXT NOT NULL, name TEXT NOT NULL,
			name_kana TEXT NOT NULL, birth TEXT NOT NULL, sex INTEGER NOT NULL, record BLOB NOT NULL);
		CREATE INDEX IF NOT EXISTS persons_number ON persons (my_number);
		CREATE INDEX IF NOT EXISTS persons_birth ON persons (birth);`); err != nil {
		db.Close()
		return nil, fmt.Errorf("national simulator's file %s: %w", path, err)
	}
	s := &Sim{db: db, Log: slog.Default()}
	err = db.QueryRow(`SELECT COUNT(*), COALESCE(MAX(update_seq), 0) FROM received`).Scan(&s.stats.Received, &s.stats.Newest)
	return s, err
}

// Close closes the file.
func (s *Sim) Close() error { return s.db.Close() }

// Stats returns what the simulator saw (gaps and duplicates since it started).
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Received returns the 更新順番号 of every update kept, in order.
func (s *Sim) Received(ctx context.Context) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT update_seq FROM received ORDER BY update_seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Serve accepts the terminal's connections on l until ctx ends.
func (s *Sim) Serve(ctx context.Context, l net.Listener) error {
	cfg, err := link.ServerConfig(s.Identity, link.Policy{Pins: s.Pins, Role: link.RoleTerminal})
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); l.Close() }()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer nc.Close()
			tc, err := link.Accept(ctx, nc, cfg)
			if err != nil {
				s.Log.Warn("national simulator: a connection refused", "err", err)
				return
			}
			s.mu.Lock()
			s.stats.Connections++
			s.mu.Unlock()
			go func() { <-ctx.Done(); tc.Close() }()
			if err := s.serve(link.NewConn(tc)); err != nil && !errors.Is(err, link.ErrClosed) && ctx.Err() == nil {
				s.Log.Warn("national simulator: a link closed", "err", err)
			}
		}()
	}
}

func (s *Sim) serve(c *link.Conn) error {
	if _, err := link.Handshake(c, "jukiterm national simulator"); err != nil {
		return err
	}
	frames := make(chan *linkpb.Frame, 1024)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(frames)
		for {
			f, err := c.Recv()
			if err != nil {
				readErr <- err
				return
			}
			select {
			case frames <- f:
			case <-stop:
				return
			}
		}
	}()
	for {
		f, ok := <-frames
		if !ok {
			return <-readErr
		}
		var updates []*linkpb.Update
		var answers []*linkpb.Frame
		for f != nil { // what has arrived: one transaction, one flush of the answers
			switch {
			case f.GetUpdate() != nil:
				updates = append(updates, f.GetUpdate())
			case f.GetQuery() != nil:
				answers = append(answers, &linkpb.Frame{Body: &linkpb.Frame_QueryAnswer{QueryAnswer: s.answer(f.GetQuery())}})
			default:
				c.Fail(link.CodeUnexpected, "the national server takes Update and Query only")
				return fmt.Errorf("unexpected %s", link.FrameKind(f))
			}
			f = nil
			if len(updates) < 1000 {
				select {
				case g, ok := <-frames:
					if ok {
						f = g
					}
				default:
				}
			}
		}
		if err := s.keep(updates); err != nil {
			c.Fail(link.CodeInternal, err.Error())
			return err
		}
		for _, u := range updates {
			answers = append(answers, &linkpb.Frame{Body: &linkpb.Frame_UpdateAck{UpdateAck: &linkpb.UpdateAck{UpdateSeq: u.GetUpdateSeq()}}})
		}
		if err := c.SendAll(answers); err != nil {
			return err
		}
	}
}

// keep stores updates durably in one transaction (deduplicated) before they are
// acknowledged.
func (s *Sim) keep(updates []*linkpb.Update) error {
	if len(updates) == 0 {
		return nil
	}
	for _, u := range updates {
		var r record.Record
		if err := json.Unmarshal(u.GetRecord(), &r); err != nil || r.UpdateSeq != int64(u.GetUpdateSeq()) {
			return fmt.Errorf("update %d: its record is not a record of that 更新順番号", u.GetUpdateSeq())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	at := time.Now().UTC().Format(time.RFC3339Nano)
	st := s.stats
	var kept []int64
	for _, u := range updates {
		seq := int64(u.GetUpdateSeq())
		res, err := tx.Exec(`INSERT OR IGNORE INTO received (update_seq, record, received_at) VALUES (?, ?, ?)`, seq, u.GetRecord(), at)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			st.Duplicates++
			continue
		}
		switch {
		case seq < st.Newest:
			st.OutOfOrder++
		case st.Newest != 0 && seq != st.Newest+1:
			st.Gaps++
		}
		st.Received++
		st.Newest = max(st.Newest, seq)
		kept = append(kept, seq)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.stats = st
	if s.OnUpdate != nil {
		for _, seq := range kept {
			s.OnUpdate(seq)
		}
	}
	return nil
}
