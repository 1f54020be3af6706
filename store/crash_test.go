package store

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"jukiterm/store/record"
)

var crashKills = flag.Int("crash.kills", 20, "SIGKILLs of the ingesting child in TestCrashSafety")

// The child side of TestCrashSafety: ingest a file and print "ack N" after each durable
// batch (lines 1..N are applied, counted as duplicates or rejected), then "done".
func TestMain(m *testing.M) {
	if db := os.Getenv("JUKITERM_CRASH_DB"); db != "" {
		os.Exit(crashChild(db, os.Getenv("JUKITERM_CRASH_FILE")))
	}
	os.Exit(m.Run())
}

func crashChild(db, file string) int {
	s, err := Open(db, Options{CacheMiB: 16, Keys: testKeys})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	_, err = s.Ingest(context.Background(), bytes.NewReader(data), IngestOptions{BatchSize: 100, Source: SourceOf(data), Committed: func(lines int, _ *IngestResult) {
		fmt.Fprintf(out, "ack %d\n", lines)
		out.Flush()
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s.Close()
	fmt.Fprintln(out, "done")
	out.Flush()
	return 0
}

// runChild ingests file into db in a child process and SIGKILLs it after kill acks
// and a further random pause (kill < 0: let it finish). It returns the last ack.
func runChild(t *testing.T, r *rand.Rand, db, file string, kill int) (acked int, finished bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JUKITERM_CRASH_DB="+db, "JUKITERM_CRASH_FILE="+file)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	acks := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "done" {
			finished = true
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(line, "ack "))
		if err != nil {
			t.Fatalf("child said %q", line)
		}
		acked = n
		acks++
		if kill >= 0 && acks >= kill {
			time.Sleep(time.Duration(r.IntN(15000)) * time.Microsecond)
			cmd.Process.Kill()
			break
		}
	}
	err = cmd.Wait()
	if kill < 0 && err != nil {
		t.Fatalf("child failed: %v", err)
	}
	// Acks printed after the last one read were durable too, but were never seen:
	// the check below only relies on acks the parent actually received.
	return acked, finished
}

// TestCrashSafety SIGKILLs an ingesting child process at random points, restarts it
// each time (the same file again: it resumes after the last durable line), and proves
// after every kill that each acknowledged notification is in the file exactly once
// and the database is sound; then that the file ends identical to one ingested
// without crashes.
func TestCrashSafety(t *testing.T) {
	data, labels := streamFile(11, 3000, 17000, 0.1)
	dir := t.TempDir()
	file := filepath.Join(dir, "notifications.jsonl")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(labels)) // "municipality/id" of each valid line
	for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if labels[i+1] == "" {
			n, v := record.Parse([]byte(l))
			if v != nil {
				t.Fatalf("line %d labelled valid: %v", i+1, v)
			}
			keys[i+1] = n.Municipality + "/" + n.ID
		}
	}
	db := filepath.Join(dir, "crash.db")
	if err := Create(db); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	maxAck, midway := 0, 0
	for k := 0; k < *crashKills; k++ {
		// A restart resumes after the last durable line, so kills spread over the file.
		acked, finished := runChild(t, r, db, file, 1+r.IntN(10))
		if acked > maxAck {
			maxAck = acked
		}
		if acked > 0 && !finished {
			midway++
		}
		verifyAcked(t, db, keys, maxAck)
	}
	t.Logf("%d kills, %d during the ingest, %d of %d lines acknowledged before the last", *crashKills, midway, maxAck, len(labels)-1)
	if midway < *crashKills/2 {
		t.Fatalf("only %d of %d kills landed during the ingest: the test proved little", midway, *crashKills)
	}
	if _, finished := runChild(t, r, db, file, -1); !finished {
		t.Fatal("the final run did not finish")
	}
	verifyAcked(t, db, keys, len(labels)-1)

	ref := filepath.Join(dir, "reference.db")
	if err := Create(ref); err != nil {
		t.Fatal(err)
	}
	if _, finished := runChild(t, r, ref, file, -1); !finished {
		t.Fatal("the reference run did not finish")
	}
	a, b := openDump(t, db), openDump(t, ref)
	if a != b {
		t.Fatal("the file ingested with crashes differs from the one ingested without")
	}
}

// verifyAcked opens db as a restarted daemon would and checks every acknowledged
// valid line is applied exactly once, and SQLite's integrity check.
func verifyAcked(t *testing.T, db string, keys []string, acked int) {
	t.Helper()
	s, err := Open(db, Options{CacheMiB: 16, Keys: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ic, err := s.IntegrityCheck(); err != nil || ic != "ok" {
		t.Fatalf("integrity_check after kill: %q %v", ic, err)
	}
	for line := 1; line <= acked; line++ {
		if keys[line] == "" {
			continue
		}
		muni, id, _ := strings.Cut(keys[line], "/")
		var n int
		if err := s.w.QueryRow(`SELECT COUNT(*) FROM notifications WHERE municipality = ? AND id = ?`, muni, id).Scan(&n); err != nil || n != 1 {
			t.Fatalf("acknowledged line %d (%s) is in the file %d times (%v)", line, keys[line], n, err)
		}
	}
	var seqs, distinct, max int64
	s.w.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT update_seq), COALESCE(MAX(update_seq), 0) FROM notifications`).Scan(&seqs, &distinct, &max)
	if seqs != distinct || max != seqs {
		t.Fatalf("更新順番号: %d notifications, %d distinct numbers, highest %d", seqs, distinct, max)
	}
}

// openDump dumps the identity file's tables without the time columns.
func openDump(t *testing.T, db string) string {
	t.Helper()
	s, err := Open(db, Options{CacheMiB: 16, Keys: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return dump(t, s)
}
