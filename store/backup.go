package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// BackupInfo describes a copy of the identity file: what it holds at the moment it
// was taken. It carries no personal value.
type BackupInfo struct {
	SchemaVersion int   `json:"schema_version"`
	UpdateSeq     int64 `json:"update_seq"`      // the highest 更新順番号 in the copy
	Persons       int64 `json:"persons"`         // current residents (現存者)
	Removed       int64 `json:"persons_removed"` // removed persons (消除者)
	Bytes         int64 `json:"bytes"`           // size of the copy
}

// backupPages is how many pages one backup step copies (4 KiB each: 4 MiB a step).
var backupPages = 1024

// backupStepped, when set (tests), is called after each step of a backup's copy.
var backupStepped func()

// Backup copies the identity file to dst (which must not exist) with SQLite's online
// backup API, and syncs it to disk. The records in the copy stay encrypted by the
// storage key, as they are in the file.
//
// The copy is one consistent snapshot: it is read inside one read transaction of a
// reader connection, so in WAL mode writers go on while it runs and the copy never
// has to start over. It is taken in steps, so that ctx (shutdown) stops it quickly;
// an interrupted copy is removed.
func (s *Store) Backup(ctx context.Context, dst string) (info BackupInfo, err error) {
	if _, err := os.Lstat(dst); err == nil {
		return info, fmt.Errorf("backup: %s already exists", dst)
	}
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return info, fmt.Errorf("backup: take a reader: %w", err)
	}
	defer conn.Close()
	// A read transaction held over every step pins one snapshot of the file.
	if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil {
		return info, fmt.Errorf("backup: begin: %w", err)
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)
	if err := conn.QueryRowContext(ctx, `SELECT
		(SELECT COALESCE(MAX(update_seq), 0) FROM notifications),
		(SELECT COUNT(*) FROM persons WHERE removed = 0),
		(SELECT COUNT(*) FROM persons WHERE removed = 1),
		(SELECT user_version FROM pragma_user_version())`).Scan(
		&info.UpdateSeq, &info.Persons, &info.Removed, &info.SchemaVersion); err != nil {
		return info, fmt.Errorf("backup: read the file's counts: %w", err)
	}
	// A key rotation that began after the caller checked would leave rows under two
	// keys in this snapshot, and the key file's copy names only one.
	var rotating bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM meta WHERE name = 'rotation_to')`).Scan(&rotating); err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	if rotating {
		return info, fmt.Errorf("backup: %w", ErrRotating)
	}

	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	f.Close()
	defer func() {
		if err != nil {
			removeDB(dst)
		}
	}()
	// The copy is written through a connection of its own, in rollback-journal mode
	// (no WAL beside it), and closed before it is synced.
	ddb, err := sql.Open("sqlite3", dsn(dst, nil))
	if err != nil {
		return info, fmt.Errorf("backup: open the copy: %w", err)
	}
	defer ddb.Close()
	dconn, err := ddb.Conn(ctx)
	if err != nil {
		return info, fmt.Errorf("backup: open the copy: %w", err)
	}
	err = dconn.Raw(func(d any) error {
		return conn.Raw(func(src any) error {
			return copyPages(ctx, d.(*sqlite3.SQLiteConn), src.(*sqlite3.SQLiteConn))
		})
	})
	dconn.Close()
	if cerr := ddb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info, err
	}
	if err := syncFile(dst); err != nil {
		return info, fmt.Errorf("backup: sync the copy: %w", err)
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	info.Bytes = fi.Size()
	return info, nil
}

// copyPages runs the online backup from src to dst in steps until it is done.
func copyPages(ctx context.Context, dst, src *sqlite3.SQLiteConn) error {
	b, err := dst.Backup("main", src, "main")
	if err != nil {
		return fmt.Errorf("backup: start: %w", err)
	}
	for {
		if err := ctx.Err(); err != nil {
			b.Close()
			return fmt.Errorf("backup: stopped before it was complete: %w", err)
		}
		done, err := b.Step(backupPages)
		if err != nil {
			b.Close()
			return fmt.Errorf("backup: copy: %w", err)
		}
		if done {
			break
		}
		if backupStepped != nil {
			backupStepped()
		}
		time.Sleep(time.Millisecond) // let others use the pager between steps
	}
	if err := b.Close(); err != nil {
		return fmt.Errorf("backup: finish: %w", err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeDB removes a database file with its journal, WAL and shared-memory files.
func removeDB(path string) {
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}

// Inspect reads what a database file holds (counts, schema version, 更新順番号) and
// runs SQLite's integrity check on it, without any key: it reads no record. It is for
// a copy restored from a backup, and for the file a restore would replace. A WAL left
// beside the file (a daemon that did not stop cleanly) is folded into it first, so
// nothing committed is lost and no stale WAL stays beside it.
func Inspect(ctx context.Context, path string) (BackupInfo, string, error) {
	var info BackupInfo
	fi, err := os.Stat(path)
	if err != nil {
		return info, "", err
	}
	if fi.IsDir() {
		return info, "", fmt.Errorf("%s is a directory", path)
	}
	p := Pragmas(16)
	p.Set("mode", "rw")
	db, err := sql.Open("sqlite3", dsn(path, p))
	if err != nil {
		return info, "", fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var integrity string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&integrity); err != nil {
		return info, "", fmt.Errorf("%s is not a SQLite database that opens: %w", filepath.Base(path), err)
	}
	if integrity != "ok" {
		return info, integrity, nil
	}
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('persons', 'notifications', 'meta')`).Scan(&tables); err != nil {
		return info, integrity, err
	}
	if tables != 3 {
		return info, integrity, errors.New("it is a SQLite database but not an identity file (its tables are missing)")
	}
	if err := db.QueryRowContext(ctx, `SELECT
		(SELECT COALESCE(MAX(update_seq), 0) FROM notifications),
		(SELECT COUNT(*) FROM persons WHERE removed = 0),
		(SELECT COUNT(*) FROM persons WHERE removed = 1),
		(SELECT user_version FROM pragma_user_version())`).Scan(
		&info.UpdateSeq, &info.Persons, &info.Removed, &info.SchemaVersion); err != nil {
		return info, integrity, fmt.Errorf("read the counts of %s: %w", filepath.Base(path), err)
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return info, integrity, fmt.Errorf("fold the WAL of %s into it: %w", filepath.Base(path), err)
	}
	if err := db.Close(); err != nil {
		return info, integrity, err
	}
	if fi, err = os.Stat(path); err == nil {
		info.Bytes = fi.Size()
	}
	return info, integrity, nil
}

// InUse says whether another process (a running jukitermd) has the identity file at
// path open: it tries to take the file for itself alone, without waiting. While
// jukitermd runs, each of its connections holds a shared lock on the file (WAL mode).
func InUse(path string) (bool, error) {
	if _, err := os.Stat(path); err != nil {
		return false, err
	}
	v := url.Values{}
	v.Set("mode", "rw")
	v.Set("_locking_mode", "EXCLUSIVE")
	v.Set("_busy_timeout", "0")
	db, err := sql.Open("sqlite3", dsn(path, v))
	if err != nil {
		return false, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`BEGIN EXCLUSIVE; SELECT COUNT(*) FROM sqlite_master; COMMIT`)
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("open %s: %w", path, err)
	}
	return false, db.Close()
}
