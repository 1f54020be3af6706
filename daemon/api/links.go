package api

import (
	"jukiterm/daemon/link/peerstate"
	"jukiterm/store"
)

// LinkStatus is the answer of GET /v1/links (`jukiterm link status`): the pinned peers,
// each link's state, the outbox to the national server, and how far each CS's link
// has been received durably.
type LinkStatus struct {
	Peers  []store.Peer      `json:"peers"`
	Links  []peerstate.View  `json:"links"`
	Outbox store.OutboxState `json:"outbox"`
	CS     map[string]uint64 `json:"cs_last_seq"`
}
