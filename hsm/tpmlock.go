package hsm

import (
	"sync"

	"github.com/google/go-tpm/tpm2/transport"
)

// lockedTPM sends one command at a time to the TPM it wraps.
type lockedTPM struct {
	mu  sync.Mutex
	tpm transport.TPM
}

// Serialized returns tpm so that one goroutine's command and its response pass before
// another's is sent. go-tpm's transports are not safe for concurrent use (the swtpm
// socket keeps its connection in a field; /dev/tpmrm0 is one write then one read), and
// jukitermd uses the TPM from several goroutines: the service status reads PCR 7 while
// a storage key rotation seals. Every TPM the commands open (cmd/internal/hw) goes
// through it. A sequence of commands (a seal's primary key and policy session) may
// still interleave with another goroutine's commands, which is harmless for the read
// of a PCR.
func Serialized(tpm transport.TPM) transport.TPM {
	if l, ok := tpm.(*lockedTPM); ok {
		return l
	}
	return &lockedTPM{tpm: tpm}
}

func (l *lockedTPM) Send(input []byte) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tpm.Send(input)
}
