// Package link is the transport of jukiterm's links to the municipalities' CS and to the
// national server: TLS 1.3 with mutual authentication, each peer pinned by the SHA-256 of
// its certificate's public key (tls.go, pins.go), and varint-delimited protobuf frames
// (conn.go) of the messages in linkpb/link.proto, opened by a Hello exchange
// (handshake.go). What the messages mean to the store, the outbox and the national
// sender is above this package. docs/links.md describes the protocol.
package link
