package targets_test

import (
	"bufio"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// snippetMarker precedes a README block that must compile as shown: the
// path is the file the block is, so blocks of one directory are one
// package (magefiles/app.go and magefiles/deploy.go).
var snippetMarker = regexp.MustCompile(`^<!-- go: (\S+\.go) -->$`)

// snippets returns the marked ```go blocks of a Markdown text by path.
func snippets(markdown string) (map[string]string, error) {
	files := map[string]string{}
	lines := bufio.NewScanner(strings.NewReader(markdown))
	n := 0
	for lines.Scan() {
		n++
		m := snippetMarker.FindStringSubmatch(lines.Text())
		if m == nil {
			continue
		}
		path := m[1]
		if !lines.Scan() || lines.Text() != "```go" {
			return nil, fmt.Errorf("line %d: the marker for %s must be followed by a ```go line", n, path)
		}
		n++
		var b strings.Builder
		for {
			if !lines.Scan() {
				return nil, fmt.Errorf("the block for %s is not closed", path)
			}
			n++
			if lines.Text() == "```" {
				break
			}
			b.WriteString(lines.Text() + "\n")
		}
		if _, dup := files[path]; dup {
			return nil, fmt.Errorf("line %d: a second block for %s", n, path)
		}
		files[path] = b.String()
	}
	return files, lines.Err()
}

// checkSnippets writes the marked blocks of markdown into a directory
// inside this module, so they import the module's own packages as a
// user's would import a release, and vets each of their packages with
// the mage build tag. Blocks must be gofmt'd, as a reader copies them.
func checkSnippets(t *testing.T, markdown string) error {
	t.Helper()
	files, err := snippets(markdown)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no block is marked <!-- go: path -->")
	}
	// "_" keeps the directory out of ./... while it exists.
	dir, err := os.MkdirTemp(".", "_snippets")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	pkgs := map[string]bool{}
	for path, src := range files {
		if formatted, err := format.Source([]byte(src)); err != nil || string(formatted) != src {
			return fmt.Errorf("%s is not gofmt'd as shown (err %v)", path, err)
		}
		file := filepath.Join(dir, filepath.FromSlash(path))
		require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
		require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
		pkgs["./"+filepath.ToSlash(filepath.Dir(file))] = true
	}
	for pkg := range pkgs {
		out, err := exec.Command("go", "vet", "-tags", "mage", pkg).CombinedOutput()
		if err != nil {
			return fmt.Errorf("go vet %s: %w\n%s", pkg, err, out)
		}
	}
	return nil
}

// The README's magefile blocks compile as shown, together, with the
// targets' current API (issue 15: they did not).
func TestREADMEMagefileCompiles(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	files, err := snippets(string(readme))
	require.NoError(t, err)
	assert.Contains(t, files, "magefiles/app.go")
	assert.Contains(t, files, "magefiles/deploy.go")
	require.NoError(t, checkSnippets(t, string(readme)))
}

// The check fails when a block is broken, so a passing README test
// means something.
func TestSnippetCheckFailsOnABrokenBlock(t *testing.T) {
	const deployGo = "<!-- go: magefiles/deploy.go -->\n```go\n//go:build mage\n\npackage main\n\n" +
		"import (\n\t//mage:import\n\t\"github.com/slipwayhq/slipway/targets\"\n)\n\n" +
		"func init() { targets.Use(targets.Config{App: App}) }\n```\n"
	const appGo = "<!-- go: magefiles/app.go -->\n```go\npackage main\n\n" +
		"import \"github.com/slipwayhq/slipway/deploy\"\n\nvar App = deploy.App{Service: \"hello\"}\n```\n"
	require.NoError(t, checkSnippets(t, appGo+deployGo), "the fixture compiles whole")

	err := checkSnippets(t, deployGo)
	require.Error(t, err, "App is not declared without app.go")
	assert.Contains(t, err.Error(), "undefined: App")

	err = checkSnippets(t, strings.Replace(appGo+deployGo, "{App: App}", "{App: App, Drills: 1}", 1))
	require.Error(t, err, "a field of the wrong type")
	assert.Contains(t, err.Error(), "Drills")

	err = checkSnippets(t, strings.Replace(appGo, "Service: \"hello\"", "Service:  \"hello\"", 1))
	assert.ErrorContains(t, err, "not gofmt'd")

	_, err = snippets("<!-- go: a.go -->\n```sh\nls\n```\n")
	assert.ErrorContains(t, err, "must be followed by a ```go line")
}
