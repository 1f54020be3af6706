package main

import (
	"context"
	"log/slog"
	"time"

	"golang.org/x/sys/unix"

	"jukiterm/store"
	"jukiterm/systemd"
)

// mirrorLog writes a summary of each new operation-log entry to the journal at level:
// its index, time, operator and action, never its details or personal values (those
// stay in the log, keyed). A demo run (`make run`) mirrors at debug level, so that its
// screen shows the hints rather than a line per entry.
func mirrorLog(ctx context.Context, st *store.Store, log *slog.Logger, level slog.Level) {
	next := st.LogSize()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for next < st.LogSize() {
			es, err := st.ReadLog(ctx, next, 500)
			if err != nil || len(es) == 0 {
				if err != nil && ctx.Err() == nil {
					log.Error("mirror the operation log to the journal", "err", err)
				}
				break
			}
			for _, e := range es {
				log.Log(ctx, level, "operation", "entry", e.Index, "at", e.At.Format(time.RFC3339), "operator", e.Operator, "action", e.Action)
			}
			next = es[len(es)-1].Index + 1
		}
	}
}

// DiskLow is the free space below which jukitermd raises the alarm: the smaller of
// 10 % of the file system and 2 GiB.
func diskLow(total uint64) uint64 { return min(total/10, 2<<30) }

// watchDisk raises an alarm (journal error and systemd STATUS) when the identity
// file's file system, which also holds the operation log, runs short of space, before
// the log's writes fail and every operation is refused.
func watchDisk(ctx context.Context, dir string, log *slog.Logger) {
	watchSpace(ctx, dir, time.Minute, statfs, log)
}

func statfs(dir string) (free, total uint64, err error) {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return 0, 0, err
	}
	return fs.Bavail * uint64(fs.Bsize), fs.Blocks * uint64(fs.Bsize), nil
}

func watchSpace(ctx context.Context, dir string, every time.Duration, space func(string) (uint64, uint64, error), log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	alarmed := false
	for {
		if free, total, err := space(dir); err == nil {
			switch low := free < diskLow(total); {
			case low && !alarmed:
				log.Error("DISK SPACE LOW: the identity file and its operation log will soon be unable to write, and every operation will then be refused",
					"dir", dir, "free_mib", free>>20, "total_mib", total>>20, "what_to_do", "free space or enlarge the file system now")
				systemd.Status("serving; DISK SPACE LOW: free space now")
				alarmed = true
			case !low && alarmed:
				log.Info("disk space is sufficient again", "dir", dir, "free_mib", free>>20)
				systemd.Status("serving")
				alarmed = false
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
