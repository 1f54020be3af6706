package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// failLog makes every insert into the log fail, as a failing medium would.
func failLog(t *testing.T, s *Store) (undo func()) {
	t.Helper()
	if _, err := s.w.Exec(`CREATE TRIGGER oplog_fails BEFORE INSERT ON oplog BEGIN SELECT RAISE(ABORT, 'the log medium failed'); END`); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := s.w.Exec(`DROP TRIGGER oplog_fails`); err != nil {
			t.Fatal(err)
		}
	}
}

// logDump is every row of the log's tables.
func logDump(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	for _, rs := range snapshot(t, s) {
		for _, r := range rs {
			fmt.Fprintln(&b, r...)
		}
	}
	return b.String()
}

// TestLogFailsClosed: with the log's storage failing, Log returns an error for each
// caller, nothing changes, and the next entry once it works takes the index the
// failed one would have had.
func TestLogFailsClosed(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	logEntries(t, s, clk, 0, 5)
	before := logDump(t, s)
	undo := failLog(t, s)
	for range 3 {
		if _, err := s.Log(context.Background(), testEntry(5)); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("Log with a failing medium: %v", err)
		}
	}
	if s.LogSize() != 5 || logDump(t, s) != before {
		t.Fatal("a failed Log changed the log")
	}
	undo()
	logEntries(t, s, clk, 5, 6) // index 5, as if the failures had not been
	mustVerify(t, s, nil)
}

// TestLogFullDisk: with the file unable to grow (a full disk), Log fails and the
// store goes on once there is room.
func TestLogFullDisk(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	logEntries(t, s, clk, 0, 3)
	var pages int
	if err := s.w.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`PRAGMA max_page_count = ` + strconv.Itoa(pages)); err != nil {
		t.Fatal(err)
	}
	big := testEntry(3)
	big.Detail["filler"] = strings.Repeat("x", 40000) // needs new pages
	if _, err := s.Log(context.Background(), big); err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("Log on a full disk: %v", err)
	}
	if s.LogSize() != 3 {
		t.Fatalf("log size %d after a failed append", s.LogSize())
	}
	if _, err := s.w.Exec(`PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	logEntries(t, s, clk, 3, 4)
	mustVerify(t, s, nil)
}

// TestIngestFailsClosed: an ingest batch whose log entry cannot be written is
// rolled back entirely: no person, no notification, no 更新順番号 used; sent again
// once the log works, it applies as if the first attempt had not been.
func TestIngestFailsClosed(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	logEntries(t, s, clk, 0, 2)
	before, logBefore := dump(t, s), logDump(t, s)
	undo := failLog(t, s)
	_, err := s.Ingest(context.Background(), bytes.NewReader(lines(person(1), person(2), person(1).with("id", "dup"))), IngestOptions{})
	if err == nil {
		t.Fatal("an ingest was applied without its log entry")
	}
	var rejections int
	s.w.QueryRow(`SELECT COUNT(*) FROM rejections`).Scan(&rejections)
	if dump(t, s) != before || logDump(t, s) != logBefore || rejections != 0 || s.seq != 0 || s.lastID != 0 {
		t.Fatalf("the failed batch left changes (seq %d, last id %d, rejections %d)", s.seq, s.lastID, rejections)
	}
	undo()
	res := ingest(t, s, person(1), person(2), person(1).with("id", "dup"))
	if res.Applied != 2 || res.Rejected != 1 {
		t.Fatalf("after: %+v", res)
	}
	es, err := s.ReadLog(context.Background(), 2, 10)
	if err != nil || len(es) != 1 || es[0].Action != "ingest.batch" || es[0].Detail["applied"] != float64(2) ||
		es[0].Detail["rejected_rules"].(map[string]any)["entering-current-resident"] != float64(1) {
		t.Fatalf("ingest entry %+v %v", es, err)
	}
	var seq int64
	s.w.QueryRow(`SELECT MAX(update_seq) FROM persons`).Scan(&seq)
	if seq != 2 {
		t.Fatalf("更新順番号 %d after the retry, want 2", seq)
	}
	mustVerify(t, s, nil)
}

// TestWriteTxGivesIndexesBack: a write transaction that appends and then fails gives
// its indexes back.
func TestWriteTxGivesIndexesBack(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	logEntries(t, s, clk, 0, 3)
	err := s.writeTx(func(tx *sql.Tx) error {
		for i := range 4 {
			if _, err := s.appendInTx(tx, testEntry(3+i)); err != nil {
				return err
			}
		}
		return errors.New("the effect failed")
	})
	if err == nil || s.LogSize() != 3 {
		t.Fatalf("%v, log size %d", err, s.LogSize())
	}
	logEntries(t, s, clk, 3, 5)
	mustVerify(t, s, nil)
}
