package hw

import (
	"context"
	"fmt"
	"slices"
	"time"

	"jukiterm/daemon/config"
	"jukiterm/store"
)

// FirstOperator is an operator that init enrols.
type FirstOperator struct {
	Name, Display string
	Roles         []store.Role
	Reason        string
	// Again enrols the finger of an operator the file holds already (after the file
	// was restored on a terminal with another reader); the slot is the next free one.
	Again bool
}

// EnrolFirst pairs the terminal's fingerprint reader (unless it is paired already) and
// enrols ops in slots 1, 2, …, recording them in the identity file with their roles.
// With simulated hardware each operator's finger is the simulated finger of their
// name; otherwise prompt tells the person at the reader what to do.
func EnrolFirst(cfg config.Config, ops []FirstOperator, prompt func(string)) error {
	k, err := Open(cfg)
	if err != nil {
		return err
	}
	defer k.Close()
	_, dek, next, err := LoadKey(cfg, k)
	if err != nil {
		return err
	}
	keys, err := store.NewKeys(dek.Derive)
	dek.Destroy()
	if next != nil {
		next.Destroy()
		return fmt.Errorf("a key rotation is under way: enrol operators through jukitermd (jukiterm operator add)")
	}
	if err != nil {
		return err
	}
	st, err := store.Open(cfg.Database, store.Options{Keys: keys, TerminalID: cfg.TerminalID})
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := OpenReader(cfg, k.Token)
	if err != nil {
		return err
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if !r.Paired() {
		prompt("Pairing the fingerprint reader with this terminal (keep it plugged in directly)…")
		if err := r.Pair(ctx, cfg, k.Token); err != nil {
			return fmt.Errorf("pair the fingerprint reader: %w", err)
		}
	}
	if _, err := st.BindReader(ctx, r.ID(), "jukiterm init", time.Now()); err != nil {
		return err
	}
	for i, op := range ops {
		slot := uint32(i + 1)
		if op.Again {
			o, err := st.GetOperator(ctx, op.Name)
			if err != nil {
				return err
			}
			if !slices.Contains(o.ActiveRoles(time.Now()), store.RoleAdministrator) {
				return fmt.Errorf("%s does not hold the administrator right: enrol an administrator here, who then enrols the others through jukitermd", op.Name)
			}
			if slot, err = st.FreeSlot(ctx); err != nil {
				return err
			}
		}
		if cfg.Hardware == "sim" {
			if err := r.PresentForEnrol(op.Name); err != nil {
				return err
			}
		} else {
			prompt(fmt.Sprintf("Enrolling %s: place the finger on the reader, lift it and place it again when asked.", op.Name))
		}
		r.Delete(ctx, slot) // a template no operator of this file owns (the file names the slot free)
		err := r.Enroll(ctx, slot, prompt)
		if cfg.Hardware == "sim" {
			r.Lift()
		}
		if err != nil {
			return fmt.Errorf("enrol %s's finger: %w", op.Name, err)
		}
		if op.Again {
			err = st.SetFinger(ctx, op.Name, slot, "jukiterm operator reenrol", op.Reason, time.Now())
		} else {
			err = st.AddOperator(ctx, op.Name, op.Display, slot, op.Roles, "jukiterm init", op.Reason, time.Now())
		}
		if err != nil {
			r.Delete(ctx, slot)
			return fmt.Errorf("record operator %s: %w", op.Name, err)
		}
	}
	return nil
}
