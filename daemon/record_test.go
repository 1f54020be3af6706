package daemon

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// TestSearchesAndViewsAreLogged: each search and each view is in the operation log
// before its answer, with its personal values only as keyed HMACs that audit lookup
// finds; with the log's storage failing, the search is refused and shows nothing.
func TestSearchesAndViewsAreLogged(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	data := residents(t, 20)
	if _, err := f.cl.Ingest(ctx, data, nil); err != nil {
		t.Fatal(err)
	}
	var first struct {
		ResidentCode string `json:"resident_code"`
		NameKana     string `json:"name_kana"`
		Birth        string `json:"birth"`
	}
	json.Unmarshal(bytes.SplitN(data, []byte("\n"), 2)[0], &first)
	before := f.st.LogSize()
	recs, err := f.cl.Search(ctx, store.Query{Kana: first.NameKana, Birth: first.Birth, Limit: 100})
	if err != nil || len(recs) == 0 {
		t.Fatalf("search: %d %v", len(recs), err)
	}
	code := first.ResidentCode
	if _, err := f.cl.Show(ctx, code, true); err != nil {
		t.Fatal(err)
	}
	entries, err := f.st.ReadLog(ctx, before, 10)
	if err != nil || len(entries) != 2 || entries[0].Action != "search" || entries[1].Action != "view" || entries[0].Operator != "tester" {
		t.Fatalf("log after a search and a view: %+v %v", entries, err)
	}
	hits, err := f.st.Lookup(ctx, code)
	if err != nil || len(hits) < 2 {
		t.Fatalf("audit lookup of the viewed code: %+v %v", hits, err)
	}
	hits, _ = f.st.Lookup(ctx, first.NameKana)
	if len(hits) != 1 || hits[0].Action != "search" {
		t.Fatalf("audit lookup of the searched kana: %+v", hits)
	}

	// The log's storage fails: the search is refused and nothing is shown.
	raw, err := sql.Open("sqlite3", "file:"+filepath.Join(filepath.Dir(f.socket), "jukiterm.db")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`CREATE TRIGGER oplog_fails BEFORE INSERT ON oplog BEGIN SELECT RAISE(ABORT, 'the disk is failing'); END`); err != nil {
		t.Fatal(err)
	}
	size := f.st.LogSize()
	got, err := f.cl.Search(ctx, store.Query{Kana: first.NameKana, Birth: first.Birth, Limit: 100})
	var ae *api.Error
	if !errors.As(err, &ae) || len(got) != 0 || !strings.Contains(err.Error(), "operation log could not record") {
		t.Fatalf("a search whose entry cannot be written: %d results, %v", len(got), err)
	}
	if f.st.LogSize() != size {
		t.Fatal("the failed entry took a log index")
	}
}
