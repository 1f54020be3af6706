package linkpb

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestGeneratedCodeCurrent: link.pb.go is what `make proto` makes from link.proto (an
// edit of the .proto must come with its generated code). Skipped where protoc or
// protoc-gen-go is not installed: make test does not need them.
func TestGeneratedCodeCurrent(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("protoc is not installed (make proto installs it)")
	}
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	plugin := filepath.Join(string(bytes.TrimSpace(gopath)), "bin", "protoc-gen-go")
	if _, err := os.Stat(plugin); err != nil {
		t.Skip("protoc-gen-go is not installed (make proto installs it)")
	}
	out := t.TempDir()
	cmd := exec.Command(protoc, "--plugin=protoc-gen-go="+plugin, "--proto_path=../../..", "--go_out="+out,
		"--go_opt=paths=source_relative", "daemon/link/linkpb/link.proto")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, b)
	}
	fresh, err := os.ReadFile(filepath.Join(out, "daemon/link/linkpb/link.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("link.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	versions := regexp.MustCompile(`(?m)^// \tprotoc(-gen-go)? .*$`)
	if !bytes.Equal(versions.ReplaceAll(fresh, nil), versions.ReplaceAll(committed, nil)) {
		t.Fatal("link.pb.go is not what link.proto generates: run `make proto` and commit both")
	}
}
