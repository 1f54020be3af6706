// Package store keeps the identity-confirmation file (都道府県知事保存本人確認情報ファイル)
// in SQLite: current records, their history, removed persons, applied and rejected
// notifications. It applies notifications with every logic check in one transaction
// per batch and answers searches. It knows nothing of devices or sessions.
package store

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // SQLite driver (cgo)

	"jukiterm/store/record"
)

// Options configure a Store.
type Options struct {
	// Prefecture whose municipalities may send notifications; default Akita.
	Prefecture *record.Prefecture
	// TerminalID is recorded as 操作端末ＩＤ on every change; default "terminal".
	TerminalID string
	// CacheMiB is SQLite's page cache per connection; default 256.
	CacheMiB int
	// Readers is the number of read connections for searches; default 4.
	Readers int
	// Keys encrypt records and compute blind indexes (required by Open).
	Keys *Keys
	// NextKeys are the new keys of a key rotation under way or about to begin (the
	// key file holds both keys until the rotation is finished); nil otherwise.
	NextKeys *Keys
	// Now is the store's clock for the operation log (entry times, retention); default
	// time.Now. Tests move it.
	Now func() time.Time
}

// Store is an open identity file. Its methods are safe for concurrent use: writes are
// serialised, reads run in parallel on their own connections (WAL).
type Store struct {
	probes probeWatch // ingest_probe.go
	path   string
	opt    Options
	w      *sql.DB // one connection, every write
	r      *sql.DB // read-only connections

	kr      atomic.Pointer[keyring] // the keys in force; replaced as a rotation begins and ends
	readers sync.RWMutex            // held for reading by every search (see readKeys)

	mu        sync.Mutex // serialises write transactions; guards the fields below
	seq       int64      // last 更新順番号 assigned
	lastID    int64      // last person_id assigned
	closed    bool
	active    map[string]bool // sources being ingested now
	ingesting int             // ingests running now
	rotating  bool            // a key rotation is under way (begun, not finished)
	rotated   bool            // the file is entirely under NextKeys (found at open, or rotated)
	rtx       *sql.Tx         // the running rotation batch's transaction
	erasing   sync.Mutex      // one EraseBefore at a time (not under mu: it archives meanwhile)
	log       logState        // the operation log's next index and tree edge
	anchor    *Checkpoint     // the newest checkpoint known from outside (CheckExported)
	forked    error           // why the file is inconsistent with an exported checkpoint

	logKey  *logKey    // HMAC key of personal values in the log (set at open)
	logStmt logStmts   // the log's prepared statements (writer's connection)
	gc      *committer // the log's group committer; nil without keys
}

// Pragmas are the SQLite settings of every connection (DSN form). The benchmark's bare
// SQLite baseline uses the same.
func Pragmas(cacheMiB int) url.Values {
	v := url.Values{}
	v.Set("_journal_mode", "WAL")
	v.Set("_synchronous", "FULL")
	v.Set("_busy_timeout", "10000")
	v.Set("_cache_size", fmt.Sprint(-cacheMiB*1024))
	return v
}

// dsn makes a SQLite URI for path; characters that URIs reserve are escaped.
func dsn(path string, params url.Values) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + esc + "?" + params.Encode()
}

// ErrNotInitialised is returned by Open when the database file does not exist.
var ErrNotInitialised = errors.New("the identity file does not exist")

// Create makes a new, empty identity file at path; it fails if one exists.
func Create(path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s already exists: refusing to overwrite an identity file", path)
	}
	// The file is private to jukitermd's user from its first byte (SQLite would make it
	// 0644, and gives its -wal and -shm the file's mode).
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create the identity file: %w", err)
	}
	f.Close()
	s, err := open(path, Options{}, true)
	if err != nil {
		return err
	}
	return s.Close()
}

// Open opens an existing identity file and brings its schema up to date.
func Open(path string, o Options) (*Store, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (run `jukiterm init` first)", path, ErrNotInitialised)
	}
	if o.Keys == nil {
		return nil, ErrNoKeys
	}
	return open(path, o, false)
}

func open(path string, o Options, create bool) (*Store, error) {
	if o.Prefecture == nil {
		o.Prefecture = record.Akita()
	}
	if o.TerminalID == "" {
		o.TerminalID = "terminal"
	}
	if o.CacheMiB <= 0 {
		o.CacheMiB = 256
	}
	if o.Readers <= 0 {
		o.Readers = 4
	}
	p := Pragmas(o.CacheMiB)
	p.Set("_txlock", "immediate")
	if !create {
		p.Set("mode", "rw")
	}
	w, err := sql.Open("sqlite3", dsn(path, p))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	s := &Store{path: path, opt: o, w: w, active: map[string]bool{}}
	if err := s.init(); err != nil {
		w.Close()
		return nil, err
	}
	rp := Pragmas(o.CacheMiB)
	rp.Set("_query_only", "true")
	rp.Set("mode", "ro")
	s.r, err = sql.Open("sqlite3", dsn(path, rp))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	s.r.SetMaxOpenConns(o.Readers)
	s.r.SetMaxIdleConns(o.Readers)
	return s, nil
}

func (s *Store) init() error {
	if _, err := s.w.Exec(`PRAGMA wal_autocheckpoint = 16384`); err != nil {
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	var mode string
	if err := s.w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		return fmt.Errorf("open %s: journal mode is %q, want wal: %v", s.path, mode, err)
	}
	if err := migrate(s.w); err != nil {
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	if s.opt.Keys != nil {
		if err := s.checkKey(); err != nil {
			return fmt.Errorf("open %s: %w", s.path, err)
		}
		if err := s.startLog(); err != nil {
			return fmt.Errorf("open %s: %w", s.path, err)
		}
	}
	// The last 更新順番号 is kept in meta by every batch (a file without it is scanned
	// once), so that opening a large file does not read every notification.
	return s.w.QueryRow(`SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE name = 'update_seq'),
		(SELECT COALESCE(MAX(update_seq), 0) FROM notifications)), (SELECT COALESCE(MAX(person_id), 0) FROM persons)`).Scan(&s.seq, &s.lastID)
}

// Close waits for the running write to finish, checkpoints the WAL and closes.
func (s *Store) Close() error {
	s.stopLog() // writes the entries already queued first
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for _, st := range []*sql.Stmt{s.logStmt.entry, s.logStmt.lookup} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if _, err := s.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Prefecture returns the prefecture the store accepts notifications from.
func (s *Store) Prefecture() *record.Prefecture { return s.opt.Prefecture }

// IntegrityCheck runs SQLite's integrity check and returns its report ("ok" when sound).
func (s *Store) IntegrityCheck() (string, error) {
	var res string
	err := s.w.QueryRow(`PRAGMA integrity_check`).Scan(&res)
	return res, err
}

// TerminalID returns the terminal's id (操作端末ＩＤ).
func (s *Store) TerminalID() string { return s.opt.TerminalID }
