// Package linktest runs the links end to end in one process — a real identity file,
// real TLS over loopback sockets, the CS and national server simulators — for the
// tests of the CS listener and the national sender.
package linktest
