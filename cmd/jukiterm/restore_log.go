package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon/backup"
	"jukiterm/daemon/config"
	"jukiterm/store"
)

// settleLog makes the restored file's operation log and the exported checkpoints agree:
// a restore is a deliberate rollback, so every exported checkpoint the restored log
// does not contain (made after the backup, or by this terminal's replaced log) is
// moved to a superseded-TIME directory beside them instead of making jukitermd refuse
// the file; and the restore itself is the first new entry of the log.
//
// The checkpoints in the restored log were signed by the terminal that made the
// backup: its key (source, the key the backup was verified with) is added to the
// trusted keys, so they stay checkable and new ones can extend them.
func settleLog(ctx context.Context, cfg config.Config, k *hw.Keys, m backup.Manifest, from string, source *ecdsa.PublicKey) (moved int, err error) {
	st, err := openOffline(cfg, k)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	sv, err := store.NewNoteVerifier(hw.LogKeyName(m.TerminalID), source)
	if err != nil {
		return 0, err
	}
	signer, err := hw.LogSigner(cfg, k.Token)
	if err != nil {
		return 0, err
	}
	added := false
	if sv.VerifierKey() != signer.Verifier().VerifierKey() {
		hsmKey, err := k.Token.Signer()
		if err != nil {
			return 0, err
		}
		added, err = store.AddTrustedKey(cfg.LogVerifiers, sv, fmt.Sprintf("checkpoint key of terminal %s, whose backup %s was restored here at %s",
			m.TerminalID, filepath.Base(from), time.Now().UTC().Format(time.RFC3339)), hsmKey, nil)
		if err != nil {
			return 0, err
		}
		signer.Trust(sv)
	}
	ents, _ := os.ReadDir(cfg.CheckpointDir)
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "checkpoint-") && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	aside := filepath.Join(cfg.CheckpointDir, "superseded-"+time.Now().UTC().Format("20060102T150405Z"))
	for i := len(names) - 1; i >= 0; i-- {
		p := filepath.Join(cfg.CheckpointDir, names[i])
		msg, err := os.ReadFile(p)
		if err == nil && st.CheckExported(ctx, msg, signer.Verifiers()) == nil {
			break // this one and the older ones are in the restored log
		}
		if err := os.MkdirAll(aside, 0o750); err != nil {
			return moved, err
		}
		if err := os.Rename(p, filepath.Join(aside, names[i])); err != nil {
			return moved, err
		}
		moved++
	}
	_, err = st.Log(ctx, store.Entry{Operator: "jukiterm backup restore", Action: "backup.restored", Detail: map[string]any{
		"backup": filepath.Base(from), "made_by": m.TerminalID, "made_at": m.Created.Format(time.RFC3339),
		"checkpoints_superseded": moved, "superseded_dir": aside, "key_trusted": added, "source_key": sv.VerifierKey()}})
	if err != nil {
		return moved, fmt.Errorf("record the restore in the operation log: %w", err)
	}
	return moved, nil
}
