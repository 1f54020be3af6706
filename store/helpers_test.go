package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"jukiterm/store/record"
)

var cacheMiB = 16

// testKeys are the same in every process of a test run (the crash test's children).
var testKeys = func() *Keys {
	k, err := NewKeys(func(p string) []byte { h := sha256.Sum256([]byte("test key " + p)); return h[:] })
	if err != nil {
		panic(err)
	}
	return k
}()

// openTemp creates and opens an identity file in a temporary directory.
func openTemp(t testing.TB) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jukiterm.db")
	if err := Create(path); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{CacheMiB: cacheMiB, Keys: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// n is a notification written as a map, so tests can add, drop and mistype fields.
type n map[string]any

func (m n) with(kv ...any) n {
	out := n{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func lines(ns ...any) []byte {
	var b bytes.Buffer
	for _, x := range ns {
		switch v := x.(type) {
		case string:
			b.WriteString(v)
		default:
			j, err := json.Marshal(v)
			if err != nil {
				panic(err)
			}
			b.Write(j)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func ingest(t testing.TB, s *Store, ns ...any) IngestResult {
	t.Helper()
	res, err := s.Ingest(context.Background(), bytes.NewReader(lines(ns...)), IngestOptions{})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return res
}

// mustApply ingests notifications that must all be applied.
func mustApply(t testing.TB, s *Store, ns ...any) {
	t.Helper()
	res := ingest(t, s, ns...)
	if res.Rejected != 0 || res.Applied != len(ns) {
		t.Fatalf("setup: want %d applied, got %+v", len(ns), res)
	}
}

// dump returns every row of the identity file's tables (not the rejections), the
// records decrypted and without their timestamps, for proving that a rejected
// notification changed nothing and that two files hold the same.
func dump(t testing.TB, s *Store) string {
	t.Helper()
	var b strings.Builder
	rows, err := s.w.Query(`SELECT hex(code_idx), hex(number_idx), hex(kana_idx), hex(kana_surname_idx),
		hex(name_idx), hex(name_surname_idx), hex(birth_idx), municipality, removed, person_id, update_seq, data
		FROM persons ORDER BY person_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var idx [7]string
		var muni string
		var removed bool
		var id, seq int64
		var data []byte
		if err := rows.Scan(&idx[0], &idx[1], &idx[2], &idx[3], &idx[4], &idx[5], &idx[6], &muni, &removed, &id, &seq, &data); err != nil {
			t.Fatal(err)
		}
		r, err := s.keys().openRecord("persons", id, seq, data)
		if err != nil {
			t.Fatal(err)
		}
		r.Timestamp = ""
		fmt.Fprintln(&b, idx, muni, removed, fmt.Sprintf("%+v", r))
	}
	rows.Close()
	b.WriteString("--\n")
	rows, err = s.w.Query(`SELECT history_id, person_id, update_seq, data FROM history ORDER BY history_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var hid, id, seq int64
		var data []byte
		if err := rows.Scan(&hid, &id, &seq, &data); err != nil {
			t.Fatal(err)
		}
		r, err := s.keys().openRecord("history", id, seq, data)
		if err != nil {
			t.Fatal(err)
		}
		r.Timestamp = ""
		fmt.Fprintln(&b, hid, fmt.Sprintf("%+v", r))
	}
	rows.Close()
	for _, q := range []string{
		`SELECT hex(code_idx), person_id FROM former_codes ORDER BY code_idx`,
	} {
		b.WriteString("--\n")
		rows, err := s.w.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
	}
	b.WriteString("--\n")
	rows, err = s.w.Query(`SELECT municipality, id, hash, update_seq, person_id FROM notifications ORDER BY municipality, id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var muni, id string
		var sealed []byte
		var seq, person int64
		if err := rows.Scan(&muni, &id, &sealed, &seq, &person); err != nil {
			t.Fatal(err)
		}
		digest, err := s.keys().open(sealed, notificationAAD(muni, id))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %x %d %d\n", muni, id, digest, seq, person)
	}
	rows.Close()
	return b.String()
}

func myNumber(first11 string) string {
	return first11 + fmt.Sprint(record.MyNumberCheckDigit(first11))
}

// person returns a valid 転入 of a new person numbered i into 秋田市.
func person(i int) n {
	return n{"id": fmt.Sprintf("t-%d", i), "municipality": "052019", "reason": "転入",
		"changed_on": "2026-04-01", "notified_on": "2026-04-02",
		"resident_code": fmt.Sprintf("%011d", 12000000000+i), "my_number": myNumber(fmt.Sprintf("%011d", 45000000000+i)),
		"name": "秋田　太郎", "name_kana": "アキタ　タロウ", "birth": "1990-01-15", "sex": 1,
		"address": "秋田県秋田市山王一丁目1番1号"}
}

// change returns a notification of reason for person i, with the given id suffix.
func change(i int, id, reason string, kv ...any) n {
	m := n{"id": fmt.Sprintf("c-%d-%s", i, id), "municipality": "052019", "reason": reason,
		"changed_on": "2026-05-01", "notified_on": "2026-05-02",
		"resident_code": fmt.Sprintf("%011d", 12000000000+i)}
	return m.with(kv...)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
