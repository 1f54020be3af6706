package load

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"time"

	"filippo.io/age"

	"jukiterm/daemon/provision"
	"jukiterm/hwsim/mediasim"
	"jukiterm/hwsim/synth"
	"jukiterm/hwsim/usbsim"
	"jukiterm/store"
	"jukiterm/store/record"
)

// ProvisionFigures time a bulk provision's whole pipeline, stage by stage.
type ProvisionFigures struct {
	Persons   int     `json:"persons"`
	Queries   int     `json:"queries"`
	Matched   int     `json:"matched"`
	NotFound  int     `json:"not_found"`
	Bytes     int64   `json:"bytes"` // written to the medium
	Parse     float64 `json:"parse_s"`
	Search    float64 `json:"search_s"`
	Log       float64 `json:"log_s"` // provision.writing and the keyed provision.keys entries, durable
	Write     float64 `json:"write_s"`
	Verify    float64 `json:"verify_s"`
	Total     float64 `json:"total_s"`
	SQLite    float64 `json:"sqlite_lookups_s"` // bare SQLite reading the same codes' rows
	Ratio     float64 `json:"search_ratio"`     // bare lookups / jukiterm's search stage
	MediumDir string  `json:"-"`
}

// BenchProvision loads n synthetic residents into a fresh store in dir (and the same
// rows into a bare SQLite database), then runs a request of q 住民票コード queries
// (one in ten for nobody) through the provision pipeline onto a simulated stick:
// parse and check the CSV, run the queries on one snapshot, log what goes out (every
// key and result keyed, durable), encrypt and write the result with its signed
// manifest (temp + fsync + rename), and read it all back. The
// simulated stick's volume is a directory on this machine's disk, so writes cost
// what the disk's fsyncs cost.
func BenchProvision(ctx context.Context, dir string, n, q int, seed uint64) (ProvisionFigures, error) {
	f := ProvisionFigures{Persons: n, Queries: q}
	keys := store.EphemeralKeys()
	st, err := freshStore(dir, keys)
	if err != nil {
		return f, err
	}
	defer st.Close()
	if _, err := Residents(ctx, st, seed, n); err != nil {
		return f, err
	}
	if _, err := store.BareInsert(filepath.Join(dir, "bare.db"), bareRows(keys, seed, n, st.Prefecture()), BenchBatch); err != nil {
		return f, fmt.Errorf("baseline: %w", err)
	}
	var codes []string
	synth.EachResident(seed, n, st.Prefecture(), func(_ int, nt record.Notification) { codes = append(codes, nt.ResidentCode) })
	r := rand.New(rand.NewPCG(seed, 2))
	var req bytes.Buffer
	req.WriteString("query_id,resident_code\n")
	asked := make([]string, q)
	for i := range asked {
		asked[i] = codes[r.IntN(len(codes))]
		if i%10 == 9 {
			asked[i] = fmt.Sprintf("%011d", 10000000000+r.Int64N(89999999999)) // most likely nobody's
		}
		fmt.Fprintf(&req, "q%06d,%s\n", i, asked[i])
	}
	sim, err := mediasim.Start(filepath.Join(dir, "sim"), usbsim.NewBus(1))
	if err != nil {
		return f, err
	}
	defer sim.Close()
	stick, err := sim.Plug(mediasim.Approved("BENCH-1"))
	if err != nil {
		return f, err
	}
	vol, err := stick.Volume()
	if err != nil {
		return f, err
	}
	defer vol.Close()
	f.MediumDir = stick.VolumeDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	id, _ := age.GenerateX25519Identity()
	syscall.Sync()

	start := time.Now()
	qs, err := provision.ParseRequest(bytes.NewReader(req.Bytes()), q)
	if err != nil {
		return f, err
	}
	sqs, err := provision.StoreQueries(qs, st.Prefecture())
	if err != nil {
		return f, err
	}
	parsed := time.Now()
	p := provision.Provision{ID: provision.NewID(start), Application: "BENCH", Operator: "bench", TerminalID: "terminal-01", Time: start,
		Queries: len(qs), Recipient: provision.Recipient{ID: "bench", Name: "bench", Basis: "bench", AgeRecipient: id.Recipient().String(),
			Items: []string{"resident_code", "name", "name_kana", "birth", "sex", "address"}}}
	sum := sha256.Sum256(req.Bytes())
	p.RequestSHA256 = hex.EncodeToString(sum[:])
	p.Results, p.NotFound, p.UpdateSeq, err = provision.Search(ctx, st, qs, sqs, nil)
	if err != nil {
		return f, err
	}
	searched := time.Now()
	rec := store.ProvisionRecord{ID: p.ID, At: start, Application: p.Application, Recipient: "bench", Kind: "provision",
		Operator: "bench", Medium: "BENCH-1", Queries: len(qs), Matched: len(p.Results), NotFound: len(p.NotFound),
		UpdateSeq: p.UpdateSeq, RequestSHA256: p.RequestSHA256}
	if _, err := st.LogBatch(ctx, provision.LogEntries(rec, sqs, p.Results)); err != nil {
		return f, err
	}
	logged := time.Now()
	m, err := provision.Write(ctx, vol, p, key, nil)
	if err != nil {
		return f, err
	}
	written := time.Now()
	if _, err := provision.VerifyVolume(vol, p.ID, &key.PublicKey); err != nil {
		return f, err
	}
	done := time.Now()
	f.Matched, f.NotFound = m.Counts.MatchedRows, m.Counts.NotFound
	for _, fi := range m.Files {
		f.Bytes += fi.Size
	}
	f.Parse, f.Search, f.Log = parsed.Sub(start).Seconds(), searched.Sub(parsed).Seconds(), logged.Sub(searched).Seconds()
	f.Write, f.Verify = written.Sub(logged).Seconds(), done.Sub(written).Seconds()
	f.Total = done.Sub(start).Seconds()
	bare, found, err := store.BareLookups(filepath.Join(dir, "bare.db"), keys, asked)
	if err != nil {
		return f, fmt.Errorf("baseline: %w", err)
	}
	if found != f.Matched {
		return f, fmt.Errorf("baseline found %d rows, the provision %d", found, f.Matched)
	}
	f.SQLite = bare.Seconds()
	f.Ratio = f.SQLite / f.Search
	return f, nil
}
