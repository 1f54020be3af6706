package api

// ServiceRequest starts a service (保守) session or confirms the supervisor's
// presence: Supervisor names the supervisor at start; SimFinger presents their finger
// on simulated hardware.
type ServiceRequest struct {
	Supervisor string `json:"supervisor,omitempty"`
	SimFinger  string `json:"sim_finger,omitempty"`
	// BySupervisor (service end): the supervisor ends the session at the vendor's
	// terminal, with their finger on the reader.
	BySupervisor bool `json:"by_supervisor,omitempty"`
}

// ServiceSession describes the running service session.
type ServiceSession struct {
	ID         string `json:"id"`
	Vendor     string `json:"vendor"`
	Supervisor string `json:"supervisor"`
	Started    string `json:"started"`   // RFC 3339
	Confirmed  string `json:"confirmed"` // the last confirmation
	NextDue    string `json:"next_due"`  // the next confirmation is due (then it pauses)
	EndsAt     string `json:"ends_at"`   // if not confirmed, the session ends then
	Paused     bool   `json:"paused"`
	Ended      bool   `json:"ended,omitempty"` // answer of service end
}

// ServiceEvent is one line of service start and confirm's streamed answers.
type ServiceEvent struct {
	Prompt  string          `json:"prompt,omitempty"`
	Session *ServiceSession `json:"session,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// ServiceStatus is what `jukiterm service status` reports: the terminal's health,
// with no personal value and no secret.
type ServiceStatus struct {
	Session        ServiceSession `json:"session"`
	Version        string         `json:"version"`
	ConfigSHA256   string         `json:"config_sha256"`
	StartedAt      string         `json:"started_at"`
	UptimeSeconds  int64          `json:"uptime_seconds"`
	DiskFreeBytes  uint64         `json:"disk_free_bytes"`
	DiskSizeBytes  uint64         `json:"disk_size_bytes"`
	DatabaseBytes  int64          `json:"database_bytes"`
	WALBytes       int64          `json:"wal_bytes"`
	QuickCheck     string         `json:"quick_check"`
	TPM            string         `json:"tpm"`            // present, or why not
	PCR7           string         `json:"pcr7,omitempty"` // hex
	HSMToken       string         `json:"hsm_token"`
	HSMKeys        []string       `json:"hsm_keys"` // labels and handles, no secret
	Reader         string         `json:"reader"`   // self-test result
	USB            []Connected    `json:"usb"`      // with the media policy's verdict
	LastBackup     string         `json:"last_backup,omitempty"`
	LastCheckpoint string         `json:"last_checkpoint,omitempty"`
	CheckpointSize int64          `json:"checkpoint_size,omitempty"`
}

// LogLine is one line of jukitermd's own log (`jukiterm service logs`).
type LogLine struct {
	At    string `json:"at"`
	Level string `json:"level"`
	Text  string `json:"text"`
}

// ServiceTranscript is one service session as the operation log records it.
type ServiceTranscript struct {
	Session    string        `json:"session"`
	Vendor     string        `json:"vendor"`
	Supervisor string        `json:"supervisor"`
	Started    string        `json:"started"`
	Ended      string        `json:"ended,omitempty"`
	EndReason  string        `json:"end_reason,omitempty"`
	Steps      []ServiceStep `json:"steps"`
}

// ServiceStep is one entry of a transcript.
type ServiceStep struct {
	Index    int64    `json:"index"`
	At       string   `json:"at"`
	Step     string   `json:"step"` // the entry's action: service.start, service.command, …
	Operator string   `json:"operator"`
	Detail   []string `json:"detail,omitempty"`
}
