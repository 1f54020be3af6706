module jukiterm

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/mattn/go-sqlite3 v1.14.53
	golang.org/x/sys v0.50.0
	golang.org/x/text v0.44.0
)

require github.com/coreos/go-systemd/v22 v22.7.0 // indirect
