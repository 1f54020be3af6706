package hsm

import (
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// ErrPCRChanged says the TPM refused to unseal because the machine's measured state
// (the sealed PCRs) differs from when the key was sealed.
var ErrPCRChanged = errors.New("the TPM refuses to unseal: the machine's boot state (PCR values) has changed since the key was sealed")

// ErrOtherTPM says the sealed key was made by another TPM (or this TPM was cleared).
var ErrOtherTPM = errors.New("the storage key was sealed by another TPM, or this TPM was cleared")

// Sealed is a secret sealed by the TPM to a PCR policy: the sealed object's public and
// private parts (the private part is encrypted by the TPM's storage key) and the PCRs
// it is bound to. It is safe to store on disk: only this TPM, in that state, opens it.
type Sealed struct {
	Public  []byte `json:"public"`
	Private []byte `json:"private"`
	PCRs    []uint `json:"pcrs"`
}

func selection(pcrs []uint) tpm2.TPMLPCRSelection {
	return tpm2.TPMLPCRSelection{PCRSelections: []tpm2.TPMSPCRSelection{{
		Hash: tpm2.TPMAlgSHA256, PCRSelect: tpm2.PCClientCompatible.PCRs(pcrs...),
	}}}
}

// srk creates the storage root key (the TCG ECC template: the same key every time on
// the same TPM) and returns it with a function that flushes it.
func srk(tpm transport.TPM) (*tpm2.CreatePrimaryResponse, func(), error) {
	rsp, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.ECCSRKTemplate)}.Execute(tpm)
	if err != nil {
		return nil, nil, fmt.Errorf("tpm2.CreatePrimary: %w", err)
	}
	return rsp, func() { tpm2.FlushContext{FlushHandle: rsp.ObjectHandle}.Execute(tpm) }, nil
}

// policyDigest computes, in a trial session, the policy "these PCRs hold their
// current values".
func policyDigest(tpm transport.TPM, pcrs []uint) ([]byte, error) {
	sess, done, err := tpm2.PolicySession(tpm, tpm2.TPMAlgSHA256, 16, tpm2.Trial())
	if err != nil {
		return nil, fmt.Errorf("tpm2.PolicySession: %w", err)
	}
	defer done()
	if _, err := (tpm2.PolicyPCR{PolicySession: sess.Handle(), Pcrs: selection(pcrs)}).Execute(tpm); err != nil {
		return nil, fmt.Errorf("tpm2.PolicyPCR: %w", err)
	}
	d, err := tpm2.PolicyGetDigest{PolicySession: sess.Handle()}.Execute(tpm)
	if err != nil {
		return nil, fmt.Errorf("tpm2.PolicyGetDigest: %w", err)
	}
	return d.PolicyDigest.Buffer, nil
}

// Seal seals secret (at most 128 bytes) to the current values of pcrs.
func Seal(tpm transport.TPM, secret []byte, pcrs []uint) (*Sealed, error) {
	if len(pcrs) == 0 {
		return nil, errors.New("seal: no PCR selected")
	}
	root, flush, err := srk(tpm)
	if err != nil {
		return nil, err
	}
	defer flush()
	digest, err := policyDigest(tpm, pcrs)
	if err != nil {
		return nil, err
	}
	rsp, err := tpm2.Create{
		ParentHandle: tpm2.AuthHandle{Handle: root.ObjectHandle, Name: root.Name, Auth: tpm2.PasswordAuth(nil)},
		InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
			Data: tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: secret}),
		}},
		InPublic: tpm2.New2B(tpm2.TPMTPublic{
			Type:             tpm2.TPMAlgKeyedHash,
			NameAlg:          tpm2.TPMAlgSHA256,
			ObjectAttributes: tpm2.TPMAObject{FixedTPM: true, FixedParent: true, NoDA: true},
			AuthPolicy:       tpm2.TPM2BDigest{Buffer: digest},
		}),
	}.Execute(tpm)
	if err != nil {
		return nil, fmt.Errorf("tpm2.Create: %w", err)
	}
	return &Sealed{Public: tpm2.Marshal(rsp.OutPublic), Private: tpm2.Marshal(rsp.OutPrivate),
		PCRs: append([]uint(nil), pcrs...)}, nil
}

// Unseal opens a sealed secret; ErrPCRChanged when the PCRs moved since sealing.
func Unseal(tpm transport.TPM, s *Sealed) ([]byte, error) {
	pub, err := tpm2.Unmarshal[tpm2.TPM2BPublic](s.Public)
	if err != nil {
		return nil, fmt.Errorf("sealed key: public part: %w", err)
	}
	priv, err := tpm2.Unmarshal[tpm2.TPM2BPrivate](s.Private)
	if err != nil {
		return nil, fmt.Errorf("sealed key: private part: %w", err)
	}
	root, flush, err := srk(tpm)
	if err != nil {
		return nil, err
	}
	defer flush()
	obj, err := tpm2.Load{
		ParentHandle: tpm2.AuthHandle{Handle: root.ObjectHandle, Name: root.Name, Auth: tpm2.PasswordAuth(nil)},
		InPrivate:    *priv, InPublic: *pub,
	}.Execute(tpm)
	if err != nil {
		return nil, fmt.Errorf("%w (tpm2.Load: %v)", ErrOtherTPM, err)
	}
	defer tpm2.FlushContext{FlushHandle: obj.ObjectHandle}.Execute(tpm)
	rsp, err := tpm2.Unseal{ItemHandle: tpm2.AuthHandle{Handle: obj.ObjectHandle, Name: obj.Name,
		Auth: tpm2.Policy(tpm2.TPMAlgSHA256, 16, func(tpm transport.TPM, h tpm2.TPMISHPolicy, _ tpm2.TPM2BNonce) error {
			_, err := tpm2.PolicyPCR{PolicySession: h, Pcrs: selection(s.PCRs)}.Execute(tpm)
			return err
		})}}.Execute(tpm)
	if err != nil {
		if errors.Is(err, tpm2.TPMRCPolicyFail) {
			return nil, fmt.Errorf("%w (%v)", ErrPCRChanged, err)
		}
		return nil, fmt.Errorf("tpm2.Unseal: %w", err)
	}
	return rsp.OutData.Buffer, nil
}
