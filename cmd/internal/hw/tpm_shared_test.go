//go:build !nohwsim

package hw

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"jukiterm/daemon/config"
	"jukiterm/hsm"
)

// TestTPMSharedByGoroutines: the service status reads PCR 7 while another goroutine
// seals and unseals on the same TPM (a rotation in jukitermd); every command gets its
// own answer. Run with -race: the transport is not safe for concurrent use unless
// Open serialises it.
func TestTPMSharedByGoroutines(t *testing.T) {
	cfg := config.Default(t.TempDir())
	k, err := open(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	stop := make(chan struct{})
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if state, pcr := k.TPMState(cfg); !strings.HasPrefix(state, "present") || len(pcr) != 64 {
					errs <- "PCR 7: " + state
					return
				}
			}
		}()
	}
	secret := []byte("a storage key stands here")
	sealed := make(chan struct{})
	go func() {
		defer close(sealed)
		for i := 0; i < 20; i++ {
			s, err := hsm.Seal(k.TPM, secret, cfg.PCRs)
			if err != nil {
				errs <- fmt.Sprintf("seal %d: %v", i, err)
				return
			}
			got, err := hsm.Unseal(k.TPM, s)
			if err != nil || !bytes.Equal(got, secret) {
				errs <- fmt.Sprintf("unseal %d: %q %v", i, got, err)
				return
			}
		}
	}()
	select {
	case <-sealed:
	case <-time.After(time.Minute):
		// Mixed commands leave a goroutine waiting for an answer that went to another.
		t.Fatal("the TPM stopped answering while goroutines shared it")
	}
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
