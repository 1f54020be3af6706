package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon/api"
	"jukiterm/daemon/config"
	"jukiterm/hsm"
	"jukiterm/store"
	"jukiterm/systemd"
)

// rotation runs storage key rotations for the daemon: it draws the new key, keeps it
// in the key file beside the current one while the store re-encrypts every row, and
// drops the old key from the key file once the store names the new one.
type rotation struct {
	cfg  config.Config
	hw   *hw.Keys
	st   *store.Store
	log  *slog.Logger
	ctx  context.Context // ends at shutdown: the rotation stops between batches
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu    sync.Mutex // guards kf and state
	kf    *hsm.KeyFile
	state api.Rotation
}

func newRotation(cfg config.Config, k *hw.Keys, kf *hsm.KeyFile, st *store.Store, log *slog.Logger) *rotation {
	ctx, stop := context.WithCancel(context.Background())
	return &rotation{cfg: cfg, hw: k, kf: kf, st: st, log: log, ctx: ctx, stop: stop}
}

// settle finishes the key file of a rotation the store completed before the key file
// was rewritten, and continues a rotation that was under way when the daemon stopped.
func (r *rotation) settle(next *store.Keys) error {
	switch {
	case r.kf.Next == nil:
		return nil
	case r.st.Rotated():
		return r.finishKeyFile()
	case next != nil:
		r.log.Info("continuing the storage key rotation that was under way")
		r.mu.Lock()
		defer r.mu.Unlock()
		r.run(next)
	}
	return nil
}

// StartRotation draws a new storage key, writes it to the key file beside the current
// one, and starts re-encrypting; it does nothing when a rotation runs already.
func (r *rotation) StartRotation() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state.Running {
		return nil
	}
	if r.kf.Next != nil {
		return fmt.Errorf("the key file holds an unfinished rotation's key that is not running: restart jukitermd to continue it")
	}
	dek, err := r.kf.BeginRotation(r.hw.Token, r.hw.TPM, r.cfg.PCRs)
	if err != nil {
		return fmt.Errorf("draw and seal a new storage key: %w%s", err, hw.WhatToDo(err))
	}
	next, err := store.NewKeys(dek.Derive)
	dek.Destroy()
	if err == nil {
		err = hw.WriteKeyFile(r.cfg.KeyFile, r.kf)
	}
	if err != nil {
		r.kf.AbandonRotation()
		return fmt.Errorf("keep the new storage key in the key file: %w", err)
	}
	if err := r.st.BeginRotation(next); err != nil {
		// Nothing was re-encrypted: the key file drops the new key again.
		r.kf.AbandonRotation()
		if werr := hw.WriteKeyFile(r.cfg.KeyFile, r.kf); werr != nil {
			r.log.Error("drop the unused new key from the key file", "err", werr)
		}
		return err
	}
	r.run(next)
	return nil
}

// run starts the store's rotation to next in the background (r.mu held).
func (r *rotation) run(next *store.Keys) {
	r.state = api.Rotation{Running: true, StartedAt: time.Now().UTC().Format(time.RFC3339)}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		systemd.Status("serving; rotating the storage key")
		err := r.st.Rotate(r.ctx, next, func(p store.RotationProgress) {
			r.mu.Lock()
			r.state.Done, r.state.Total = p.Done, p.Total
			r.mu.Unlock()
		})
		if err == nil {
			err = r.finishKeyFile()
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.state.Running, r.state.FinishedAt = false, time.Now().UTC().Format(time.RFC3339)
		switch {
		case err == nil:
			r.state.Finished, r.state.Done = true, r.state.Total
			r.log.Info("storage key rotation finished", "rows", r.state.Total)
			systemd.Status("serving")
		case r.ctx.Err() != nil:
			r.state.Error = "jukitermd is shutting down: the key rotation stopped between batches and continues when jukitermd starts again"
			r.log.Info("storage key rotation paused for shutdown", "done", r.state.Done, "total", r.state.Total)
		default:
			r.state.Error = "the key rotation stopped: " + err.Error() + "; searches keep working with both keys; fix the cause and restart jukitermd to continue it"
			r.log.Error("storage key rotation stopped", "err", err)
			systemd.Status("serving; the storage key rotation stopped: " + err.Error())
		}
	}()
}

// finishKeyFile drops the old key from the key file: the store is under the new one.
func (r *rotation) finishKeyFile() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kf.FinishRotation()
	if err := hw.WriteKeyFile(r.cfg.KeyFile, r.kf); err != nil {
		return fmt.Errorf("the identity file is under the new key, but the key file could not drop the old one (it is kept and does no harm; restart jukitermd to try again): %w", err)
	}
	return nil
}

// Rotation says how the rotation under way, or the last one, stands.
func (r *rotation) Rotation() api.Rotation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// Close stops a running rotation between batches and waits for it.
func (r *rotation) Close() {
	r.stop()
	r.wg.Wait()
}
