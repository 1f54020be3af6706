package config

import (
	"net"
	"path/filepath"
	"strconv"
)

func (c *Config) linkDefaults(dir string) {
	if c.LinkCert == "" {
		c.LinkCert = filepath.Join(c.StateDir, "link.crt")
	}
	c.LinkCert = abs(dir, c.LinkCert)
}

// checkLinks returns the link key that is wrong and why, or "".
func (c *Config) checkLinks() (key, msg string) {
	if c.CSListen == "" {
		return "", ""
	}
	host, port, err := net.SplitHostPort(c.CSListen)
	if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 0 || p > 65535 {
		return "cs_listen", "must be HOST:PORT (e.g. 10.1.2.3:7441, or :7441 for every address), not \"" + c.CSListen + "\""
	}
	if host != "" && net.ParseIP(host) == nil {
		return "cs_listen", "the host must be an IP address of this terminal's line to the CS network, not a name"
	}
	return "", ""
}

func (c Config) linksNeedRestart(next Config) []string {
	var keys []string
	if c.CSListen != next.CSListen {
		keys = append(keys, "cs_listen")
	}
	if c.LinkCert != next.LinkCert {
		keys = append(keys, "link_cert")
	}
	return keys
}
