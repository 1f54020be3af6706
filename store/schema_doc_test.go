package store

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestDocsNameTheSchemaVersion keeps the schema version the documents quote (third
// parties read backups with sqlite3 by them) equal to the code's.
func TestDocsNameTheSchemaVersion(t *testing.T) {
	for file, want := range map[string]string{
		"../docs/backup.md":  fmt.Sprintf("`PRAGMA user_version`; %d at this writing", SchemaVersion),
		"../docs/oplog.md":   fmt.Sprintf("(of %d at this writing)", SchemaVersion),
		"../docs/formats.md": fmt.Sprintf(`"schema_version":%d}`, SchemaVersion),
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not say %q: update it with the schema", file, want)
		}
	}
}
